// The operator's structured JSON logger (pino).
//
// One root logger for the process, handed to the runtime (it satisfies src/kube/logger.ts);
// controllers log each reconcile through a child carrying `controller`, `namespace`, `name` and
// `reconcileID`, so every line of a reconcile can be found with one query. The level comes from
// FRAPPE_LOG_LEVEL (API.md §4.1).
//
// Secrets must never reach the log (API.md §5.2). Callers do not log Secret objects or values;
// as a second line of defence every line passes through src/runtime/redact.ts: the value of any
// field whose name contains password, secret, token, key or credential (case-insensitive, at
// any depth, in the line's own fields and in a child logger's bindings, a Secret's
// data/stringData and authorization headers too) is replaced, and strings — error messages
// and stacks included — have bearer tokens, JWTs, `password=…` pairs, URL passwords and base64
// blobs replaced. pino's own `redact` takes fixed paths, so this is a formatter instead.
import { pino, type Logger, type LoggerOptions } from 'pino';
import { redactDeep, redactText } from './runtime/redact.ts';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const isLogLevel = (v: string | undefined): v is LogLevel =>
  (LOG_LEVELS as readonly (string | undefined)[]).includes(v);

/** A log line's fields (or a child's bindings), redacted. */
const redactFields = (fields: Record<string, unknown>): Record<string, unknown> =>
  redactDeep(fields) as Record<string, unknown>;

export interface LoggerConfig {
  /** Defaults to FRAPPE_LOG_LEVEL, else `info` (an invalid value is reported by the config). */
  level?: LogLevel;
  /** Where lines go; defaults to stdout. Tests pass a stream to read them back. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(cfg: LoggerConfig = {}): Logger {
  const envLevel = process.env.FRAPPE_LOG_LEVEL;
  const options: LoggerOptions = {
    level: cfg.level ?? (isLogLevel(envLevel) ? envLevel : 'info'),
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      // `"level":"info"` rather than pino's numeric 30: readable without pino-pretty.
      level: (label) => ({ level: label }),
      log: redactFields,
      bindings: redactFields,
    },
    // The formatter has already made errors plain, redacted objects.
    serializers: { err: (e: unknown) => e },
    hooks: {
      // The message (and an Error passed first, whose message pino makes the line's msg).
      logMethod(args, method) {
        const redacted = args.map((a: unknown) =>
          typeof a === 'string' ? redactText(a) : a instanceof Error ? redactDeep(a) : a,
        );
        const [first, ...rest] = redacted;
        // An Error first: pino would take its message as msg; keep it so, redacted.
        if (args[0] instanceof Error && typeof first === 'object' && first !== null) {
          const msg = (first as { message?: unknown }).message;
          const tail = rest.length > 0 ? rest : [String(msg)];
          method.apply(this, [{ err: first }, ...tail] as Parameters<typeof method>);
          return;
        }
        method.apply(this, redacted as Parameters<typeof method>);
      },
    },
  };
  const logger = cfg.destination === undefined ? pino(options) : pino(options, cfg.destination);
  // pino formats a child's bindings once, without the `bindings` formatter (that one sees only
  // the root's base): redact them on the way in. Children inherit this method from the root.
  const child = Object.getPrototypeOf(logger) as { child: Logger['child'] };
  const redactingChild = function (this: Logger, bindings: pino.Bindings, opts?: object) {
    return Reflect.apply(child.child, this, [redactFields(bindings), opts]) as Logger;
  };
  logger.child = redactingChild as unknown as Logger['child'];
  return logger;
}

/** The process's root logger. */
export const log: Logger = createLogger();
