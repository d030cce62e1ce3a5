// Rate limiters deciding how long a failed key waits before its next reconcile — client-go's
// workqueue.DefaultTypedControllerRateLimiter, written out because no npm package has its
// semantics:
//
//   - per item, exponential: 5 ms, 10 ms, 20 ms, ... doubling per consecutive failure, capped at
//     1000 s, reset by `forget` (a success);
//   - overall, a token bucket (10 per second, burst 100), so a storm of failing keys cannot
//     hammer the API server however many there are;
//   - the delay used is the larger of the two.
//
// Delays are in milliseconds. The clock is injectable for tests.

export interface RateLimiter {
  /** Delay before this key may be retried; counts as one more failure of the key. */
  when(key: string): number;
  /** The key succeeded: clear its failure history. */
  forget(key: string): void;
  /** Consecutive failures recorded for the key. */
  numRequeues(key: string): number;
}

export class ItemExponentialFailureRateLimiter implements RateLimiter {
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #failures = new Map<string, number>();

  constructor(baseMs = 5, maxMs = 1_000_000) {
    this.#baseMs = baseMs;
    this.#maxMs = maxMs;
  }

  when(key: string): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    // 2 ** failures overflows to Infinity long after it passed the cap; min() handles that.
    return Math.min(this.#baseMs * 2 ** failures, this.#maxMs);
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.#failures.get(key) ?? 0;
  }
}

/**
 * A token bucket with golang.org/x/time/rate's Reserve semantics: every call takes a token now,
 * and when the bucket is empty it returns how long until that token will have been refilled
 * (tokens may go negative, so successive callers queue up behind each other).
 */
export class BucketRateLimiter implements RateLimiter {
  readonly #perMs: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #last: number;

  constructor(qps = 10, burst = 100, now: () => number = Date.now) {
    this.#perMs = qps / 1000;
    this.#burst = burst;
    this.#now = now;
    this.#tokens = burst;
    this.#last = now();
  }

  when(): number {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#last) * this.#perMs);
    this.#last = now;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : -this.#tokens / this.#perMs;
  }

  forget(): void {
    // The bucket is shared by all keys; nothing per key to forget.
  }

  numRequeues(): number {
    return 0;
  }
}

/** The worst (longest) delay of several limiters; every limiter sees every call. */
export class MaxOfRateLimiter implements RateLimiter {
  readonly #limiters: readonly RateLimiter[];

  constructor(...limiters: RateLimiter[]) {
    this.#limiters = limiters;
  }

  when(key: string): number {
    return Math.max(0, ...this.#limiters.map((l) => l.when(key)));
  }

  forget(key: string): void {
    for (const l of this.#limiters) l.forget(key);
  }

  numRequeues(key: string): number {
    return Math.max(0, ...this.#limiters.map((l) => l.numRequeues(key)));
  }
}

/** client-go's default for controllers: per-item 5 ms → 1000 s, overall 10 qps / burst 100. */
export function defaultControllerRateLimiter(): RateLimiter {
  return new MaxOfRateLimiter(new ItemExponentialFailureRateLimiter(), new BucketRateLimiter());
}
