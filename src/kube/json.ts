// Structural comparisons of Kubernetes objects as JSON values, used to decide whether a write
// is needed at all (a reconcile with nothing to change must send nothing).
//
//   - `canonicalJson`: JSON with object keys sorted and undefined dropped, so two values that
//     serialise to the same document compare equal whatever their key order.
//   - `isSubset(desired, live)`: does the live object already contain every field we would
//     send? Objects compare key by key (the live side may have more: defaults, other managers'
//     fields), arrays element by element with equal length, scalars by value. Go's `omitempty`
//     makes the server drop zero values, so a desired false, 0, "", [], {} or null matches an
//     absent live field.

export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** Equal as JSON documents (key order and undefined-valued keys do not matter). */
export const jsonEqual = (a: unknown, b: unknown): boolean => canonicalJson(a) === canonicalJson(b);

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

function isZero(v: unknown): boolean {
  if (Array.isArray(v)) return v.length === 0;
  if (isRecord(v)) return Object.values(v).every((x) => x === undefined);
  return v === null || v === false || v === 0 || v === '' || v === undefined;
}

export function isSubset(desired: unknown, live: unknown): boolean {
  if (desired === undefined) return true;
  if (live === undefined) return isZero(desired);
  if (Array.isArray(desired)) {
    return (
      Array.isArray(live) &&
      live.length === desired.length &&
      desired.every((d, i) => isSubset(d, live[i]))
    );
  }
  if (isRecord(desired)) {
    return isRecord(live) && Object.entries(desired).every(([k, d]) => isSubset(d, live[k]));
  }
  return desired === live;
}
