// The reflector keeps a store in step with the API server for one kind (optionally one
// namespace, label and field selector), as client-go's Reflector does — hand-written because the
// informer of @kubernetes/client-node lacks bookmarks, a watchdog and paginated relists:
//
//   1. List, paginated (500 a page), as a consistent read; hand the result to the store
//      (`replace`), which works out what was added, changed and deleted meanwhile.
//   2. Watch from the list's resourceVersion with bookmarks and a randomised server-side timeout
//      (5–10 min, so many informers do not reconnect in lockstep). Each event goes to the store;
//      events and bookmarks advance the resourceVersion the next watch resumes from.
//   3. When the server ends the watch (its timeout), watch again from the last resourceVersion.
//   4. 410 Gone (as the watch's HTTP status or as an ERROR event: the resourceVersion was
//      compacted away) → list again (step 1): nothing is lost, the list is the current state.
//   5. Any other failure (API server down, connection reset) → retry with exponential backoff
//      and jitter (0.8 s doubling to 30 s), resuming the watch from the last resourceVersion.
//   6. A watchdog aborts a watch that has delivered neither an event nor a bookmark for too long
//      (a half-open TCP connection would otherwise stall the cache silently forever).
//
// `managedFields` are stripped from every object before it is stored: they are large and no
// controller of ours reads them.
import { isGone, statusError, type KubeClient, type KubeObject } from './client.ts';
import { noopLogger, type Logger } from './logger.ts';

/** What the reflector feeds; implemented by the informer's cache. */
export interface ReflectorStore<T extends KubeObject> {
  /** The complete current state after a (re)list. */
  replace(items: T[]): void;
  /** One watch event. */
  apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T): void;
}

export interface ReflectorOptions {
  apiVersion: string;
  kind: string;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** List and watch the objects' metadata only (kube/client.ts ListOptions.metadataOnly). */
  metadataOnly?: boolean;
  /** Items per list page (default 500). */
  pageSize?: number;
  /** Watches last between this and twice this long (default 300 s), server-enforced. */
  minWatchTimeoutSeconds?: number;
  /** Abort a watch silent for this long (default 3 min; bookmarks arrive about every minute). */
  watchdogMs?: number;
  /** Reconnect backoff (default 800 ms doubling to 30 s, with jitter). */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  logger?: Logger;
}

class WatchdogTimeout extends Error {
  constructor(ms: number) {
    super(`watch silent for ${ms} ms, reconnecting`);
    this.name = 'WatchdogTimeout';
  }
}

export class Reflector<T extends KubeObject> {
  readonly #client: KubeClient;
  readonly #store: ReflectorStore<T>;
  readonly #opts: Required<
    Omit<ReflectorOptions, 'namespace' | 'labelSelector' | 'fieldSelector' | 'metadataOnly'>
  > &
    ReflectorOptions;
  readonly #stopped = new AbortController();
  #resourceVersion = '';
  #needList = true;
  #watch: AbortController | undefined;
  #loop: Promise<void> | undefined;

