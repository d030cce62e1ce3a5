// Informer: an indexed in-memory cache of one kind, kept current by a Reflector, that tells
// event handlers what changed (client-go's SharedIndexInformer, in small).
//
// Reconcilers read from here, never with a live GET in the hot path. The cache
// holds the objects as the API server sent them, minus managedFields; they are shared with
// every reader and must not be mutated.
//
//   - `get(namespace, name)`, `list(namespace?)`, and custom indexes (`addIndexer(name, fn)`,
//     `byIndex(name, value)`) answer from memory.
//   - Handlers get `add(obj)`, `update(old, new)`, `delete(lastKnown)`. After a relist they get
//     exactly the differences (adds, updates for changed resourceVersions, deletes for objects
//     gone meanwhile), so a 410 never loses a change.
//   - Every `resyncMs` (default 10 min) every cached object is re-delivered as update(obj, obj):
//     controllers repair drift even when nothing told them about it.
//   - A handler that throws is logged and does not disturb the cache or the other handlers.
//   - `namespaces: [a, b]` keeps one cache fed by one reflector per namespace (client-go's
//     informers are per namespace too; controller-runtime's multi-namespace cache merges them
//     the same way): each relist replaces only its own namespace's objects, and the informer has
//     synced once every namespace has been listed. An operator restricted to some namespaces
//     needs list and watch in those namespaces only (RoleBindings), never cluster-wide.
import type { KubeClient, KubeObject } from './client.ts';
import { stderrLogger, type Logger } from './logger.ts';
import { Reflector, type ReflectorOptions, type ReflectorStore } from './reflector.ts';

/**
 * An object as the cache hands it out: name, namespace ('' for cluster-scoped kinds), uid and
 * resourceVersion are always there, so readers need no fallbacks.
 */
export type Stored<T extends KubeObject> = T & {
  metadata: { name: string; namespace: string; uid: string; resourceVersion: string };
};

export interface EventHandler<T extends KubeObject> {
  add?(obj: Stored<T>): void;
  update?(oldObj: Stored<T>, newObj: Stored<T>): void;
  delete?(obj: Stored<T>): void;
}

export type IndexFunc<T extends KubeObject> = (obj: Stored<T>) => string[];

export interface InformerOptions extends ReflectorOptions {
  /** Re-deliver every object as an update this often; 0 disables (default 10 min). */
  resyncMs?: number;
  /**
   * List and watch each of these namespaces (one reflector each) instead of `namespace` or
   * every namespace; empty or absent: `namespace`, else every namespace.
   */
  namespaces?: readonly string[];
}

/** The cache key of an object: "namespace/name", or "name" when cluster-scoped. */
export function objectKey(namespace: string | undefined, name: string): string {
  return namespace === undefined || namespace === '' ? name : `${namespace}/${name}`;
}

const keyOf = (obj: KubeObject): string =>
  objectKey(obj.metadata.namespace, obj.metadata.name ?? '');

const NAMESPACE_INDEX = '__namespace';

export class Informer<T extends KubeObject> implements ReflectorStore<T> {
  readonly apiVersion: string;
  readonly kind: string;
  readonly #items = new Map<string, Stored<T>>();
  /** index name → index value → keys. */
  readonly #indexes = new Map<string, Map<string, Set<string>>>();
  readonly #indexers = new Map<string, IndexFunc<T>>();
  readonly #handlers = new Set<EventHandler<T>>();
  readonly #reflectors: Reflector<T>[];
  readonly #resyncMs: number;
  readonly #log: Logger;
  /** Reflectors (by index) whose first list has not been stored yet. */
  readonly #unsynced = new Set<number>();
  #synced = false;
  #syncWaiters: (() => void)[] = [];
  #resyncTimer: NodeJS.Timeout | undefined;

