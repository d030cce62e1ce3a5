// The work queue between event handlers and reconcile workers, with client-go's semantics
// (k8s.io/client-go/util/workqueue), which no npm package reproduces:
//
//   - Keys, not events: a key added any number of times while it waits is queued once.
//   - A key is never handed to two workers at once. A key re-added while it is being processed
//     is marked dirty and queued again (once) when the worker calls `done` — so the change that
//     caused the re-add is always seen by a later reconcile, and 1,000 adds during one reconcile
//     cause exactly one more.
//   - Delayed adds (`addAfter`): the earliest pending time wins for a key.
//   - Rate-limited adds (`addRateLimited`) delay by the rate limiter (per-item exponential
//     backoff combined with an overall token bucket); `forget` resets a key's backoff.
//   - `shutDown` stops accepting adds and hands out no more keys (pending delayed adds are
//     dropped: reconciles are level-triggered, the next start re-lists everything);
//     `shutDownWithDrain` also waits until every key being processed is `done`.
//
// The workqueue_* metrics of controller-runtime are kept up to date, labelled with the queue name.
import {
  onScrape,
  workqueueAddsTotal,
  workqueueDepth,
  workqueueLongestRunningProcessorSeconds,
  workqueueQueueDurationSeconds,
  workqueueRetriesTotal,
  workqueueUnfinishedWorkSeconds,
  workqueueWorkDurationSeconds,
} from './metrics.ts';
import { defaultControllerRateLimiter, type RateLimiter } from './ratelimiter.ts';

export interface WorkQueueOptions {
  /** Queue name: the `name` and `controller` labels of the workqueue_* metrics. */
  name: string;
  rateLimiter?: RateLimiter;
}

export class WorkQueue {
  readonly #labels: { name: string; controller: string };
  readonly #limiter: RateLimiter;
  /** FIFO of keys ready to be handed out; `#head` avoids O(n) shifts on long queues. */
  #queue: string[] = [];
  #head = 0;
  /** Keys that need processing: queued ones, and processing ones that were re-added. */
  readonly #dirty = new Set<string>();
  /** Keys handed to a worker and not yet `done`, with the time they were handed out. */
  readonly #processing = new Map<string, number>();
  /** When each queued key entered the queue (for workqueue_queue_duration_seconds). */
  readonly #queuedAt = new Map<string, number>();
  /** Pending delayed adds: the earliest time wins. */
  readonly #delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  /** Workers blocked in `get`, first come first served. */
  #waiters: ((key: string | undefined) => void)[] = [];
  #drained: (() => void)[] = [];
  #shuttingDown = false;
  readonly #unregisterScrape: () => void;

  constructor(opts: WorkQueueOptions) {
    this.#labels = { name: opts.name, controller: opts.name };
    this.#limiter = opts.rateLimiter ?? defaultControllerRateLimiter();
    this.#unregisterScrape = onScrape(() => {
      this.#observeInProgress();
    });
    workqueueDepth.set(this.#labels, 0);
  }

  /** Number of keys waiting to be handed out. */
  len(): number {
    return this.#queue.length - this.#head;
  }

  /**
   * Nothing queued, being processed or waiting for a delayed (or rate-limited) add: until the
   * next add, no worker will get a key. Lets tests assert that an event caused no reconcile, and
   * that nothing further is pending, without sleeping.
   */
  idle(): boolean {
    return this.len() === 0 && this.#processing.size === 0 && this.#delayed.size === 0;
  }

  add(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    workqueueAddsTotal.inc(this.#labels);
    this.#dirty.add(key);
    if (this.#processing.has(key)) return; // queued again by `done`
    this.#push(key);
  }

  /** Add the key after `delayMs`; if it is already due earlier, that earlier time stands. */
  addAfter(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + delayMs;
    const pending = this.#delayed.get(key);
    if (pending !== undefined) {
      if (pending.at <= at) return;
      clearTimeout(pending.timer);
    }
    const timer = setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.#delayed.set(key, { at, timer });
  }

  /** Add the key once the rate limiter allows (backoff grows with each call until `forget`). */
  addRateLimited(key: string): void {
    if (this.#shuttingDown) return;
    workqueueRetriesTotal.inc(this.#labels);
    this.addAfter(key, this.#limiter.when(key));
  }

  /** The key succeeded (or gave up): reset its backoff. Does not remove it from the queue. */
  forget(key: string): void {
    this.#limiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.#limiter.numRequeues(key);
  }

  /**
   * The next key to process, waiting for one if none is ready; undefined once the queue is shut
   * down or `signal` aborts the wait. The caller must call `done(key)` when finished with it.
   */
  get(signal?: AbortSignal): Promise<string | undefined> {
    if (this.#shuttingDown || signal?.aborted === true) return Promise.resolve(undefined);
    const key = this.#pop();
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => {
      const waiter = (k: string | undefined): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(k);
      };
      const onAbort = (): void => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve(undefined);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Processing of the key finished; if it was re-added meanwhile it is queued again now. */
  done(key: string): void {
    const started = this.#processing.get(key);
    if (started === undefined) return;
    this.#processing.delete(key);
    workqueueWorkDurationSeconds.observe(this.#labels, (performance.now() - started) / 1000);
    if (this.#dirty.has(key) && !this.#shuttingDown) this.#push(key);
    if (this.#processing.size === 0) this.#resolveDrained();
  }

  /** Stop: no more adds, no more keys handed out; workers blocked in `get` get undefined. */
  shutDown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    for (const { timer } of this.#delayed.values()) clearTimeout(timer);
    this.#delayed.clear();
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w(undefined);
    this.#unregisterScrape();
    workqueueUnfinishedWorkSeconds.set(this.#labels, 0);
    workqueueLongestRunningProcessorSeconds.set(this.#labels, 0);
  }

  /** shutDown, then wait until every key handed out has been marked `done`. */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  #push(key: string): void {
    this.#queuedAt.set(key, performance.now());
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      this.#startProcessing(key);
      waiter(key);
      return;
    }
    this.#queue.push(key);
    workqueueDepth.inc(this.#labels);
  }

  #pop(): string | undefined {
    const key = this.#queue[this.#head];
    if (key === undefined) return undefined;
    this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    workqueueDepth.dec(this.#labels);
    this.#startProcessing(key);
    return key;
  }

  #startProcessing(key: string): void {
    const now = performance.now();
    const queuedAt = this.#queuedAt.get(key) ?? now;
    this.#queuedAt.delete(key);
    workqueueQueueDurationSeconds.observe(this.#labels, (now - queuedAt) / 1000);
    this.#dirty.delete(key);
    this.#processing.set(key, now);
  }

  #resolveDrained(): void {
    const drained = this.#drained;
    this.#drained = [];
    for (const d of drained) d();
  }

  #observeInProgress(): void {
    const now = performance.now();
    let total = 0;
    let longest = 0;
    for (const started of this.#processing.values()) {
      total += now - started;
      longest = Math.max(longest, now - started);
    }
    workqueueUnfinishedWorkSeconds.set(this.#labels, total / 1000);
    workqueueLongestRunningProcessorSeconds.set(this.#labels, longest / 1000);
  }
}
