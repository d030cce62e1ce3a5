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

const DECIMAL_SUFFIXES: Record<number, string> = {
  [-9]: 'n',
  [-6]: 'u',
  [-3]: 'm',
  0: '',
  3: 'k',
  6: 'M',
  9: 'G',
  12: 'T',
  15: 'P',
  18: 'E',
};
const BINARY_SUFFIXES = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
const BINARY_POWER: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL_POWER: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const KIB = 1024n;

/** `n × 10^e` in the canonical decimal form: exponent a multiple of 3 from -9 to 18. */
function decimalString(sign: string, n: bigint, e: number, exponentForm: boolean): string {
  if (n === 0n) return '0';
  while (n % 10n === 0n) {
    n /= 10n;
    e += 1;
  }
  let exp = Math.min(18, Math.floor(e / 3) * 3);
  if (exp < -9) {
    // Below a nano-unit: rounded up to whole nano-units, as the API server does.
    const scale = 10n ** BigInt(-9 - e);
    n = (n + scale - 1n) / scale;
    e = -9;
    exp = -9;
  }
  const mantissa = n * 10n ** BigInt(e - exp);
  const suffix = exponentForm ? (exp === 0 ? '' : `e${String(exp)}`) : DECIMAL_SUFFIXES[exp];
  return `${sign}${mantissa.toString()}${suffix ?? ''}`;
}

/**
 * The form the API server stores a quantity in (apimachinery's canonical form): `1024Mi` →
 * `1Gi`, `0.5Gi` → `512Mi`, `1000M` → `1G`, `0.5` → `500m`, `1.5Gi` → `1536Mi`. Children are
 * built with canonical quantities so that what the API server stores equals what was sent: a
 * comparison of the two never sees a change where there is none.
 */
export function canonicalQuantity(quantity: string | number): string {
  const text = String(quantity).trim();
  const m = QUANTITY.exec(text);
  if (m?.[1] === undefined) throw new Error(`invalid quantity ${JSON.stringify(quantity)}`);
  const raw = m[1];
  const sign = raw.startsWith('-') ? '-' : '';
  const [whole = '', fraction = ''] = raw.replace(/^[+-]/, '').split('.');
  let n = BigInt(`${whole}${fraction}` === '' ? '0' : `${whole}${fraction}`);
  const e = -fraction.length;
  const suffix = m[3] ?? '';
  if (m[2] !== undefined) return decimalString(sign, n, e + Number(m[2].slice(1)), true);
  const binary = BINARY_POWER[suffix];
  if (binary === undefined) return decimalString(sign, n, e + (DECIMAL_POWER[suffix] ?? 0), false);
  n *= KIB ** BigInt(binary);
  const denominator = e < 0 ? 10n ** BigInt(-e) : 1n;
  const bytes = e < 0 ? n / denominator : n * 10n ** BigInt(e);
  // Fractional or below 1Ki: the API server shows a binary quantity as a decimal one.
  if ((e < 0 && n % denominator !== 0n) || bytes < KIB) return decimalString(sign, n, e, false);
  let power = 0;
  let mantissa = bytes;
  while (power < 6 && mantissa % KIB === 0n) {
    mantissa /= KIB;
    power += 1;
  }
  return `${sign}${mantissa.toString()}${BINARY_SUFFIXES[power] ?? ''}`;
}
