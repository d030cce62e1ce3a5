// Event-driven waits on informers of src/kube (the operator's own cache machinery), for the
// playground's progress and the benchmark's timings: re-check after every watch event, and
// record when each awaited key was first done. Polling would add its interval to every
// measurement and could miss short-lived states; a watch sees every change.
import type { EventHandler } from '../kube/informer.ts';
import type { KubeObject } from '../kube/client.ts';

/** What a wait needs of an Informer (of any kind): to hear of every change. */
export interface ChangeSource {
  addEventHandler(handler: Required<EventHandler<KubeObject>>): () => void;
}

export interface WaitForAllOptions {
  /** What is awaited, for the timeout error. */
  what: string;
  /** The keys to wait for, in the caller's terms (e.g. "namespace/name" of a bench). */
  keys: readonly string[];
  /** Informers whose changes may change whether a key is done. */
  informers: readonly ChangeSource[];
  /** Whether `key` is done, from the informers' caches. */
  done(key: string): boolean;
  /** The state of a key not done yet, for the timeout error. */
  describe(key: string): string;
  /** Called on every change before the keys are checked (e.g. progress output). */
  onChange?: () => void;
  /** Checked on every change and every second: an error here ends the wait at once. */
  failure?: () => Error | undefined;
  timeoutMs: number;
}

/** A `describe` for waitForAll: the line of the key's object, or `not seen`. */
export const describeBy =
  <T>(get: (key: string) => T | undefined, line: (obj: T) => string) =>
  (key: string): string => {
    const obj = get(key);
    return obj === undefined ? 'not seen' : line(obj);
  };

/** Resolves with when (Date.now()) each key was first done, once all are; rejects on timeout. */
export function waitForAll(opts: WaitForAllOptions): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    const doneAt = new Map<string, number>();
    const removers: (() => void)[] = [];
    let finished = false;
    // Handlers are told about every cached object as they register: check once, afterwards.
    let armed = false;
    const finish = (err: Error | undefined): void => {
      if (finished) return;
      finished = true;
      clearTimeout(deadline);
      clearInterval(failureCheck);
      for (const remove of removers) remove();
      if (err === undefined) resolve(doneAt);
      else reject(err);
    };
    const check = (): void => {
      if (finished || !armed) return;
      opts.onChange?.();
      const now = Date.now();
      for (const key of opts.keys) {
        if (!doneAt.has(key) && opts.done(key)) doneAt.set(key, now);
      }
      if (doneAt.size === opts.keys.length) finish(undefined);
      else {
        const err = opts.failure?.();
        if (err !== undefined) finish(err);
      }
    };
    const deadline = setTimeout(() => {
      const pending = opts.keys.filter((k) => !doneAt.has(k));
      const states = pending.slice(0, 5).map((k) => `${k}: ${opts.describe(k)}`);
      finish(
        new Error(
          `${opts.what}: ${pending.length} of ${opts.keys.length} not done after ` +
            `${opts.timeoutMs / 1000} s\n  ${states.join('\n  ')}`,
        ),
      );
    }, opts.timeoutMs);
    const failure = opts.failure;
    const failureCheck =
      failure === undefined
        ? undefined
        : setInterval(() => {
            const err = failure();
            if (err !== undefined) finish(err);
          }, 1000);
    for (const informer of opts.informers) {
      removers.push(informer.addEventHandler({ add: check, update: check, delete: check }));
    }
    armed = true;
    check();
  });
}
