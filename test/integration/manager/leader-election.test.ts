// Leader election across real operator processes (test/fixtures/operator-process.ts) against the
// test API server, with the production timings (lease 15 s, renew deadline 10 s, retry 2 s):
//
//   - of two replicas exactly one reconciles, the other is a warm stand-by;
//   - kill -9 of the leader → the stand-by reconciles within 20 s (lease expiry + one retry);
//   - SIGTERM of the leader → it finishes, releases the lease, exits 0, and the stand-by
//     reconciles within 5 s of the signal;
//   - an in-flight reconcile finishes before the lease is released;
//   - a leader that cannot renew (its lease taken over) stops within the renew deadline and
//     exits non-zero;
//   - --leader-elect=false reconciles without a Lease.
// Measured hand-over times are printed as test diagnostics.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { KubeObject } from '../../../src/kube/client.ts';
import type { Lease } from '../../../src/runtime/leaderelection.ts';
import { STAMP_ANNOTATION, STAMP_LABEL, STAMPER } from '../../fixtures/operator-process.ts';
import { eventually } from '../../harness/eventually.ts';
import { createTestNamespace } from '../../harness/namespace.ts';
import {
  adminClient,
  cleanUp,
  metricsReaderToken,
  probe,
  sample,
  scrape,
  startOperator,
} from './operator.ts';

const LEASE = 'frappe-operator.vyogo.tech';
const MASTER = `leader_election_master_status{name="${LEASE}"}`;
const RECONCILES = `controller_runtime_reconcile_total{controller="${STAMPER}",result="success"}`;

const client = adminClient();

async function createStamped(namespace: string, name: string): Promise<void> {
  await client.create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, labels: { [STAMP_LABEL]: 'true' } },
  });
}

async function stampOf(namespace: string, name: string): Promise<string | undefined> {
  const cm = await client.get<KubeObject>('v1', 'ConfigMap', namespace, name);
  return cm?.metadata.annotations?.[STAMP_ANNOTATION];
}

async function waitForStamp(
  namespace: string,
  name: string,
  identity: string,
  timeout: number,
): Promise<void> {
  await eventually(
    async () => {
      assert.equal(await stampOf(namespace, name), identity);
    },
    { timeout, interval: 50, message: `ConfigMap ${name} stamped by ${identity}` },
  );
}

async function leaseHolder(namespace: string): Promise<string | undefined> {
  const lease = await client.get<Lease>('coordination.k8s.io/v1', 'Lease', namespace, LEASE);
  return lease?.spec?.holderIdentity;
}

/**
 * Makes `intruder` the holder of the operator's Lease for an hour, written over the holder's last
 * renewal (an update carrying its resourceVersion, tried again if a renewal came in between);
 * returns the time of that last renewal (ms since the epoch, the holder's clock: this machine's).
 */
async function takeOverLease(namespace: string): Promise<number> {
  return eventually(
    async () => {
      const lease = await client.get<Lease>('coordination.k8s.io/v1', 'Lease', namespace, LEASE);
      const renewTime = lease?.spec?.renewTime;
      if (lease === undefined || renewTime === undefined) throw new Error('no renewed Lease');
      await client.update<Lease>({
        ...lease,
        spec: { ...lease.spec, holderIdentity: 'intruder', leaseDurationSeconds: 3600 },
      });
      return Date.parse(renewTime);
    },
    { timeout: 30_000, interval: 50, message: `Lease ${namespace}/${LEASE} taken over` },
  );
}

const seconds = (since: number): number => Math.round(performance.now() - since) / 1000;

