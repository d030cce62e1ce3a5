// The shared informer cache: one Informer per (apiVersion, kind, namespace, selectors), however
// many controllers watch that kind — one list+watch per kind against the API server, one copy
// of each object in memory (controller-runtime's cache, in small). The manager starts it and
// reports ready (/readyz) once every informer has synced.
import type { KubeClient, KubeObject } from './client.ts';
import { Informer } from './informer.ts';
import type { Logger } from './logger.ts';

export interface InformerSelector {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Cache the objects' metadata only (PartialObjectMetadata). */
  metadataOnly?: boolean;
}

export class Cache {
  readonly #client: KubeClient;
  readonly #opts: { resyncMs?: number; logger?: Logger };
  readonly #informers = new Map<string, Informer<KubeObject>>();
  #started = false;

  constructor(client: KubeClient, opts: { resyncMs?: number; logger?: Logger } = {}) {
    this.#client = client;
    this.#opts = opts;
  }

  /** The shared informer for this kind and selection; created (and started, if the cache is). */
  informer<T extends KubeObject>(
    apiVersion: string,
    kind: string,
    selector: InformerSelector = {},
  ): Informer<T> {
    const key = JSON.stringify([
      apiVersion,
      kind,
      selector.namespace,
      selector.labelSelector,
      selector.fieldSelector,
      selector.metadataOnly === true,
    ]);
    let informer = this.#informers.get(key);
    if (informer === undefined) {
      informer = new Informer<KubeObject>(this.#client, {
        ...this.#opts,
        ...selector,
        apiVersion,
        kind,
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
