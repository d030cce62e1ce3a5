// Polling assertions for tests: eventually() (shared with the local playground, src/dev) and
// until() for in-process machinery.
import { eventually, type EventuallyOptions } from '../../src/dev/eventually.ts';

export { eventually };

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
