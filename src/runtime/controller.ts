// A controller: informer events → keys in a work queue → N workers calling `reconcile(key)`
// (controller-runtime's controller, in small; hand-written as no npm package has its guarantees).
//
//   - Watches: `watchPrimary` enqueues the object itself (updates filtered by a predicate),
//     `watchOwned` enqueues the controller owner of a given kind, `watchMapped` enqueues whatever
//     keys a function maps an object to.
//   - The queue guarantees one reconcile per key at a time, and that a change arriving during a
//     reconcile is followed by exactly one more.
//   - Outcomes: return nothing → done (backoff reset); `{ requeueAfter: ms }` → reconcile again
//     then; `{ requeue: true }` or any thrown error → transient, retried with per-key
//     exponential backoff; a thrown TerminalError → logged and counted, not retried. Nothing
//     a reconciler throws ever reaches the process.
//   - Workers can be resized at run time (`setMaxConcurrentReconciles`); `stop()` stops taking
//     keys, lets in-flight reconciles finish, and resolves when they have.
//   - controller_runtime_* metrics; every reconcile logs through a child logger carrying
//     controller, namespace, name and a random reconcileID.
import { randomUUID } from 'node:crypto';
import type { KubeObject } from '../kube/client.ts';
import { objectKey, type EventHandler, type Informer } from '../kube/informer.ts';
import { jsonEqual } from '../kube/json.ts';
import { stderrLogger, type Logger } from '../kube/logger.ts';
import { isTerminalError } from './errors.ts';
import {
  activeWorkers,
  maxConcurrentReconciles,
  RECONCILE_RESULTS,
  reconcileErrorsTotal,
  reconcileTimeSeconds,
  reconcileTotal,
  terminalReconcileErrorsTotal,
  type ReconcileResult,
} from './metrics.ts';
import type { RateLimiter } from './ratelimiter.ts';
import { WorkQueue } from './workqueue.ts';

/** What to reconcile: namespace ('' for cluster-scoped kinds) and name. */
export interface Request {
  namespace: string;
  name: string;
}

export interface ReconcileContext {
  /** Random per reconcile, for correlating its log lines. */
  reconcileID: string;
  /** Carries controller, namespace, name and reconcileID. */
  logger: Logger;
}

export type Result = { requeueAfter?: number; requeue?: boolean } | undefined;

// `void`: a reconciler with nothing to report is naturally typed `Promise<void>`.
// eslint-disable-next-line @typescript-eslint/no-invalid-void-type
export type Reconciler = (req: Request, ctx: ReconcileContext) => Promise<Result | void>;

/** Decides whether an update of a watched object is worth a reconcile. */
export type UpdatePredicate<T extends KubeObject> = (oldObj: T, newObj: T) => boolean;

export interface ControllerOptions {
  name: string;
  reconcile: Reconciler;
  /** Workers (default 1). */
  maxConcurrentReconciles?: number;
  logger?: Logger;
  rateLimiter?: RateLimiter;
}

/**
 * The default predicate for primary objects: a resync (same resourceVersion: re-check for
 * drift), or a change of generation (spec), labels, annotations, finalizers or deletion
 * timestamp. Status-only updates — often our own status writes — are ignored. Kinds without
 * metadata.generation (ConfigMap, Secret, ...) cannot tell spec from status: every update passes.
 */
export function defaultPrimaryPredicate<T extends KubeObject>(oldObj: T, newObj: T): boolean {
  const o = oldObj.metadata;
  const n = newObj.metadata;
  return (
    n.generation === undefined ||
    o.resourceVersion === n.resourceVersion ||
    o.generation !== n.generation ||
    o.deletionTimestamp !== n.deletionTimestamp ||
    !jsonEqual(o.labels, n.labels) ||
    !jsonEqual(o.annotations, n.annotations) ||
    !jsonEqual(o.finalizers, n.finalizers)
  );
}

const requestOf = (obj: KubeObject): Request => ({
  namespace: obj.metadata.namespace ?? '',
  name: obj.metadata.name ?? '',
});

