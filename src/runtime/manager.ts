// The manager: one process's client, shared informer cache, controllers, leader election,
// health probes, secure metrics and operator configuration, started and stopped in the order
// controller-runtime's manager uses, so that at most one replica reconciles at any time.
//
// start():
//   1. metrics server (HTTPS) and health probes (/healthz alive, /readyz = caches synced);
//   2. informers — every one created on the shared cache so far — on every replica, leader or
//      not, so a stand-by is warm and /readyz reflects cache sync;
//   3. leader election (or none with --leader-elect=false); on becoming leader: wait for the
//      caches to sync, then start the controllers' workers.
// stop() (SIGTERM/SIGINT): stop taking work and let in-flight reconciles finish (bounded by the
//   graceful-shutdown timeout), THEN release the lease — so the next leader starts within a
//   retry period and never overlaps with us; when reconciles outlive the timeout the lease is
//   not released but left to expire — then stop informers and servers.
// Leadership lost (no renewal within the renew deadline): controllers are told to stop at once
//   and `wait()` rejects; the caller exits non-zero without waiting, as controller-runtime does.
//
// Controllers are added before start() with `addController`. The manager knows nothing of the
// product's configuration: whoever builds it wires that to the controllers.
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import type { BindAddress } from './bind-address.ts';
import { Cache } from '../kube/cache.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Logger } from '../kube/logger.ts';
import { EventRecorder } from './events.ts';
import { HealthServer } from './health.ts';
import { DEFAULT_LEASE_NAME, LeaderElector } from './leaderelection.ts';
import { registry } from './metrics.ts';
import { MetricsServer, TokenReviewAuthorizer } from './metrics-server.ts';

/** What the manager needs of a controller (src/runtime/controller.ts's Controller fits). */
export interface ManagedController {
  readonly name: string;
  /** Start the workers; called once, when leading and the caches have synced. */
  start(): void;
  /** Stop taking keys and resolve when in-flight reconciles have finished. */
  stop(): Promise<void>;
}

export interface LeaderElectionConfig {
  /** Lease name (default `frappe-operator.vyogo.tech`), in the operator's namespace. */
  leaseName?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface ManagerOptions {
  client: KubeClient;
  /** The operator's own namespace: its Lease. */
  namespace: string;
  /**
   * Restrict the cache (and so every controller) to these namespaces; empty or absent: every
   * namespace. Informers that ask for one namespace, or for all, are unaffected.
   */
  namespaces?: readonly string[];
  /** false: `--leader-elect=false`, this process reconciles unconditionally. */
  leaderElection: LeaderElectionConfig | false;
  /** undefined: the server is disabled (`0`). */
  healthProbeAddress: BindAddress | undefined;
  metricsAddress: BindAddress | undefined;
  metricsCertDir?: string;
  /** Authenticate and authorise /metrics with TokenReview and SubjectAccessReview. */
  metricsAuthorization: boolean;
  /** How long stop() waits for in-flight reconciles (default 30 s, controller-runtime's). */
  gracefulShutdownTimeoutMs?: number;
  logger: Logger;
}

export interface ListeningAddresses {
  health?: AddressInfo;
  metrics?: AddressInfo;
}

export class LeaderElectionLostError extends Error {
  constructor(lease: string) {
    super(`leader election lost: lease ${lease} could not be renewed within the renew deadline`);
    this.name = 'LeaderElectionLostError';
  }
}

export class Manager {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly cache: Cache;
  readonly events: EventRecorder;
  readonly logger: Logger;
  /** This replica's leader-election identity (the hostname with --leader-elect=false). */
  readonly identity: string;

  readonly #opts: ManagerOptions;
  readonly #controllers: ManagedController[] = [];
  readonly #elector: LeaderElector | undefined;
  readonly #health: HealthServer | undefined;
  readonly #metrics: MetricsServer | undefined;
  readonly #finished = Promise.withResolvers<undefined>();
  #state: 'new' | 'running' | 'stopping' | 'stopped' | 'failed' = 'new';
  #stopping: Promise<void> | undefined;

