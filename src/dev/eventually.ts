// Polling: retry a check until it stops throwing, instead of a fixed sleep — for the local
// playground's waits on the cluster and for the tests (test/harness/eventually.ts). On timeout
// the error names what was awaited and carries the last failure.
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
