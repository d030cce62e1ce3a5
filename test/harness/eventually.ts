// Polling assertion for integration tests: retry a check until it stops throwing, instead of a
// fixed sleep. On timeout the error names what was awaited and carries the last failure.
import { setTimeout as sleep } from 'node:timers/promises';

export interface EventuallyOptions {
  /** Total time to keep trying, in ms (default 30 000). */
  timeout?: number;
  /** Pause between attempts, in ms (default 200). */
  interval?: number;
  /** What was awaited, for the timeout error. */
  message?: string;
}

export async function eventually<T>(
  check: () => T | Promise<T>,
  opts: EventuallyOptions = {},
): Promise<T> {
  const timeout = opts.timeout ?? 30_000;
  const interval = opts.interval ?? 200;
  const deadline = Date.now() + timeout;
  let attempts = 0;
  for (;;) {
    attempts++;
    try {
      return await check();
    } catch (e) {
      if (Date.now() + interval > deadline) {
        const last = e instanceof Error ? e.message : String(e);
        const what = opts.message ?? 'condition not met';
        throw new Error(`${what} (timed out after ${timeout} ms, ${attempts} attempts): ${last}`, {
          cause: e,
        });
      }
    }
    await sleep(interval);
  }
}

/**
 * eventually() for a condition that is simply true or false, polled often: for unit tests of
 * in-process machinery, where things happen within milliseconds — but the timeout stays
 * generous, as a busy machine may delay them.
 */
export async function until(
  check: () => boolean,
  message: string,
  opts: Omit<EventuallyOptions, 'message'> = {},
): Promise<void> {
  await eventually(
    () => {
      if (!check()) throw new Error('not yet');
    },
    { interval: 5, ...opts, message },
  );
}
