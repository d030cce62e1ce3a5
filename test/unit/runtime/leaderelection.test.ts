// Unit tests of Lease leader election against an in-memory Lease API with the API server's
// optimistic concurrency (resourceVersion → 409 Conflict, create → 409 AlreadyExists): one
// leader among several, renewals, loss at the renew deadline even while a request hangs,
// release on stop with a fast hand-over, and leader_election_master_status. Time is a fake
// clock the tests advance, so the timings asserted are exact whatever the load of the machine;
// the real-time claims are in test/integration/manager.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeApiError, type KubeObject } from '../../../src/kube/client.ts';
import {
  LeaderElector,
  type Lease,
  type LeaseClient,
  type LeaseSpec,
} from '../../../src/runtime/leaderelection.ts';
import { registry } from '../../../src/runtime/metrics.ts';
import { FakeClock } from './fake-clock.ts';

/** One Lease object with resourceVersion semantics; remembers when it was last written. */
class LeaseStore {
  lease: Lease | undefined;
  #rv = 0;
  writes = 0;
  lastWriteAt = -1;
  readonly clock: FakeClock;

  constructor(clock: FakeClock) {
    this.clock = clock;
  }

  spec(): LeaseSpec {
    return this.lease?.spec ?? {};
  }
  get(): Lease | undefined {
    return structuredClone(this.lease);
  }
  create(obj: Lease): Lease {
    if (this.lease !== undefined) throw new KubeApiError('exists', 409, 'AlreadyExists');
    return this.#write(obj);
  }
  update(obj: Lease): Lease {
    if (this.lease === undefined) throw new KubeApiError('not found', 404, 'NotFound');
    if (obj.metadata.resourceVersion !== this.lease.metadata.resourceVersion) {
      throw new KubeApiError('conflict', 409, 'Conflict');
    }
    return this.#write(obj);
  }
  #write(obj: Lease): Lease {
    this.lease = {
      ...structuredClone(obj),
      metadata: { ...obj.metadata, resourceVersion: String(++this.#rv) },
    };
    this.writes++;
    this.lastWriteAt = this.clock.now();
    return structuredClone(this.lease);
  }
}

type Network = 'up' | 'failing' | 'hanging';

/** A replica's view of the store: when it read which renewTime. */
interface Read {
  at: number;
  renewTime: string | undefined;
}

/** A client of the store whose network can fail (errors) or hang (requests never answer). */
function clientOf(store: LeaseStore): {
  client: LeaseClient;
  network: { state: Network };
  reads: Read[];
} {
  const network = { state: 'up' as Network };
  const reads: Read[] = [];
  const call = async <R>(f: () => R): Promise<R> => {
    await Promise.resolve();
    if (network.state === 'failing') throw new Error('connect ECONNREFUSED');
    if (network.state === 'hanging') return new Promise<R>(() => undefined);
    return f();
  };
  const client: LeaseClient = {
    get: <T extends KubeObject>() =>
      call(() => {
        const lease = store.get();
        reads.push({ at: store.clock.now(), renewTime: lease?.spec?.renewTime });
        return lease as T | undefined;
      }),
    create: <T extends KubeObject>(obj: T) =>
      call(() => store.create(obj as Lease) as unknown as T),
    update: <T extends KubeObject>(obj: T) =>
      call(() => store.update(obj as Lease) as unknown as T),
  };
  return { client, network, reads };
}

const timings = { leaseDurationMs: 1000, renewDeadlineMs: 400, retryPeriodMs: 100 };
/** A stand-by polls every retry period × up to client-go's jitter factor 1.2. */
const POLL_MS = timings.retryPeriodMs * 1.2;

interface Replica {
  elector: LeaderElector;
  network: { state: Network };
  reads: Read[];
  started: number;
  lost: number;
}

function replica(store: LeaseStore, id: string, name = 'test-lease'): Replica {
  const { client, network, reads } = clientOf(store);
  const r: Replica = {
    elector: undefined as unknown as LeaderElector,
    network,
    reads,
    started: 0,
    lost: 0,
  };
  r.elector = new LeaderElector({
    client,
    namespace: 'ns',
    name,
    identity: id,
    ...timings,
    clock: store.clock,
    onStartedLeading: () => r.started++,
    onStoppedLeading: () => r.lost++,
  });
  return r;
}

/** A leader `a` of a fresh lease `name`, on a fresh clock. */
async function leaderA(name: string): Promise<{ store: LeaseStore; a: Replica }> {
  const store = new LeaseStore(new FakeClock());
  const a = replica(store, 'a', name);
  a.elector.start();
  await store.clock.until(() => a.elector.isLeader(), 1000, 'a leads');
  return { store, a };
}

async function masterStatus(name: string): Promise<number | undefined> {
  const m = await registry.getSingleMetric('leader_election_master_status')?.get();
  return m?.values.find((v) => v.labels.name === name)?.value;
}

describe('LeaderElector', () => {
  it('elects exactly one of three replicas, which keeps renewing', async () => {
    const store = new LeaseStore(new FakeClock());
    const { clock } = store;
    const rs = ['a', 'b', 'c'].map((id) => replica(store, id));
    rs.forEach((r) => {
      r.elector.start();
    });
    const leaders = () => rs.filter((r) => r.elector.isLeader());
    try {
      await clock.until(() => leaders().length === 1, 3000, 'one leader');
      const leader = leaders()[0];
      assert.ok(leader);
      assert.equal(store.spec().holderIdentity, leader.elector.identity);
      assert.equal(store.spec().leaseDurationSeconds, 1);
      assert.match(store.spec().renewTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      const renew1 = store.spec().renewTime;
      // Twice the lease duration: renewals keep the others out.
      await clock.advance(2 * timings.leaseDurationMs);
      assert.notEqual(store.spec().renewTime, renew1);
      assert.ok(clock.now() - store.lastWriteAt <= timings.retryPeriodMs, 'renewed every period');
      assert.deepEqual(rs.map((r) => r.started).sort(), [0, 0, 1]);
      assert.deepEqual(leaders(), [leader]);
      assert.equal(await masterStatus('test-lease'), 1);
    } finally {
      await Promise.all(rs.map((r) => r.elector.stop()));
    }
  });

  it('stops leading at the renew deadline while a renewal hangs, and another replica takes over after the lease duration', async () => {
    const { store, a } = await leaderA('hang-lease');
    const { clock } = store;
    const b = replica(store, 'b', 'hang-lease');
    b.elector.start();
    try {
      await clock.advance(250); // a renews meanwhile; b sees it as the holder
      a.network.state = 'hanging';
      const renewedAt = store.lastWriteAt;
      const renewTime = store.spec().renewTime;
      const lostAt = await clock.until(() => a.lost === 1, 2000, 'a loses the lease');
      assert.equal(a.elector.isLeader(), false);
      // The deadline counts from the last successful renewal, and fires while a request hangs.
      assert.equal(lostAt - renewedAt, timings.renewDeadlineMs);
      assert.equal(b.started, 0, 'a stopped before anyone else could lead');

      const takeover = await clock.until(() => b.elector.isLeader(), 3000, 'b takes over');
      // b judges expiry from when it first saw that renewal (its clock, not a's renewTime), and
      // tries right when that lease runs out (the elector aims 50 ms past it) rather than at its
      // next retry tick.
      const seen = b.reads.find((r) => r.renewTime === renewTime)?.at;
      assert.ok(seen !== undefined && seen - renewedAt <= POLL_MS, `b saw the renewal at ${seen}`);
      const after = takeover - seen;
      assert.ok(after >= timings.leaseDurationMs, `took over ${after} ms after`);
      assert.ok(after <= timings.leaseDurationMs + timings.retryPeriodMs / 2, `after ${after} ms`);
      assert.equal(store.spec().holderIdentity, 'b');
      assert.equal(store.spec().leaseTransitions, 1);
    } finally {
      a.network.state = 'up';
      await Promise.all([a.elector.stop(), b.elector.stop()]);
    }
  });

  it('loses leadership when renewals fail with errors', async () => {
    const { store, a } = await leaderA('fail-lease');
    try {
      a.network.state = 'failing';
      const renewedAt = store.lastWriteAt;
      const lostAt = await store.clock.until(() => a.lost === 1, 2000, 'a loses the lease');
      assert.equal(lostAt - renewedAt, timings.renewDeadlineMs);
      assert.equal(await masterStatus('fail-lease'), 0);
    } finally {
      await a.elector.stop();
    }
  });

  it('releases the lease on stop so a waiting replica takes over within a retry period', async () => {
    const { store, a } = await leaderA('release-lease');
    const { clock } = store;
    const b = replica(store, 'b', 'release-lease');
    b.elector.start();
    try {
      await clock.advance(250); // b has seen a as a valid holder
      assert.equal(b.elector.isLeader(), false);
      const t0 = clock.now();
      await a.elector.stop();
      assert.equal(a.lost, 0, 'a graceful stop is not a loss');
      assert.equal(store.spec().holderIdentity, '');
      const handOver = (await clock.until(() => b.elector.isLeader(), 2000, 'b takes over')) - t0;
      assert.ok(handOver <= POLL_MS, `hand-over took ${handOver} ms`);
      assert.equal(store.spec().leaseTransitions, 1);
    } finally {
      await b.elector.stop();
    }
  });

  it('stop without release keeps the lease until it expires: no replica leads meanwhile', async () => {
    const { store, a } = await leaderA('keep-lease');
    const { clock } = store;
    const b = replica(store, 'b', 'keep-lease');
    b.elector.start();
    try {
      await clock.advance(250);
      const t0 = clock.now();
      await a.elector.stop({ release: false });
      assert.equal(a.elector.isLeader(), false);
      assert.equal(store.spec().holderIdentity, 'a', 'the lease is not handed back');
      await clock.advance(timings.leaseDurationMs / 2);
      assert.equal(b.elector.isLeader(), false, 'b waits while the lease is valid');
      const takeOver = (await clock.until(() => b.elector.isLeader(), 30_000, 'b takes over')) - t0;
      // The lease was last renewed at most a retry period before the stop.
      const earliest = timings.leaseDurationMs - timings.retryPeriodMs;
      assert.ok(takeOver >= earliest, `b took over after ${takeOver} ms`);
    } finally {
      await b.elector.stop();
    }
  });

  it('does not release a lease it does not hold', async () => {
    const { store, a } = await leaderA('norelease-lease');
    const b = replica(store, 'b', 'norelease-lease');
    b.elector.start();
    await store.clock.advance(150);
    const writes = store.writes;
    await b.elector.stop();
    assert.equal(store.spec().holderIdentity, 'a');
    assert.equal(store.writes, writes, 'b wrote nothing');
    await a.elector.stop();
    assert.equal(store.spec().holderIdentity, '');
  });

  it('rejects inconsistent timings', () => {
    const { client } = clientOf(new LeaseStore(new FakeClock()));
    assert.throws(
      () =>
        new LeaderElector({
          client,
          namespace: 'ns',
          name: 'x',
          leaseDurationMs: 1000,
          renewDeadlineMs: 2000,
          onStartedLeading: () => undefined,
          onStoppedLeading: () => undefined,
        }),
      /leaseDuration > renewDeadline > retryPeriod/,
    );
  });
});
