// A Logger (src/kube/logger.ts) that remembers what it was told and when, for tests proving
// which path the code took (a relist, a retry) and how long it waited in between.
import type { Logger } from '../../src/kube/logger.ts';

export interface LogRecord {
  level: string;
  msg: string;
  obj: object;
  /** performance.now() when logged. */
  at: number;
}

export interface CapturingLogger extends Logger {
  lines: LogRecord[];
  has(msg: string): boolean;
}

export function capturingLogger(): CapturingLogger {
  const lines: LogRecord[] = [];
  const at =
    (level: string) =>
    (obj: object, msg = ''): void => {
      lines.push({ level, msg, obj, at: performance.now() });
    };
  const logger: CapturingLogger = {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
    has: (msg) => lines.some((l) => l.msg.includes(msg)),
  };
  return logger;
}