describe('manager: leader election across operator processes', { concurrency: true }, () => {
  after(cleanUp);

  it('one replica reconciles; kill -9 and SIGTERM hand over within 20 s and 5 s', async (t) => {
    const ns = await createTestNamespace('mgr-handover');
    const token = await metricsReaderToken(ns);
    const a = await startOperator({ namespace: ns });
    await a.waitForLog('acquired leader lease');
    const b = await startOperator({ namespace: ns });
    await b.waitForLog('new leader observed');

    await createStamped(ns, 'one');
    await createStamped(ns, 'two');
    await waitForStamp(ns, 'one', a.identity, 15_000);
    await waitForStamp(ns, 'two', a.identity, 15_000);
    assert.equal(await leaseHolder(ns), a.identity);

    // b is a warm stand-by: ready (caches synced), not leading, and has reconciled nothing.
    await eventually(async () => {
      assert.equal((await probe(b.healthPort, '/readyz')).status, 200);
    });
    const am = (await scrape(a.metricsPort, token)).body;
    const bm = (await scrape(b.metricsPort, token)).body;
    assert.equal(sample(am, MASTER), 1);
    assert.equal(sample(bm, MASTER), 0);
    assert.ok((sample(am, RECONCILES) ?? 0) >= 2, 'the leader reconciled both');
    assert.equal(sample(bm, RECONCILES), undefined, 'the stand-by never reconciled');
    assert.equal(b.lines.filter((l) => l.msg === 'stamped').length, 0);

    // kill -9: no release; the stand-by must wait out the lease (15 s) and then retry.
    const killedAt = performance.now();
    process.kill(a.pid, 'SIGKILL');
    await createStamped(ns, 'three');
    await waitForStamp(ns, 'three', b.identity, 25_000);
    const killHandOver = seconds(killedAt);
    t.diagnostic(`kill -9 hand-over: ${killHandOver} s`);
    assert.ok(killHandOver < 20, `kill -9 hand-over took ${killHandOver} s`);
    await waitForStamp(ns, 'one', b.identity, 30_000); // the new leader re-reconciles everything
    assert.deepEqual(await a.exited, { code: null, signal: 'SIGKILL' });

    // SIGTERM: the leader drains, releases the lease, exits 0; the stand-by takes over at once.
    const c = await startOperator({ namespace: ns });
    await c.waitForLog('new leader observed');
    await eventually(async () => {
      assert.equal((await probe(c.healthPort, '/readyz')).status, 200);
    });
    const termAt = performance.now();
    process.kill(b.pid, 'SIGTERM');
    await createStamped(ns, 'four');
    await waitForStamp(ns, 'four', c.identity, 10_000);
    const termHandOver = seconds(termAt);
    t.diagnostic(`SIGTERM hand-over: ${termHandOver} s`);
    assert.ok(termHandOver < 5, `SIGTERM hand-over took ${termHandOver} s`);
    assert.deepEqual(await b.exited, { code: 0, signal: null });
    assert.ok(b.lines.some((l) => l.msg === 'released leader lease'));
    assert.equal(await leaseHolder(ns), c.identity);
  });

  it('lets an in-flight reconcile finish on SIGTERM before releasing the lease', async () => {
    const ns = await createTestNamespace('mgr-drain');
    const a = await startOperator({ namespace: ns, env: { FIXTURE_RECONCILE_DELAY_MS: '3000' } });
    await a.waitForLog('acquired leader lease');
    await createStamped(ns, 'slow');
    await a.waitForLog('reconcile started');
    process.kill(a.pid, 'SIGTERM');
    assert.deepEqual(await a.exited, { code: 0, signal: null });
    assert.equal(await stampOf(ns, 'slow'), a.identity);
    const order = a.lines.map((l) => l.msg);
    assert.ok(order.indexOf('stamped') < order.indexOf('released leader lease'), order.join(' | '));
    assert.equal(await leaseHolder(ns), '');
  });

  it('stops at once and exits non-zero when the lease cannot be renewed', async (t) => {
    const ns = await createTestNamespace('mgr-lost');
    const a = await startOperator({ namespace: ns });
    await a.waitForLog('acquired leader lease');
    // Another holder with a long lease: every renewal now fails.
    const renewedAt = await takeOverLease(ns);
    const { code } = await a.exited;
    const exitedAt = Date.now();
    assert.equal(code, 1);
    const lost = a.lines.find((l) => l.msg.includes('leadership lost'));
    assert.ok(lost, JSON.stringify(a.lines.slice(-5)));
    const lostAt = Date.parse(String(lost.time));
    const lostAfter = lostAt - renewedAt;
    t.diagnostic(
      `leadership lost ${lostAfter} ms after the last renewal, exit ${exitedAt - lostAt} ms later`,
    );
    // The renew deadline (10 s) counts from the last successful renewal, whose renewTime is
    // taken just before it is sent: never sooner (1 ms: both times are truncated to the ms),
    // later only by that request's duration and a busy machine's late timer (a deadline of the
    // lease duration, 15 s, would fail this).
    assert.ok(lostAfter >= 10_000 - 1 && lostAfter < 13_000, `lost ${lostAfter} ms after renewal`);
    assert.ok(exitedAt - lostAt < 5000, `exited ${exitedAt - lostAt} ms after losing the lease`);
    assert.equal(await leaseHolder(ns), 'intruder', 'a lost lease is not released');
  });

  it('reconciles without a Lease with --leader-elect=false', async () => {
    const ns = await createTestNamespace('mgr-noelect');
    const a = await startOperator({ namespace: ns, leaderElect: false });
    await createStamped(ns, 'x');
    await waitForStamp(ns, 'x', a.identity, 15_000);
    assert.equal(await leaseHolder(ns), undefined);
    process.kill(a.pid, 'SIGTERM');
    assert.deepEqual(await a.exited, { code: 0, signal: null });
  });
});
