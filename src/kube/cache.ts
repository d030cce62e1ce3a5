// The shared informer cache: one Informer per (apiVersion, kind, namespaces, selectors), however
// many controllers watch that kind — one list+watch per kind (and namespace) against the API
// server, one copy of each object in memory (controller-runtime's cache, in small). The manager
// starts it and reports ready (/readyz) once every informer has synced.
//
// Like controller-runtime's `cache.Options.DefaultNamespaces`, the cache may be restricted to a
// list of namespaces: every informer asked for without a namespace then lists and watches those
// namespaces only, one reflector each, and objects elsewhere never reach memory. An informer may
// still ask for one namespace of its own (the operator's ConfigMap) or, with `allNamespaces`,
// for every namespace (a reference that may cross namespaces, such as a shared MariaDB); that
// informer needs list and watch cluster-wide.
import type { KubeClient, KubeObject } from './client.ts';
import { Informer } from './informer.ts';
import type { Logger } from './logger.ts';

export interface InformerSelector {
  /** This namespace only, whatever the cache's namespaces. */
  namespace?: string;
  /** Every namespace, even when the cache is restricted to some. */
  allNamespaces?: boolean;
  labelSelector?: string;
  fieldSelector?: string;
  /** Cache the objects' metadata only (PartialObjectMetadata). */
  metadataOnly?: boolean;
}

export interface CacheOptions {
  resyncMs?: number;
  logger?: Logger;
  /** Informers without a namespace of their own watch these namespaces; empty or absent: all. */
  namespaces?: readonly string[];
}

export class Cache {
  readonly #client: KubeClient;
  readonly #opts: { resyncMs?: number; logger?: Logger };
  /** Sorted and without duplicates; empty: every namespace. */
  readonly namespaces: readonly string[];
  readonly #informers = new Map<string, Informer<KubeObject>>();
  #started = false;

  constructor(client: KubeClient, opts: CacheOptions = {}) {
    this.#client = client;
    const { namespaces = [], ...rest } = opts;
    this.#opts = rest;
    this.namespaces = [...new Set(namespaces)].sort();
  }

  /** The shared informer for this kind and selection; created (and started, if the cache is). */
  informer<T extends KubeObject>(
    apiVersion: string,
    kind: string,
    selector: InformerSelector = {},
  ): Informer<T> {
    const namespaces =
      selector.namespace !== undefined
        ? [selector.namespace]
        : selector.allNamespaces === true
          ? []
          : this.namespaces;
    const key = JSON.stringify([
      apiVersion,
      kind,
      namespaces,
      selector.labelSelector,
      selector.fieldSelector,
      selector.metadataOnly === true,
    ]);
    let informer = this.#informers.get(key);
    if (informer === undefined) {
      informer = new Informer<KubeObject>(this.#client, {
        ...this.#opts,
        apiVersion,
        kind,
        ...(namespaces.length === 1 ? { namespace: namespaces[0] } : { namespaces }),
        ...(selector.labelSelector === undefined ? {} : { labelSelector: selector.labelSelector }),
        ...(selector.fieldSelector === undefined ? {} : { fieldSelector: selector.fieldSelector }),
        ...(selector.metadataOnly === true ? { metadataOnly: true } : {}),
      });
      this.#informers.set(key, informer);
      if (this.#started) informer.start();
    }
    // Callers of one key agree on its kind, so the stored informer holds T objects.
    return informer as unknown as Informer<T>;
  }

  start(): void {
    this.#started = true;
    for (const informer of this.#informers.values()) informer.start();
  }

  async stop(): Promise<void> {
    this.#started = false;
    await Promise.all([...this.#informers.values()].map((i) => i.stop()));
  }

  hasSynced(): boolean {
    return [...this.#informers.values()].every((i) => i.hasSynced());
  }

  async waitForSync(): Promise<void> {
    await Promise.all([...this.#informers.values()].map((i) => i.waitForSync()));
  }
}
