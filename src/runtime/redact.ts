// Keeping credentials out of what the operator writes for people to read: its log lines, and
// the messages of conditions and events (API.md §5.2: no secret value in status, events or logs).
//
// Two kinds of leak, two defences:
//   - structured fields: any key whose name contains password, secret, token, key or
//     credential (case-insensitive; also authorization headers and a Secret's data/stringData)
//     has its value replaced, at any depth (`redactDeep`, the logger's formatter);
//   - free text, such as an API server's error message quoting a request, or an exception
//     echoing a URL: bearer tokens, JWTs, `password=…`-style pairs, URL passwords and base64
//     blobs (Secret data) are replaced (`redactText`, used by `errorMessage` and the logger).
// Both are a second line of defence: code never logs a Secret or puts a value into a message.

export const REDACTED = '[REDACTED]';

const SECRET_KEY = /password|passwd|secret|token|key|credential|authorization|cookie/i;
/** A Secret's payload: its values are secrets whatever their keys are called. */
const SECRET_DATA_KEYS = new Set(['data', 'stringData', 'binaryData']);

/** Whether a field of this name holds a secret value. */
export const isSecretKey = (key: string): boolean =>
  SECRET_KEY.test(key) || SECRET_DATA_KEYS.has(key);

const TEXT_PATTERNS: readonly [RegExp, string][] = [
  // Authorization: Bearer <token> (and Basic <credentials>).
  [/\b(Bearer|Basic)\s+[A-Za-z0-9\-._~+/]+=*/gi, `$1 ${REDACTED}`],
  // A JWT (ServiceAccount tokens), wherever it appears.
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, REDACTED],
  // scheme://user:password@host
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/gi, `$1${REDACTED}@`],
  // password=…, "token": "…", secret: …, api_key=…, credentials=… (JSON, query, YAML, logfmt).
  [
    /((?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|credentials?)["']?\s*[:=]\s*["']?)[^\s"'&,;}]+/gi,
    `$1${REDACTED}`,
  ],
  // A base64 blob (a Secret's data quoted back): 20+ characters of the base64 alphabet mixing
  // upper and lower case and digits, or 16+ padded ones. Kubernetes names, paths and hex
  // digests are lower-case or split by '-', '.' and ':', so they do not match.
  [
    /(?<![A-Za-z0-9+/=])(?=[A-Za-z0-9+/]*[A-Z])(?=[A-Za-z0-9+/]*[a-z])(?=[A-Za-z0-9+/]*[0-9])[A-Za-z0-9+/]{20,}={0,2}(?![A-Za-z0-9+/=])/g,
    REDACTED,
  ],
  // Padded, with a digit, + or / in it: `someSettingName=value` is a setting, not base64.
  [
    /(?<![A-Za-z0-9+/=])(?=[A-Za-z0-9+/]*[0-9+/])[A-Za-z0-9+/]{16,}==?(?![A-Za-z0-9+/=])/g,
    REDACTED,
  ],
];

/** `text` with anything that looks like a credential replaced by [REDACTED]. */
export function redactText(text: string): string {
  let out = text;
  for (const [pattern, replacement] of TEXT_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

const MAX_DEPTH = 10;

/**
 * `value` with the values of secret-named fields replaced and every string passed through
 * `redactText`, at any depth (a copy; `value` is not changed). Errors become plain objects with
 * their type, message, stack and own fields, as pino's error serializer would write them.
 */
export function redactDeep(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return redactText(value);
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Object]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1, seen));
  const source: Record<string, unknown> =
    value instanceof Error
      ? {
          type: value.name,
          message: value.message,
          stack: value.stack,
          ...(value.cause === undefined ? {} : { cause: value.cause }),
          ...Object.fromEntries(Object.entries(value)),
        }
      : Object.fromEntries(Object.entries(value));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(source)) {
    out[k] =
      isSecretKey(k) && v !== undefined && v !== null ? REDACTED : redactDeep(v, depth + 1, seen);
  }
  return out;
}
