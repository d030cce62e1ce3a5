// Leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics
// (k8s.io/client-go/tools/leaderelection), so that of several operator replicas exactly one runs
// the controllers. Hand-written: @kubernetes/client-node has no leader election.
//
//   - Timings: lease duration 15 s, renew deadline 10 s, retry period 2 s (controller-runtime's
//     defaults). Identity `<hostname>_<uuid>`.
//   - Acquire when the lease has no holder, is ours, or has not been renewed for its
//     leaseDurationSeconds. "Not renewed" is judged by *our* clock from when *we* last saw the
//     record change, never by comparing the renewTime written by another machine's clock. A
//     stand-by retries every retry period and also right when the lease it observed runs out,
//     so a crashed leader is replaced at most lease duration + one retry period after its last
//     renewal (client-go may wait one more jittered retry period).
//   - Every write is an update carrying the resourceVersion we read (or a create when there is
//     no lease): of two replicas racing, one gets a 409 Conflict and simply tries again later.
//   - The leader renews every retry period. If it has not renewed successfully for the renew
//     deadline it stops leading AT ONCE — a timer fires even while a request hangs — because
//     after the lease duration another replica may take over. `onStoppedLeading` is called; the
//     manager then stops its controllers and exits non-zero, as controller-runtime does.
//   - `stop()` (graceful shutdown) releases a held lease the way client-go's ReleaseOnCancel
//     does: holderIdentity emptied and leaseDurationSeconds 1, so another replica acquires it
//     on its next retry (≤ 2.4 s) instead of waiting out 15 s.
//   - leader_election_master_status{name} is 1 while leading, 0 otherwise.
//   - All timing goes through an injectable clock (client-go's LeaderElectionConfig.Clock), so
//     the unit tests drive it on a fake clock instead of measuring milliseconds.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlreadyExists, isConflict, type KubeClient, type KubeObject } from '../kube/client.ts';
import { noopLogger, type Logger } from '../kube/logger.ts';
import { toMicroTime } from '../kube/time.ts';
import { leaderElectionMasterStatus } from './metrics.ts';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

export type LeaseClient = Pick<KubeClient, 'get' | 'create' | 'update'>;

export interface LeaderElectionOptions {
  client: LeaseClient;
  namespace: string;
  /** Lease name, e.g. `frappe-operator.vyogo.tech`. */
  name: string;
  /** Defaults to `<hostname>_<uuid>`. */
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Called once when this replica becomes leader. */
  onStartedLeading: () => void;
  /** Called once when leadership is LOST (renew deadline passed); not on a graceful stop(). */
  onStoppedLeading: () => void;
  logger?: Logger;
  /** Defaults to the real clock; tests pass a fake one. */
  clock?: ElectionClock;
}

/** Time as the elector sees it. */
export interface ElectionClock {
  /** Monotonic milliseconds: lease expiry is judged on this clock. */
  now(): number;
  /** Wall time, written to the Lease (acquireTime, renewTime). */
  date(): Date;
  /** Resolves after `ms`, or as soon as `signal` aborts (never rejects). */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** Calls `fn` once after `ms`; returns a function cancelling it. */
  setTimer(fn: () => void, ms: number): () => void;
}

/** For abortable sleeps: an abort is the expected way out, anything else is rethrown. */
function ignoreAbort(e: unknown): void {
  if (!(e instanceof Error && e.name === 'AbortError')) throw e;
}

const realClock: ElectionClock = {
  now: () => performance.now(),
  date: () => new Date(),
  sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(ignoreAbort),
  setTimer: (fn, ms) => {
    const timer = setTimeout(fn, ms);
    return () => {
      clearTimeout(timer);
    };
  },
};

export const DEFAULT_LEASE_NAME = 'frappe-operator.vyogo.tech';

/** client-go's JitterFactor for the retry loop. */
const JITTER = 1.2;
/** A take-over attempt goes this long after the observed lease has run out. */
const EXPIRY_MARGIN_MS = 50;

