// Site reconcile concurrency (API.md §4.1; the guide's "Site reconciliation concurrency"): the
// site worker pool is max(maxConcurrentSiteReconciles, the largest siteReconcileConcurrency of
// all benches), and follows the ConfigMap and bench changes without an operator restart.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { until } from '../../harness/eventually.ts';
import { kubectl } from '../../harness/kubectl.ts';
import { applyOurCrds, createTestNamespace, deleteNamespace } from '../../harness/namespace.ts';
import { loadManifest, MANIFESTS } from '../../../src/dev/guide/guide.ts';
import { apply } from '../bench/support.ts';
import { startSiteOperator, type RunningSiteOperator } from './support.ts';

describe('site reconcile concurrency', () => {
  let ns = '';
  let op: RunningSiteOperator | undefined;
  before(async () => {
    await applyOurCrds();
    ns = await createTestNamespace('site-concurrency');
    op = await startSiteOperator(ns, { FRAPPE_MAX_CONCURRENT_SITE_RECONCILES: '4' });
  });
  after(async () => {
    await op?.stop();
    await deleteNamespace(ns);
  });

  it('follows the env, the guide per-bench hint and ConfigMap changes without a restart', async () => {
    const sites = op?.sites;
    assert.ok(sites !== undefined && op !== undefined);
    assert.equal(sites.maxConcurrentReconciles, 4, 'FRAPPE_MAX_CONCURRENT_SITE_RECONCILES');
    // The guide's per-bench override: siteReconcileConcurrency: 20.
    const fixture = MANIFESTS.find((m) => m.file === 'prod-bench-site-concurrency.yaml');
    assert.ok(fixture !== undefined);
    const bench = await loadManifest(fixture);
    await apply({ ...bench, metadata: { name: 'prod-bench' } }, ns);
    await until(
      () => sites.maxConcurrentReconciles === 20,
      'the bench hint raises the pool to 20',
      {
        timeout: 30_000,
      },
    );
    // The ConfigMap (maxConcurrentSiteReconciles: "30") wins when larger ...
    op.holder.update({ maxConcurrentSiteReconciles: '30' });
    assert.equal(sites.maxConcurrentReconciles, 30);
    // ... and the bench hint again when the ConfigMap value drops below it.
    op.holder.update({ maxConcurrentSiteReconciles: '10' });
    assert.equal(sites.maxConcurrentReconciles, 20);
    await kubectl(['delete', 'frappebench', 'prod-bench', '--wait=false'], { namespace: ns });
    await until(
      () => sites.maxConcurrentReconciles === 10,
      'without the bench: the ConfigMap value',
      {
        timeout: 30_000,
      },
    );
  });
});