  constructor(client: KubeClient, opts: InformerOptions) {
    this.apiVersion = opts.apiVersion;
    this.kind = opts.kind;
    this.#resyncMs = opts.resyncMs ?? 600_000;
    this.#log = (opts.logger ?? stderrLogger).child({
      informer: `${opts.apiVersion}/${opts.kind}`,
    });
    const namespaces = [...new Set(opts.namespaces ?? [])];
    const log = this.#log;
    this.#reflectors =
      namespaces.length === 0
        ? [new Reflector(client, this, { ...opts, logger: log })]
        : namespaces.map(
            (namespace, i) =>
              new Reflector(
                client,
                {
                  replace: (items) => {
                    this.#replace(items, i, namespace);
                  },
                  apply: (type, obj) => {
                    this.apply(type, obj);
                  },
                },
                { ...opts, namespace, logger: log.child({ namespace }) },
              ),
          );
    for (let i = 0; i < this.#reflectors.length; i++) this.#unsynced.add(i);
    this.addIndexer(NAMESPACE_INDEX, (obj) => [obj.metadata.namespace]);
  }

  /** The reflector feeding this cache (its `relist()` and `resourceVersion`). */
  get reflector(): Reflector<T> {
    const [only, ...more] = this.#reflectors;
    if (only === undefined || more.length > 0) {
      throw new Error(`informer ${this.kind} has one reflector per namespace: use reflectors`);
    }
    return only;
  }

  /** The reflectors feeding this cache: one, or one per namespace of `namespaces`. */
  get reflectors(): readonly Reflector<T>[] {
    return this.#reflectors;
  }

  start(): void {
    for (const r of this.#reflectors) r.start();
    if (this.#resyncMs > 0) {
      this.#resyncTimer ??= setInterval(() => {
        this.#resync();
      }, this.#resyncMs);
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.#resyncTimer);
    await Promise.all(this.#reflectors.map((r) => r.stop()));
  }

  /** True once the first list (of every namespace) has been stored. */
  hasSynced(): boolean {
    return this.#synced;
  }

  waitForSync(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  get(namespace: string | undefined, name: string): Stored<T> | undefined {
    return this.#items.get(objectKey(namespace, name));
  }

  /** All cached objects, or those of one namespace. */
  list(namespace?: string): Stored<T>[] {
    return namespace === undefined
      ? [...this.#items.values()]
      : this.byIndex(NAMESPACE_INDEX, namespace);
  }

  /**
   * Add an index; objects already cached are indexed at once. Controllers sharing this informer
   * may each add the same index: the first one's function stays.
   */
  addIndexer(name: string, fn: IndexFunc<T>): void {
    if (this.#indexers.has(name)) return;
    this.#indexers.set(name, fn);
    this.#indexes.set(name, new Map());
    for (const [key, obj] of this.#items) this.#index(name, fn, key, obj);
  }

  byIndex(name: string, value: string): Stored<T>[] {
    const index = this.#indexes.get(name);
    if (index === undefined) throw new Error(`informer ${this.kind}: no index ${name}`);
    const out: Stored<T>[] = [];
    for (const key of index.get(value) ?? []) {
      const obj = this.#items.get(key);
      if (obj !== undefined) out.push(obj);
    }
    return out;
  }

  /**
   * Register a handler; it is first told about every object already cached (as adds), like
   * client-go. Returns the function that unregisters it.
   */
  addEventHandler(handler: EventHandler<T>): () => void {
    this.#handlers.add(handler);
    for (const obj of this.#items.values()) this.#call(handler, 'add', obj);
    return () => this.#handlers.delete(handler);
  }

  // ---- ReflectorStore ----------------------------------------------------------------------

  /** The complete current state (of every namespace this informer lists). */
  replace(items: T[]): void {
    this.#replace(items, 0, undefined);
  }

  // The reflector stores objects through toStored(): they are Stored<T> from here on.
  /** The list of reflector `source`: the current state of `namespace` (undefined: of all). */
  #replace(items: T[], source: number, namespace: string | undefined): void {
    const seen = new Set<string>();
    for (const obj of items as Stored<T>[]) {
      const key = keyOf(obj);
      seen.add(key);
      const old = this.#items.get(key);
      if (old?.metadata.resourceVersion !== obj.metadata.resourceVersion) {
        this.#store(key, obj, old);
      }
    }
    const before = namespace === undefined ? [...this.#items.values()] : this.list(namespace);
    for (const old of before) {
      const key = keyOf(old);
      if (!seen.has(key)) this.#remove(key, old, old);
    }
    this.#unsynced.delete(source);
    if (!this.#synced && this.#unsynced.size === 0) {
      this.#synced = true;
      for (const resolve of this.#syncWaiters) resolve();
      this.#syncWaiters = [];
    }
  }

  apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', item: T): void {
    const obj = item as Stored<T>;
    const key = keyOf(obj);
    const old = this.#items.get(key);
    if (type === 'DELETED') {
      this.#remove(key, old, obj);
    } else {
      this.#store(key, obj, old);
    }
  }

  // ---- internals ---------------------------------------------------------------------------

  #store(key: string, obj: Stored<T>, old: Stored<T> | undefined): void {
    if (old !== undefined) this.#unindex(key, old);
    this.#items.set(key, obj);
    for (const [name, fn] of this.#indexers) this.#index(name, fn, key, obj);
    for (const h of this.#handlers) {
      if (old === undefined) this.#call(h, 'add', obj);
      else this.#call(h, 'update', old, obj);
    }
  }

  /** Remove `key` (cached as `old`); handlers get `last`, the final state the server sent. */
  #remove(key: string, old: Stored<T> | undefined, last: Stored<T>): void {
    if (old !== undefined) this.#unindex(key, old);
    this.#items.delete(key);
    for (const h of this.#handlers) this.#call(h, 'delete', last);
  }

  #index(name: string, fn: IndexFunc<T>, key: string, obj: Stored<T>): void {
    const index = this.#indexes.get(name);
    if (index === undefined) return;
    for (const value of this.#indexValues(name, fn, obj)) {
      let keys = index.get(value);
      if (keys === undefined) index.set(value, (keys = new Set()));
      keys.add(key);
    }
  }

  #unindex(key: string, obj: Stored<T>): void {
    for (const [name, fn] of this.#indexers) {
      const index = this.#indexes.get(name);
      if (index === undefined) continue;
      for (const value of this.#indexValues(name, fn, obj)) {
        const keys = index.get(value);
        keys?.delete(key);
        if (keys?.size === 0) index.delete(value);
      }
    }
  }

  #indexValues(name: string, fn: IndexFunc<T>, obj: Stored<T>): string[] {
    try {
      return fn(obj);
    } catch (err) {
      this.#log.error({ err, index: name, object: keyOf(obj) }, 'index function failed');
      return [];
    }
  }

  #resync(): void {
    for (const obj of this.#items.values()) {
      for (const h of this.#handlers) this.#call(h, 'update', obj, obj);
    }
  }

  #call(h: EventHandler<T>, event: 'add' | 'delete', obj: Stored<T>): void;
  #call(h: EventHandler<T>, event: 'update', old: Stored<T>, obj: Stored<T>): void;
  #call(h: EventHandler<T>, event: 'add' | 'update' | 'delete', a: Stored<T>, b?: Stored<T>): void {
    try {
      if (event === 'update') h.update?.(a, b ?? a);
      else h[event]?.(a);
    } catch (err) {
      this.#log.error({ err, event, object: keyOf(b ?? a) }, 'event handler failed');
    }
  }
}