function parseKey(key: string): Request {
  const slash = key.indexOf('/');
  return slash < 0
    ? { namespace: '', name: key }
    : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

interface Worker {
  abort: AbortController;
  done: Promise<void>;
}

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  readonly #reconcile: Reconciler;
  readonly #log: Logger;
  readonly #workers = new Set<Worker>();
  readonly #unwatch: (() => void)[] = [];
  #max: number;
  #state: 'new' | 'running' | 'stopped' = 'new';

  constructor(opts: ControllerOptions) {
    this.name = opts.name;
    this.#reconcile = opts.reconcile;
    this.#log = (opts.logger ?? stderrLogger).child({ controller: opts.name });
    this.queue = new WorkQueue({ name: opts.name, rateLimiter: opts.rateLimiter });
    this.#max = Math.max(1, opts.maxConcurrentReconciles ?? 1);
    maxConcurrentReconciles.set({ controller: this.name }, this.#max);
    activeWorkers.set({ controller: this.name }, 0);
  }

  enqueue(req: Request): void {
    this.queue.add(objectKey(req.namespace, req.name));
  }

  /** Reconcile the watched objects themselves; updates pass only when `predicate` says so. */
  watchPrimary<T extends KubeObject>(
    informer: Informer<T>,
    predicate: UpdatePredicate<T> = defaultPrimaryPredicate,
  ): void {
    this.#watch(informer, {
      add: (obj) => {
        this.enqueue(requestOf(obj));
      },
      update: (oldObj, newObj) => {
        if (predicate(oldObj, newObj)) this.enqueue(requestOf(newObj));
      },
      delete: (obj) => {
        this.enqueue(requestOf(obj));
      },
    });
  }

  /** Reconcile the controller owner (ownerReference with controller: true) of kind `ownerKind`. */
  watchOwned<T extends KubeObject>(informer: Informer<T>, ownerKind: string): void {
    this.watchMapped(informer, (obj) =>
      (obj.metadata.ownerReferences ?? [])
        .filter((ref) => ref.controller === true && ref.kind === ownerKind)
        .map((ref) => ({ namespace: obj.metadata.namespace ?? '', name: ref.name })),
    );
  }

  /** Reconcile the keys `map` returns for each event's object (both old and new on updates). */
  watchMapped<T extends KubeObject>(informer: Informer<T>, map: (obj: T) => Request[]): void {
    const enqueueAll = (obj: T): void => {
      for (const req of map(obj)) this.enqueue(req);
    };
    this.#watch(informer, {
      add: enqueueAll,
      update: (oldObj, newObj) => {
        if (oldObj !== newObj) enqueueAll(oldObj);
        enqueueAll(newObj);
      },
      delete: enqueueAll,
    });
  }

  #watch<T extends KubeObject>(informer: Informer<T>, handler: EventHandler<T>): void {
    if (this.#state === 'stopped') throw new Error(`controller ${this.name} is stopped`);
    this.#unwatch.push(informer.addEventHandler(handler));
  }

  start(): void {
    if (this.#state !== 'new') throw new Error(`controller ${this.name} already started`);
    this.#state = 'running';
    // Every reconcile series at 0 once the controller runs (on the leader), as controller-runtime's
    // initMetrics does in Start, so rate() and alerts on errors work before the first error.
    const controller = { controller: this.name };
    reconcileErrorsTotal.inc(controller, 0);
    terminalReconcileErrorsTotal.inc(controller, 0);
    for (const result of RECONCILE_RESULTS) reconcileTotal.inc({ ...controller, result }, 0);
    this.#log.info({ workers: this.#max }, 'starting workers');
    this.#resize();
  }

  /** Change the number of workers; surplus workers exit after their current reconcile. */
  setMaxConcurrentReconciles(n: number): void {
    this.#max = Math.max(1, Math.floor(n));
    maxConcurrentReconciles.set({ controller: this.name }, this.#max);
    if (this.#state === 'running') this.#resize();
  }

  get maxConcurrentReconciles(): number {
    return this.#max;
  }

  /** `new` until start(), `running` while workers run (on the leader), `stopped` after stop(). */
  get state(): 'new' | 'running' | 'stopped' {
    return this.#state;
  }

  /** Stop taking keys, let in-flight reconciles finish; resolves when they have. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    for (const unwatch of this.#unwatch) unwatch();
    await this.queue.shutDownWithDrain();
    await Promise.all([...this.#workers].map((w) => w.done));
  }

  #resize(): void {
    const live = [...this.#workers].filter((w) => !w.abort.signal.aborted);
    for (const w of live.slice(this.#max)) w.abort.abort();
    for (let i = live.length; i < this.#max; i++) {
      const abort = new AbortController();
      const worker: Worker = { abort, done: this.#work(abort.signal) };
      this.#workers.add(worker);
      void worker.done.finally(() => this.#workers.delete(worker));
    }
  }

  async #work(signal: AbortSignal): Promise<void> {
    for (;;) {
      const key = await this.queue.get(signal);
      if (key === undefined) return;
      try {
        await this.#process(key);
      } finally {
        this.queue.done(key);
      }
      if (signal.aborted) return;
    }
  }

  async #process(key: string): Promise<void> {
    const req = parseKey(key);
    const reconcileID = randomUUID();
    const log = this.#log.child({ namespace: req.namespace, name: req.name, reconcileID });
    const labels = { controller: this.name };
    activeWorkers.inc(labels);
    const started = performance.now();
    let result: ReconcileResult;
    try {
      const res = await this.#reconcile(req, { reconcileID, logger: log });
      if (res?.requeueAfter !== undefined && res.requeueAfter > 0) {
        this.queue.forget(key);
        this.queue.addAfter(key, res.requeueAfter);
        result = 'requeue_after';
      } else if (res?.requeue === true) {
        this.queue.addRateLimited(key);
        result = 'requeue';
      } else {
        this.queue.forget(key);
        result = 'success';
      }
    } catch (err) {
      result = 'error';
      reconcileErrorsTotal.inc(labels);
      if (isTerminalError(err)) {
        terminalReconcileErrorsTotal.inc(labels);
        this.queue.forget(key);
        log.error({ err }, 'reconcile failed terminally, not retrying');
      } else {
        this.queue.addRateLimited(key);
        log.error({ err, retries: this.queue.numRequeues(key) }, 'reconcile failed, will retry');
      }
    } finally {
      activeWorkers.dec(labels);
      reconcileTimeSeconds.observe(labels, (performance.now() - started) / 1000);
    }
    reconcileTotal.inc({ ...labels, result });
  }
}
