// Kubernetes quantities ("500m", "2Gi", "1.5G", "1e3", 2) as numbers, for comparisons and
// arithmetic (min/max of requests and limits, Redis maxmemory). Written here because the parser
// of @kubernetes/client-node rejects decimals with binary suffixes ("1.5Gi"), which the API
// server accepts. Float precision is ample for comparing and for deriving byte counts.

const SUFFIXES: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const QUANTITY =
  /^([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))(?:([eE][+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?$/;

/** The value of a quantity in base units (cores, bytes); throws on a malformed quantity. */
export function parseQuantity(quantity: string | number): number {
  if (typeof quantity === 'number') return quantity;
  const m = QUANTITY.exec(quantity.trim());
  const multiplier = m === null ? undefined : SUFFIXES[m[3] ?? ''];
  if (m?.[1] === undefined || multiplier === undefined) {
    throw new Error(`invalid quantity ${JSON.stringify(quantity)}`);
  }
  return Number(m[1] + (m[2] ?? '')) * multiplier;
}
