// The operator's structured JSON logger (pino).
//
// One root logger for the process, handed to the runtime (it satisfies src/kube/logger.ts);
// controllers log each reconcile through a child carrying `controller`, `namespace`, `name` and
// `reconcileID`, so every line of a reconcile can be found with one query. The level comes from
// FRAPPE_LOG_LEVEL (API.md §4.1).
//
// Secrets must never reach the log (API.md §5.2). Callers do not log Secret objects or values;
// as a second line of defence the paths below are redacted wherever they appear at the top
// level or up to three levels down: a Secret's `data`/`stringData`, anything called password,
// token or secret, and HTTP authorization headers.
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const isLogLevel = (v: string | undefined): v is LogLevel =>
  (LOG_LEVELS as readonly (string | undefined)[]).includes(v);

const SECRET_KEYS = [
  'password',
  'token',
  'secret',
  'data',
  'stringData',
  'authorization',
  'Authorization',
];

/** `key`, `*.key`, `*.*.key`, `*.*.*.key` for every secret-bearing key. */
export const REDACT_PATHS: readonly string[] = SECRET_KEYS.flatMap((key) =>
  ['', '*.', '*.*.', '*.*.*.'].map((prefix) => `${prefix}${key}`),
);

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
    // `"level":"info"` rather than pino's numeric 30: readable without pino-pretty.
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: [...REDACT_PATHS], censor: '[REDACTED]' },
  };
  return cfg.destination === undefined ? pino(options) : pino(options, cfg.destination);
}

/** The process's root logger. */
export const log: Logger = createLogger();