  constructor(client: KubeClient, store: ReflectorStore<T>, opts: ReflectorOptions) {
    this.#client = client;
    this.#store = store;
    this.#opts = {
      pageSize: 500,
      minWatchTimeoutSeconds: 300,
      watchdogMs: 180_000,
      backoffInitialMs: 800,
      backoffMaxMs: 30_000,
      logger: noopLogger,
      ...opts,
    };
  }

  /** The resourceVersion the next watch resumes from ('' before the first list). */
  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped.abort();
    await this.#loop;
  }

  /**
   * Drop the current watch and list again, as after a 410. Also the recovery path when the
   * caller knows the cache may have missed something.
   */
  relist(): void {
    this.#needList = true;
    this.#watch?.abort();
  }

  async #run(): Promise<void> {
    const log = this.#opts.logger;
    let failures = 0;
    const ctx = { apiVersion: this.#opts.apiVersion, kind: this.#opts.kind };
    while (!this.#isStopped()) {
      try {
        if (this.#needList) {
          // Cleared first, so a relist() asked for during this list is not lost.
          this.#needList = false;
          await this.#list().catch((err: unknown) => {
            this.#needList = true;
            throw err;
          });
        }
        // A watch ending normally (server timeout, our own abort) is routine.
        if (await this.#watchOnce()) failures = 0;
      } catch (err) {
        if (this.#isStopped()) break;
        if (isGone(err)) {
          log.info({ ...ctx, err }, 'resourceVersion too old, relisting');
          this.#needList = true;
          continue;
        }
        const delay = backoff(failures++, this.#opts.backoffInitialMs, this.#opts.backoffMaxMs);
        const level = err instanceof WatchdogTimeout || failures < 3 ? 'info' : 'warn';
        log[level]({ ...ctx, err, retryInMs: Math.round(delay) }, 'list/watch failed, retrying');
        await sleep(delay, this.#stopped.signal);
      }
    }
  }

  #isStopped(): boolean {
    return this.#stopped.signal.aborted;
  }

  async #list(): Promise<void> {
    const items: T[] = [];
    let cont: string | undefined;
    let resourceVersion: string;
    do {
      const page = await this.#client.list<T>(this.#opts.apiVersion, this.#opts.kind, {
        namespace: this.#opts.namespace,
        labelSelector: this.#opts.labelSelector,
        fieldSelector: this.#opts.fieldSelector,
        metadataOnly: this.#opts.metadataOnly,
        limit: this.#opts.pageSize,
        continue: cont,
      });
      for (const item of page.items) items.push(toStored(item));
      cont = page.metadata.continue;
      resourceVersion = page.metadata.resourceVersion;
    } while (cont !== undefined && cont !== '');
    this.#store.replace(items);
    this.#resourceVersion = resourceVersion;
  }

  /** One watch; true when it delivered anything (the connection is healthy again). */
  async #watchOnce(): Promise<boolean> {
    const abort = new AbortController();
    this.#watch = abort;
    const onStop = (): void => {
      abort.abort();
    };
    this.#stopped.signal.addEventListener('abort', onStop, { once: true });
    const watchdogMs = this.#opts.watchdogMs;
    const watchdog = setTimeout(() => {
      abort.abort(new WatchdogTimeout(watchdogMs));
    }, watchdogMs);
    const min = this.#opts.minWatchTimeoutSeconds;
    const started = performance.now();
    let delivered = false;
    try {
      const events = this.#client.watch<T>(this.#opts.apiVersion, this.#opts.kind, {
        namespace: this.#opts.namespace,
        labelSelector: this.#opts.labelSelector,
        fieldSelector: this.#opts.fieldSelector,
        metadataOnly: this.#opts.metadataOnly,
        resourceVersion: this.#resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: Math.floor(min * (1 + Math.random())),
        signal: abort.signal,
      });
      for await (const event of events) {
        watchdog.refresh();
        if (event.type === 'ERROR') throw statusError('watch', 500, event.object);
        delivered = true;
        const rv = event.object.metadata.resourceVersion;
        if (event.type !== 'BOOKMARK') this.#store.apply(event.type, toStored(event.object));
        if (rv !== undefined && rv !== '') this.#resourceVersion = rv;
      }
      // As client-go: a watch the server ends at once, empty, is a failure (no hot loop).
      const ms = performance.now() - started;
      if (!delivered && ms < 1000) throw new Error(`watch ended after ${ms.toFixed(0)} ms, empty`);
    } catch (err) {
      // Our own abort (stop, relist) ends the watch quietly; the watchdog's is a failure.
      if (!abort.signal.aborted) throw err;
      if (abort.signal.reason instanceof WatchdogTimeout) throw abort.signal.reason;
    } finally {
      clearTimeout(watchdog);
      this.#stopped.signal.removeEventListener('abort', onStop);
    }
    return delivered;
  }
}

/** Exponential backoff with ±20% jitter: initial · 2^failures, capped. */
function backoff(failures: number, initialMs: number, maxMs: number): number {
  return Math.min(initialMs * 2 ** failures, maxMs) * (0.8 + Math.random() * 0.4);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * The object as the cache keeps it: without managedFields, and with `metadata.namespace` set
 * ('' for cluster-scoped kinds) so that readers never need a fallback. Name, uid and
 * resourceVersion are always present on objects the API server returns.
 */
function toStored<T extends KubeObject>(obj: T): T {
  if (obj.metadata.managedFields === undefined && obj.metadata.namespace !== undefined) return obj;
  const metadata = { ...obj.metadata, namespace: obj.metadata.namespace ?? '' };
  delete metadata.managedFields;
  return { ...obj, metadata };
}