  constructor(opts: ManagerOptions) {
    this.#opts = opts;
    this.client = opts.client;
    this.namespace = opts.namespace;
    this.logger = opts.logger;
    this.cache = new Cache(opts.client, {
      logger: opts.logger,
      ...(opts.namespaces === undefined ? {} : { namespaces: opts.namespaces }),
    });
    this.events = new EventRecorder(opts.client, { logger: opts.logger });

    if (opts.leaderElection === false) {
      this.#elector = undefined;
      this.identity = os.hostname();
    } else {
      const le = opts.leaderElection;
      const lease = `${opts.namespace}/${le.leaseName ?? DEFAULT_LEASE_NAME}`;
      this.#elector = new LeaderElector({
        client: opts.client,
        namespace: opts.namespace,
        name: le.leaseName ?? DEFAULT_LEASE_NAME,
        leaseDurationMs: le.leaseDurationMs,
        renewDeadlineMs: le.renewDeadlineMs,
        retryPeriodMs: le.retryPeriodMs,
        logger: opts.logger,
        onStartedLeading: () => {
          void this.#startControllers();
        },
        onStoppedLeading: () => {
          this.#fail(new LeaderElectionLostError(lease));
        },
      });
      this.identity = this.#elector.identity;
    }

    if (opts.healthProbeAddress !== undefined) {
      this.#health = new HealthServer({ address: opts.healthProbeAddress, logger: opts.logger });
      this.#health.addReadyzCheck('informers', () =>
        this.cache.hasSynced() ? undefined : 'informer caches not synced yet',
      );
    }
    if (opts.metricsAddress !== undefined) {
      this.#metrics = new MetricsServer({
        address: opts.metricsAddress,
        certDir: opts.metricsCertDir,
        authorizer: opts.metricsAuthorization
          ? new TokenReviewAuthorizer(opts.client, { logger: opts.logger })
          : undefined,
        registry,
        logger: opts.logger,
      });
    }
  }

  addController(controller: ManagedController): void {
    if (this.#state !== 'new') throw new Error('controllers must be added before start()');
    this.#controllers.push(controller);
  }

  /** Bring everything up; resolves once the servers listen and the election runs. */
  async start(): Promise<ListeningAddresses> {
    if (this.#state !== 'new') throw new Error('manager already started');
    this.#state = 'running';
    const addresses: ListeningAddresses = {
      metrics: await this.#metrics?.start(),
      health: await this.#health?.start(),
    };
    this.cache.start();
    if (this.#elector === undefined) {
      void this.#startControllers();
    } else {
      this.#elector.start();
    }
    return addresses;
  }

  /** Resolves when stop() has completed; rejects when leadership was lost. */
  wait(): Promise<void> {
    return this.#finished.promise;
  }

  /**
   * Graceful shutdown; idempotent. Resolves when done; reconciles outliving the shutdown
   * timeout are reported through wait(), which then rejects.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#shutdown();
    return this.#stopping;
  }

  /** Start the workers once the caches have synced, unless shutting down by then. */
  async #startControllers(): Promise<void> {
    await this.cache.waitForSync();
    if (this.#state !== 'running') return;
    for (const c of this.#controllers) c.start();
    this.logger.info({ controllers: this.#controllers.map((c) => c.name) }, 'controllers started');
  }

  async #shutdown(): Promise<void> {
    if (this.#state === 'failed') return;
    this.#state = 'stopping';
    this.logger.info({}, 'shutting down: finishing in-flight reconciles');
    const timeoutMs = this.#opts.gracefulShutdownTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      // Controllers not started yet (caches still syncing) stop at once and never start.
      Promise.all(this.#controllers.map((c) => c.stop())).then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => {
          resolve(false);
        }, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    // Only now that no reconcile runs may another replica lead. After a timeout reconciles still
    // run until the caller exits: the lease is kept to expire, so no other replica leads while
    // they do.
    if (!drained) this.logger.warn({}, 'reconciles still run: keeping the lease until it expires');
    await this.#elector?.stop({ release: drained });
    await this.cache.stop();
    await Promise.all([this.#metrics?.stop(), this.#health?.stop()]);
    this.#state = 'stopped';
    if (drained) {
      this.logger.info({}, 'shut down');
      this.#finished.resolve(undefined);
    } else {
      this.#finished.reject(
        new Error(`in-flight reconciles did not finish within ${timeoutMs} ms`),
      );
    }
  }

  #fail(err: Error): void {
    if (this.#state === 'stopping' || this.#state === 'stopped') return;
    this.#state = 'failed';
    this.logger.error({ err }, 'stopping controllers at once');
    for (const c of this.#controllers) {
      c.stop().catch((e: unknown) => {
        this.logger.error({ err: e, controller: c.name }, 'controller stop failed');
      });
    }
    this.#finished.reject(err);
  }
}
