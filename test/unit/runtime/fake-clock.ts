// A fake ElectionClock for the leader-election unit tests: time moves only when the test advances
// it, timers fire in due order, and after each one every promise chain it started runs to its
// end before the next. Timings asserted on it are exact, however busy the machine.
import { setImmediate as settle } from 'node:timers/promises';
import type { ElectionClock } from '../../../src/runtime/leaderelection.ts';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
}

/** An arbitrary wall-clock origin for the Lease's timestamps. */
const EPOCH = Date.UTC(2025, 0, 1);

export class FakeClock implements ElectionClock {
  #now = 0;
  #seq = 0;
  #timers: Timer[] = [];

  now(): number {
    return this.#now;
  }

  date(): Date {
    return new Date(EPOCH + this.#now);
  }

  setTimer(fn: () => void, ms: number): () => void {
    const timer = { at: this.#now + ms, seq: this.#seq++, fn };
    this.#timers.push(timer);
    return () => {
      this.#timers = this.#timers.filter((t) => t !== timer);
    };
  }

  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) {
        resolve();
        return;
      }
      const onAbort = (): void => {
        cancel();
        resolve();
      };
      const cancel = this.setTimer(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Moves time forward by `ms`, firing the timers due on the way. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    while (await this.#fireNext(end));
    this.#now = end;
  }

  /**
   * Fires timers in order until `check()` holds, and returns the time it first did; throws when
   * it still does not after `limitMs` of fake time.
   */
  async until(check: () => boolean, limitMs: number, what: string): Promise<number> {
    const end = this.#now + limitMs;
    await settle();
    while (!check()) {
      if (!(await this.#fireNext(end))) {
        throw new Error(`${what}: not true after ${limitMs} ms of fake time`);
      }
    }
    return this.#now;
  }

  /** Fires the earliest timer due by `end`, then lets what it started settle; false if none. */
  async #fireNext(end: number): Promise<boolean> {
    await settle();
    const next = this.#timers
      .filter((t) => t.at <= end)
      .reduce<Timer | undefined>(
        (a, t) => (a === undefined || t.at < a.at || (t.at === a.at && t.seq < a.seq) ? t : a),
        undefined,
      );
    if (next === undefined) return false;
    this.#timers = this.#timers.filter((t) => t !== next);
    this.#now = Math.max(this.#now, next.at);
    next.fn();
    await settle();
    return true;
  }
}
