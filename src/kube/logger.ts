// The logger interface the runtime logs through: the object-first subset of pino's API, so the
// manager's pino logger plugs in as is (`logger.info({ controller, namespace, name }, 'msg')`).
// Errors go under the `err` key, which pino serialises with message and stack.
//
// Without a logger, the runtime uses `stderrLogger`: warnings and errors as JSON lines on
// stderr, nothing else — a library must not be chatty, and must not swallow failures either.

export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  /** A logger adding `bindings` to every line. */
  child(bindings: Record<string, unknown>): Logger;
}

export const noopLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => noopLogger,
};

function jsonLogger(bindings: Record<string, unknown>): Logger {
  const write =
    (level: string) =>
    (obj: object, msg?: string): void => {
      const line = { level, time: Date.now(), ...bindings, ...serialiseErr(obj), msg };
      process.stderr.write(`${JSON.stringify(line)}\n`);
    };
  return {
    debug: () => undefined,
    info: () => undefined,
    warn: write('warn'),
    error: write('error'),
    child: (more) => jsonLogger({ ...bindings, ...more }),
  };
}

export const stderrLogger: Logger = jsonLogger({});

/** Error objects do not JSON.stringify; give `err` pino's shape. */
function serialiseErr(obj: object): object {
  if (!('err' in obj) || !(obj.err instanceof Error)) return obj;
  const { name, message, stack } = obj.err;
  return { ...obj, err: { type: name, message, stack } };
}
