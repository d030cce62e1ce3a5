// Parsers for the typed values of the operator configuration (ConfigMap keys and FRAPPE_* env).
//
// Each parser takes the raw string (already trimmed) and returns either the typed value or a
// message saying what is wrong; the caller adds which key and which source the value came from.
// Kept free of I/O so that the whole configuration can be unit-tested as a pure function.

export type ParseResult<T> = { ok: true; value: T } | { ok: false; message: string };

export type ValueParser<T> = (raw: string) => ParseResult<T>;

const ok = <T>(value: T): ParseResult<T> => ({ ok: true, value });
const fail = <T>(message: string): ParseResult<T> => ({ ok: false, message });

/** A decimal integer in [min, max]; no sign, no exponent, no fraction. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER): ValueParser<number> {
  return (raw) => {
    if (!/^\d+$/.test(raw)) return fail(`must be an integer ≥ ${min}`);
    const n = Number(raw);
    if (n < min || n > max) return fail(`must be an integer between ${min} and ${max}`);
    return ok(n);
  };
}

/** `true` or `false`, exactly as Kubernetes manifests write them. */
export const boolean: ValueParser<boolean> = (raw) => {
  if (raw === 'true') return ok(true);
  if (raw === 'false') return ok(false);
  return fail('must be true or false');
};

export function oneOf<const T extends string>(values: readonly T[]): ValueParser<T> {
  return (raw) =>
    (values as readonly string[]).includes(raw)
      ? ok(raw as T)
      : fail(`must be one of ${values.join(', ')}`);
}

// The grammar of github.com/distribution/reference (the one container runtimes use):
//   [domain[:port]/]path-component(/path-component)*[:tag][@digest]
const pathComponent = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domain = `(?:${domainComponent}(?:\\.${domainComponent})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const tag = '[\\w][\\w.-]{0,127}';
const digest = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const imageName = `(?:${domain}/)?${pathComponent}(?:/${pathComponent})*`;
const imageReference = new RegExp(`^(${imageName})(?::${tag})?(?:@${digest})?$`);
/** distribution/reference's limit on the name part. */
const MAX_IMAGE_NAME_LENGTH = 255;

/** A container image reference, e.g. `registry.local:5000/frappe/erpnext:v15.1.0`. */
export const image: ValueParser<string> = (raw) => {
  const m = imageReference.exec(raw);
  if (m === null)
    return fail('is not a valid image reference ([registry/]repository[:tag][@digest])');
  if ((m[1] ?? '').length > MAX_IMAGE_NAME_LENGTH) {
    return fail(`image name is longer than ${MAX_IMAGE_NAME_LENGTH} characters`);
  }
  return ok(raw);
};

const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A Kubernetes object name (DNS-1123 subdomain), e.g. of a ClusterIssuer or IngressClass. */
export const objectName: ValueParser<string> = (raw) =>
  raw.length <= 253 && dnsSubdomain.test(raw)
    ? ok(raw)
    : fail('must be a Kubernetes object name (lower-case DNS-1123 subdomain)');

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * A comma-separated list of namespace names (DNS-1123 labels), e.g. `team-a, team-b`: blanks
 * around names are ignored, duplicates dropped, order kept. At least one name.
 */
export const namespaceList: ValueParser<readonly string[]> = (raw) => {
  const names = [
    ...new Set(
      raw
        .split(',')
        .map((n) => n.trim())
        .filter((n) => n !== ''),
    ),
  ];
  if (names.length === 0) return fail('must list namespace names, separated by commas');
  const bad = names.filter((n) => n.length > 63 || !dnsLabel.test(n));
  return bad.length === 0
    ? ok(names)
    : fail(
        `${bad.map((n) => JSON.stringify(n)).join(', ')} is not a namespace name (DNS-1123 label)`,
      );
};