export class LeaderElector {
  readonly identity: string;
  readonly #client: LeaseClient;
  readonly #namespace: string;
  readonly #name: string;
  readonly #leaseDurationMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  readonly #opts: LeaderElectionOptions;
  readonly #log: Logger;
  readonly #clock: ElectionClock;
  readonly #stopping = new AbortController();

  #leading = false;
  /** The lease as we last read or wrote it, and when (clock.now()) its spec last changed. */
  #observed: Lease | undefined;
  #observedAt = 0;
  /** When the other holder's lease, as we observed it, runs out (clock.now()). */
  #heldUntil = Infinity;
  #lastHolder: string | undefined;
  #cancelDeadline: (() => void) | undefined;
  #loop: Promise<void> | undefined;

  constructor(opts: LeaderElectionOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? realClock;
    this.#client = opts.client;
    this.#namespace = opts.namespace;
    this.#name = opts.name;
    this.identity = opts.identity ?? `${os.hostname()}_${randomUUID()}`;
    this.#leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.#renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.#retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    if (!(
      this.#leaseDurationMs > this.#renewDeadlineMs &&
      this.#renewDeadlineMs > this.#retryPeriodMs * JITTER
    )) {
      throw new Error('leader election: need leaseDuration > renewDeadline > retryPeriod × 1.2');
    }
    this.#log = (opts.logger ?? noopLogger).child({
      lease: `${opts.namespace}/${opts.name}`,
      identity: this.identity,
    });
    leaderElectionMasterStatus.set({ name: this.#name }, 0);
  }

  isLeader(): boolean {
    return this.#leading;
  }

  /** Start campaigning in the background; returns at once. */
  start(): void {
    this.#loop ??= this.#run().catch((e: unknown) => {
      // Every expected failure is handled in the loop; reaching here is a bug worth surfacing.
      this.#log.error({ err: e }, 'leader election loop failed');
      this.#lose();
    });
  }

  /**
   * Stop campaigning; when leading, release the lease so another replica takes over at once.
   * The caller stops its controllers BEFORE this, so two leaders never work at the same time;
   * with `release: false` (work may still be running) the lease is kept and simply expires, so
   * the next leader starts only after the lease duration, never while this one works.
   */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    this.#stopping.abort();
    if (!this.#leading) return; // nothing to hand back; an attempt in flight cleans up after itself
    // Let a renewal in flight finish, so the release carries the latest resourceVersion; bounded,
    // as a hung API server must not hold up shutdown (the lease then simply expires).
    const bound = new AbortController();
    await Promise.race([this.#loop, this.#clock.sleep(this.#renewDeadlineMs, bound.signal)]);
    bound.abort();
    this.#cancelDeadline?.();
    if (this.isLeader()) {
      this.#leading = false;
      leaderElectionMasterStatus.set({ name: this.#name }, 0);
      if (opts.release !== false) await this.#release();
    }
  }

  async #run(): Promise<void> {
    const signal = this.#stopping.signal;
    this.#log.info({}, 'attempting to acquire leader lease');
    while (!signal.aborted && !(await this.#tryAcquireOrRenew())) {
      // Next attempt after a jittered retry period — or right when the holder's lease runs out,
      // if that comes first, so a take-over does not wait for the next retry tick.
      const retry = this.#retryPeriodMs * (1 + Math.random() * (JITTER - 1));
      const untilExpiry = Math.max(0, this.#heldUntil - this.#clock.now()) + EXPIRY_MARGIN_MS;
      if (!(await this.#wait(Math.min(retry, untilExpiry)))) return;
    }
    if (signal.aborted) {
      // The attempt that raced with stop() may have acquired the lease: hand it back.
      await this.#release();
      return;
    }
    this.#leading = true;
    leaderElectionMasterStatus.set({ name: this.#name }, 1);
    this.#log.info({}, 'acquired leader lease');
    this.#armDeadline();
    this.#opts.onStartedLeading();

    // Renew every retry period; the deadline timer ends leadership if renewals keep failing.
    while (this.isLeader() && (await this.#wait(this.#retryPeriodMs))) {
      // A renewal that ends after the deadline fired changes nothing: leadership is gone.
      if ((await this.#tryAcquireOrRenew()) && this.isLeader()) this.#armDeadline();
    }
  }

  /** Sleep; false when stop() was called meanwhile. */
  async #wait(ms: number): Promise<boolean> {
    await this.#clock.sleep(ms, this.#stopping.signal);
    return !this.#stopping.signal.aborted;
  }

  #armDeadline(): void {
    this.#cancelDeadline?.();
    this.#cancelDeadline = this.#clock.setTimer(() => {
      this.#log.error(
        { renewDeadlineMs: this.#renewDeadlineMs },
        'failed to renew leader lease within the renew deadline: leadership lost',
      );
      this.#lose();
    }, this.#renewDeadlineMs);
  }

  #lose(): void {
    this.#cancelDeadline?.();
    const wasLeading = this.#leading;
    this.#leading = false;
    leaderElectionMasterStatus.set({ name: this.#name }, 0);
    this.#stopping.abort();
    if (wasLeading) this.#opts.onStoppedLeading();
  }

  #observe(lease: Lease): void {
    const prev = this.#observed?.spec;
    const next = lease.spec;
    if (
      prev?.holderIdentity !== next?.holderIdentity ||
      prev?.renewTime !== next?.renewTime ||
      prev?.leaseDurationSeconds !== next?.leaseDurationSeconds
    ) {
      this.#observedAt = this.#clock.now();
    }
    this.#observed = lease;
    const holder = next?.holderIdentity ?? '';
    if (holder !== '' && holder !== this.#lastHolder) {
      this.#lastHolder = holder;
      this.#log.info({ holder }, 'new leader observed');
    }
  }

  /** One attempt; true when we hold the lease afterwards. Never throws. */
  async #tryAcquireOrRenew(): Promise<boolean> {
    this.#heldUntil = Infinity;
    const now = this.#clock.date();
    const desired: LeaseSpec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.round(this.#leaseDurationMs / 1000),
      acquireTime: toMicroTime(now),
      renewTime: toMicroTime(now),
      leaseTransitions: 0,
    };
    try {
      const current = await this.#client.get<Lease>(
        'coordination.k8s.io/v1',
        'Lease',
        this.#namespace,
        this.#name,
      );
      if (current === undefined) {
        const created = await this.#client.create<Lease>({
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.#name, namespace: this.#namespace },
          spec: desired,
        });
        this.#observe(created);
        return true;
      }
      this.#observe(current);
      const spec = current.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      const held = holder !== '' && holder !== this.identity;
      const validUntil = this.#observedAt + (spec.leaseDurationSeconds ?? 0) * 1000;
      if (held && validUntil > this.#clock.now()) {
        this.#heldUntil = validUntil;
        return false;
      }

      if (holder === this.identity) {
        desired.acquireTime = spec.acquireTime ?? desired.acquireTime;
        desired.leaseTransitions = spec.leaseTransitions ?? 0;
      } else {
        desired.leaseTransitions = (spec.leaseTransitions ?? 0) + 1;
      }
      const updated = await this.#client.update<Lease>({ ...current, spec: desired });
      this.#observe(updated);
      return true;
    } catch (e) {
      if (isConflict(e) || isAlreadyExists(e)) {
        this.#log.debug({}, 'lease changed under us; will retry');
      } else {
        this.#log.warn({ err: e }, 'error acquiring or renewing leader lease');
      }
      return false;
    }
  }

  /** client-go's release(): empty holder, 1 s duration, on the resourceVersion we hold. */
  async #release(): Promise<void> {
    const lease = this.#observed;
    if (lease?.spec?.holderIdentity !== this.identity) return;
    const now = toMicroTime(this.#clock.date());
    try {
      await this.#client.update<Lease>({
        ...lease,
        spec: {
          holderIdentity: '',
          leaseDurationSeconds: 1,
          acquireTime: now,
          renewTime: now,
          leaseTransitions: lease.spec.leaseTransitions ?? 0,
        },
      });
      this.#log.info({}, 'released leader lease');
    } catch (e) {
      // A conflict means someone else already holds it: nothing left to release.
      this.#log.warn({ err: e }, 'could not release leader lease; it will expire');
    }
  }
}
