// Unit tests of Lease leader election against an in-memory Lease API with the API server's
// optimistic concurrency (resourceVersion → 409 Conflict, create → 409 AlreadyExists): one
// leader among several, renewals, loss at the renew deadline even while a request hangs,
// release on stop with a fast hand-over, and leader_election_master_status. Timings are scaled
// down (lease 1 s, renew deadline 400 ms, retry 100 ms); the real-time claims are in
// test/integration/manager.
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
import { eventually } from '../../harness/eventually.ts';

/** One Lease object with resourceVersion semantics. */
class LeaseStore {
  lease: Lease | undefined;
  #rv = 0;
  writes = 0;

  spec(): LeaseSpec {
    return this.lease?.spec ?? {};
  }
  get(): Lease | undefined {
    return structuredClone(this.lease);
  }
  create(obj: Lease): Lease {
    if (this.lease !== undefined) throw new KubeApiError('exists', 409, 'AlreadyExists');
    this.lease = {
      ...structuredClone(obj),
      metadata: { ...obj.metadata, resourceVersion: String(++this.#rv) },
    };
    this.writes++;
    return structuredClone(this.lease);
  }
  update(obj: Lease): Lease {
    if (this.lease === undefined) throw new KubeApiError('not found', 404, 'NotFound');
    if (obj.metadata.resourceVersion !== this.lease.metadata.resourceVersion) {
      throw new KubeApiError('conflict', 409, 'Conflict');
    }
    this.lease = {
      ...structuredClone(obj),
      metadata: { ...obj.metadata, resourceVersion: String(++this.#rv) },
    };
    this.writes++;
    return structuredClone(this.lease);
  }
}

type Network = 'up' | 'failing' | 'hanging';

/** A client of the store whose network can fail (errors) or hang (requests never answer). */
function clientOf(store: LeaseStore): { client: LeaseClient; network: { state: Network } } {
  const network = { state: 'up' as Network };
  const call = async <R>(f: () => R): Promise<R> => {
    await Promise.resolve();
    if (network.state === 'failing') throw new Error('connect ECONNREFUSED');
    if (network.state === 'hanging') return new Promise<R>(() => undefined);
    return f();
  };
  const client: LeaseClient = {
    get: <T extends KubeObject>() => call(() => store.get() as T | undefined),
    create: <T extends KubeObject>(obj: T) =>
      call(() => store.create(obj as Lease) as unknown as T),
    update: <T extends KubeObject>(obj: T) =>
      call(() => store.update(obj as Lease) as unknown as T),
  };
  return { client, network };
}

const timings = { leaseDurationMs: 1000, renewDeadlineMs: 400, retryPeriodMs: 100 };

interface Replica {
  elector: LeaderElector;
  network: { state: Network };
  started: number;
  lost: number;
}

function replica(store: LeaseStore, id: string, name = 'test-lease'): Replica {
  const { client, network } = clientOf(store);
  const r: Replica = {
    elector: undefined as unknown as LeaderElector,
    network,
    started: 0,
    lost: 0,
  };
  r.elector = new LeaderElector({
    client,
    namespace: 'ns',
    name,
    identity: id,
    ...timings,
    onStartedLeading: () => r.started++,
    onStoppedLeading: () => r.lost++,
  });
  return r;
}

async function masterStatus(name: string): Promise<number | undefined> {
  const m = await registry.getSingleMetric('leader_election_master_status')?.get();
  return m?.values.find((v) => v.labels.name === name)?.value;
}

describe('LeaderElector', () => {
  it('elects exactly one of three replicas, which keeps renewing', async () => {
    const store = new LeaseStore();
    const rs = ['a', 'b', 'c'].map((id) => replica(store, id));
    rs.forEach((r) => {
      r.elector.start();
    });
    try {
      await eventually(
        () => {
          assert.equal(rs.filter((r) => r.elector.isLeader()).length, 1);
        },
        {
          timeout: 3000,
          interval: 10,
        },
      );
      const leader = rs.find((r) => r.elector.isLeader());
      assert.ok(leader);
      assert.equal(store.spec().holderIdentity, leader.elector.identity);
      assert.equal(store.spec().leaseDurationSeconds, 1);
      assert.match(store.spec().renewTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      const renew1 = store.spec().renewTime;
      // Longer than the lease duration: renewals keep the others out.
      await new Promise((r) => setTimeout(r, 900));
      assert.notEqual(store.spec().renewTime, renew1);
      assert.deepEqual(rs.map((r) => r.started).sort(), [0, 0, 1]);
      assert.equal(rs.filter((r) => r.elector.isLeader()).length, 1);
      assert.equal(await masterStatus('test-lease'), 1);
    } finally {
      await Promise.all(rs.map((r) => r.elector.stop()));
    }
  });

  it('stops leading at the renew deadline while a renewal hangs, and another replica takes over after the lease duration', async () => {
    const store = new LeaseStore();
    const a = replica(store, 'a', 'hang-lease');
    a.elector.start();
    await eventually(
      () => {
        assert.ok(a.elector.isLeader());
      },
      { timeout: 2000, interval: 10 },
    );
    const b = replica(store, 'b', 'hang-lease');
    b.elector.start();
    try {
      const cut = performance.now();
      a.network.state = 'hanging';
      await eventually(
        () => {
          assert.equal(a.lost, 1);
        },
        { timeout: 2000, interval: 5 },
      );
      const lostAfter = performance.now() - cut;
      assert.equal(a.elector.isLeader(), false);
      // Deadline counts from the last successful renewal, at most one retry period before the cut.
      assert.ok(lostAfter <= timings.renewDeadlineMs + 50, `lost after ${lostAfter} ms`);
      assert.ok(
        lostAfter >= timings.renewDeadlineMs - timings.retryPeriodMs * 1.2 - 20,
        `lost after ${lostAfter} ms`,
      );
      await eventually(
        () => {
          assert.ok(b.elector.isLeader());
        },
        { timeout: 3000, interval: 10 },
      );
      // b's view of the last renewal is at most one of its polls (≤ 120 ms) away from the cut,
      // and it tries right when that lease runs out, not at its next retry tick.
      const takeover = performance.now() - cut;
      const poll = timings.retryPeriodMs * 1.2;
      assert.ok(takeover >= timings.leaseDurationMs - poll, `took over after ${takeover} ms`);
      assert.ok(takeover <= timings.leaseDurationMs + poll + 80, `took over after ${takeover} ms`);
      assert.equal(store.spec().holderIdentity, 'b');
      assert.equal(store.spec().leaseTransitions, 1);
    } finally {
      a.network.state = 'up';
      await Promise.all([a.elector.stop(), b.elector.stop()]);
    }
  });

  it('loses leadership when renewals fail with errors', async () => {
    const store = new LeaseStore();
    const a = replica(store, 'a', 'fail-lease');
    a.elector.start();
    try {
      await eventually(
        () => {
          assert.ok(a.elector.isLeader());
        },
        { timeout: 2000, interval: 10 },
      );
      a.network.state = 'failing';
      await eventually(
        () => {
          assert.equal(a.lost, 1);
        },
        { timeout: 2000, interval: 10 },
      );
      assert.equal(await masterStatus('fail-lease'), 0);
    } finally {
      await a.elector.stop();
    }
  });

  it('releases the lease on stop so a waiting replica takes over within a retry period', async () => {
    const store = new LeaseStore();
    const a = replica(store, 'a', 'release-lease');
    a.elector.start();
    await eventually(
      () => {
        assert.ok(a.elector.isLeader());
      },
      { timeout: 2000, interval: 10 },
    );
    const b = replica(store, 'b', 'release-lease');
    b.elector.start();
    try {
      await new Promise((r) => setTimeout(r, 250)); // b has seen a as a valid holder
      assert.equal(b.elector.isLeader(), false);
      const t0 = performance.now();
      await a.elector.stop();
      assert.equal(a.lost, 0, 'a graceful stop is not a loss');
      assert.equal(store.spec().holderIdentity === 'b' || store.spec().holderIdentity === '', true);
      await eventually(
        () => {
          assert.ok(b.elector.isLeader());
        },
        { timeout: 2000, interval: 5 },
      );
      const handOver = performance.now() - t0;
      assert.ok(handOver < timings.retryPeriodMs * 1.2 + 100, `hand-over took ${handOver} ms`);
      assert.equal(store.spec().leaseTransitions, 1);
    } finally {
      await b.elector.stop();
    }
  });

  it('does not release a lease it does not hold', async () => {
    const store = new LeaseStore();
    const a = replica(store, 'a', 'norelease-lease');
    a.elector.start();
    await eventually(
      () => {
        assert.ok(a.elector.isLeader());
      },
      { timeout: 2000, interval: 10 },
    );
    const b = replica(store, 'b', 'norelease-lease');
    b.elector.start();
    await new Promise((r) => setTimeout(r, 150));
    const writes = store.writes;
    const renewTime = store.spec().renewTime;
    await b.elector.stop();
    assert.equal(store.spec().holderIdentity, 'a');
    assert.ok(store.writes - writes <= 2, 'only a renewed meanwhile');
    assert.ok(store.spec().renewTime !== undefined && renewTime !== undefined);
    await a.elector.stop();
    assert.equal(store.spec().holderIdentity, '');
  });

  it('rejects inconsistent timings', () => {
    const { client } = clientOf(new LeaseStore());
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
