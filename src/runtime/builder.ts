// Wiring a controller to the shared cache (controller-runtime's builder, in small):
//
//   const b = new ControllerBuilder<Primary>(cache, { name, apiVersion, kind, ownedSelector })
//   const deployments = b.owns<Deployment>(KINDS.Deployment)        // children we write
//   const sites = b.watches<Site>(siteKind, (site) => [benchOf(site)]) // anything that maps
//   const controller = b.complete(reconcile, { maxConcurrentReconciles })
//
// `for` is the constructor: the primary kind, whose events enqueue the object itself. `owns`
// creates an informer selected by `ownedSelector` (the operator's managed-by label, so the cache
// holds our children only) whose events enqueue the controller owner of the primary kind.
// `watches` maps any other kind's objects to the keys to reconcile. Each returns its informer
// for the reconciler to read from. Informers added after `complete` (kinds discovered later,
// such as an optional CRD) are watched at once.
//
// Informers cover the cache's namespaces (every namespace, or the list the operator is
// restricted to); a watch with `allNamespaces` covers every namespace regardless — it needs list
// and watch of its kind cluster-wide.
import type { KubeObject } from '../kube/client.ts';
import type { Cache, InformerSelector } from '../kube/cache.ts';
import type { Informer } from '../kube/informer.ts';
import type { Logger } from '../kube/logger.ts';
import { Controller, type Reconciler, type Request } from './controller.ts';

export interface KindRef {
  apiVersion: string;
  kind: string;
}

export interface BuilderOptions extends KindRef {
  /** The controller's name (metrics, logs). */
  name: string;
  /** Label selector of the children informers (`owns`). */
  ownedSelector?: string;
  logger: Logger;
}

export interface InformerScope {
  /** Every namespace, even when the cache is restricted (e.g. references across namespaces). */
  allNamespaces?: boolean;
  labelSelector?: string;
  /** Cache the objects' metadata only (e.g. Secrets whose values the controller never reads). */
  metadataOnly?: boolean;
}

type Wiring = (c: Controller) => void;

export class ControllerBuilder<P extends KubeObject> {
  readonly primary: Informer<P>;
  readonly #cache: Cache;
  readonly #opts: BuilderOptions;
  readonly #wirings: Wiring[] = [];
  #controller: Controller | undefined;

  constructor(cache: Cache, opts: BuilderOptions) {
    this.#cache = cache;
    this.#opts = opts;
    this.primary = cache.informer<P>(opts.apiVersion, opts.kind, this.#scope({}));
    this.#wire((c) => {
      c.watchPrimary(this.primary);
    });
  }

  /** Children of kind `ref` controlled by the primary kind; returns their informer. */
  owns<T extends KubeObject>(ref: KindRef, opts: { metadataOnly?: boolean } = {}): Informer<T> {
    const informer = this.#cache.informer<T>(
      ref.apiVersion,
      ref.kind,
      this.#scope({ labelSelector: this.#opts.ownedSelector, ...opts }),
    );
    this.#wire((c) => {
      c.watchOwned(informer, this.#opts.kind);
    });
    return informer;
  }

  /** Objects of kind `ref` mapped to the keys to reconcile; returns their informer. */
  watches<T extends KubeObject>(
    ref: KindRef,
    map: (obj: T) => Request[],
    scope: InformerScope = {},
  ): Informer<T> {
    const informer = this.#cache.informer<T>(ref.apiVersion, ref.kind, this.#scope(scope));
    this.#wire((c) => {
      c.watchMapped(informer, map);
    });
    return informer;
  }

  /** The controller, with every watch registered so far (and later) wired to it. */
  complete(reconcile: Reconciler, opts: { maxConcurrentReconciles?: number } = {}): Controller {
    if (this.#controller !== undefined) throw new Error(`${this.#opts.name}: already completed`);
    const controller = new Controller({
      name: this.#opts.name,
      reconcile,
      logger: this.#opts.logger,
      ...opts,
    });
    this.#controller = controller;
    for (const wire of this.#wirings) wire(controller);
    return controller;
  }

  #wire(wiring: Wiring): void {
    if (this.#controller === undefined) this.#wirings.push(wiring);
    else wiring(this.#controller);
  }

  #scope(scope: InformerScope): InformerSelector {
    return {
      ...(scope.allNamespaces === true ? { allNamespaces: true } : {}),
      ...(scope.labelSelector === undefined ? {} : { labelSelector: scope.labelSelector }),
      ...(scope.metadataOnly === true ? { metadataOnly: true } : {}),
    };
  }
}
