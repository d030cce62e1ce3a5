// The bench, site and SiteBackup gauges (src/controllers/{bench,site,backup}/metrics.ts): computed from the cache at
// every scrape, so they follow creates, updates and deletes exactly, only while the controller
// runs (the leader), and forget a stopped controller's cache.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FrappeBench, FrappeSite, SiteBackup } from '../../../src/api/v1alpha1/index.ts';
import { exportBackupMetrics } from '../../../src/controllers/backup/metrics.ts';
import { exportBenchMetrics } from '../../../src/controllers/bench/metrics.ts';
import { exportSiteMetrics, migrationFailed } from '../../../src/controllers/site/metrics.ts';
import type { Stored } from '../../../src/kube/informer.ts';
import { registry } from '../../../src/runtime/metrics.ts';

type State = 'new' | 'running' | 'stopped';

/** A fake cache: a mutable map of objects and a controller state. */
function source<T extends FrappeBench | FrappeSite | SiteBackup>() {
  const objects = new Map<string, Stored<T>>();
  const controller = { state: 'running' as State };
  return {
    objects,
    controller,
    list: () => [...objects.values()],
    put(o: Stored<T>) {
      objects.set(`${o.metadata.namespace}/${o.metadata.name}`, o);
    },
  };
}

const meta = (namespace: string, name: string) => ({
  namespace,
  name,
  uid: `${namespace}-${name}`,
  resourceVersion: '1',
});

const bench = (ns: string, name: string, phase?: string): Stored<FrappeBench> =>
  ({
    apiVersion: 'vyogo.tech/v1alpha1',
    kind: 'FrappeBench',
    metadata: meta(ns, name),
    spec: {},
    ...(phase === undefined ? {} : { status: { phase } }),
  }) as Stored<FrappeBench>;

const condition = (type: string, status: 'True' | 'False', reason: string) => ({
  type,
  status,
  reason,
  message: '',
  lastTransitionTime: '2026-01-01T00:00:00Z',
});

const site = (
  ns: string,
  name: string,
  opts: { phase?: string; ready?: boolean; migrationFailed?: boolean } = {},
): Stored<FrappeSite> =>
  ({
    apiVersion: 'vyogo.tech/v1alpha1',
    kind: 'FrappeSite',
    metadata: meta(ns, name),
    spec: { siteName: `${name}.example.com`, benchRef: { name: 'b1' } },
    status: {
      ...(opts.phase === undefined ? {} : { phase: opts.phase }),
      conditions: [
        condition('Ready', opts.ready === true ? 'True' : 'False', 'x'),
        condition(
          'Degraded',
          opts.migrationFailed === true ? 'True' : 'False',
          opts.migrationFailed === true ? 'MigrationFailed' : 'AsExpected',
        ),
      ],
    },
  }) as Stored<FrappeSite>;

/** The series of `name` in a scrape, as `{labels} value` lines, sorted. */
async function series(name: string): Promise<string[]> {
  const text = await registry.metrics();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .map((l) => l.slice(name.length))
    .sort();
}

describe('bench and site gauges', () => {
  it('follow creates, updates and deletes of benches, and only while the controller runs', async () => {
    const s = source<FrappeBench>();
    exportBenchMetrics(s);
    s.put(bench('ns-b', 'b1'));
    s.put(bench('ns-b', 'b2', 'Ready'));
    const b1 = await series('frappe_operator_bench_phase');
    assert.ok(b1.includes('{namespace="ns-b",name="b1",phase="Pending"} 1'), b1.join('\n'));
    assert.ok(b1.includes('{namespace="ns-b",name="b1",phase="Ready"} 0'));
    assert.ok(b1.includes('{namespace="ns-b",name="b2",phase="Ready"} 1'));
    assert.equal(b1.filter((l) => l.includes('name="b2"')).length, 6, 'one series per phase');
    let counts = await series('frappe_operator_benches');
    assert.ok(counts.includes('{namespace="ns-b",phase="Pending"} 1'), counts.join('\n'));
    assert.ok(counts.includes('{namespace="ns-b",phase="Ready"} 1'));
    assert.ok(counts.includes('{namespace="ns-b",phase="Failed"} 0'));

    s.put(bench('ns-b', 'b1', 'Ready'));
    counts = await series('frappe_operator_benches');
    assert.ok(counts.includes('{namespace="ns-b",phase="Ready"} 2'), counts.join('\n'));
    assert.ok(counts.includes('{namespace="ns-b",phase="Pending"} 0'));

    s.objects.clear();
    assert.deepEqual(await series('frappe_operator_bench_phase'), [], 'no stale series');
    assert.deepEqual(await series('frappe_operator_benches'), []);

    s.put(bench('ns-b', 'b3', 'Ready'));
    s.controller.state = 'new'; // a stand-by replica: warm cache, no series
    assert.deepEqual(await series('frappe_operator_bench_phase'), []);
    s.controller.state = 'stopped';
    assert.deepEqual(await series('frappe_operator_bench_phase'), []);
    s.controller.state = 'running'; // never happens; shows the stopped source was dropped
    assert.deepEqual(await series('frappe_operator_bench_phase'), []);
  });

  it('export site phase, Ready, bench and a failed migration, and drop deleted sites', async () => {
    const s = source<FrappeSite>();
    exportSiteMetrics(s);
    s.put(site('ns-s', 'a', { phase: 'Ready', ready: true }));
    s.put(site('ns-s', 'c', { phase: 'Provisioning', migrationFailed: true }));
    assert.deepEqual(await series('frappe_operator_site_ready'), [
      '{namespace="ns-s",name="a",bench="b1"} 1',
      '{namespace="ns-s",name="c",bench="b1"} 0',
    ]);
    assert.deepEqual(await series('frappe_operator_site_migration_failed'), [
      '{namespace="ns-s",name="a"} 0',
      '{namespace="ns-s",name="c"} 1',
    ]);
    const phases = await series('frappe_operator_site_phase');
    assert.ok(phases.includes('{namespace="ns-s",name="c",phase="Provisioning"} 1'));
    const counts = await series('frappe_operator_sites');
    assert.ok(counts.includes('{namespace="ns-s",phase="Ready"} 1'), counts.join('\n'));
    assert.ok(counts.includes('{namespace="ns-s",phase="Restoring"} 0'));

    s.objects.delete('ns-s/c');
    assert.deepEqual(await series('frappe_operator_site_migration_failed'), [
      '{namespace="ns-s",name="a"} 0',
    ]);
    assert.deepEqual(await series('frappe_operator_site_ready'), [
      '{namespace="ns-s",name="a",bench="b1"} 1',
    ]);
    s.controller.state = 'stopped';
    assert.deepEqual(await series('frappe_operator_site_ready'), []);
  });

  it('reads a failed migration only from Degraded True with reason MigrationFailed', () => {
    assert.equal(migrationFailed(site('n', 's', { migrationFailed: true })), true);
    assert.equal(migrationFailed(site('n', 's')), false);
    const other = site('n', 's');
    other.status = { conditions: [condition('Degraded', 'True', 'JobFailed')] };
    assert.equal(migrationFailed(other), false);
  });
});

describe('SiteBackup gauges', () => {
  const backup = (name: string, status: SiteBackup['status']): Stored<SiteBackup> => ({
    apiVersion: 'vyogo.tech/v1alpha1',
    kind: 'SiteBackup',
    metadata: meta('ns-k', name),
    spec: { site: 'shop' },
    status,
  });

  it('give the newest success and its size, per SiteBackup, and nothing before one', async () => {
    const src = source<SiteBackup>();
    exportBackupMetrics(src);
    const at = '2026-12-05T02:00:00Z';
    src.put(
      backup('nightly', {
        site: 'shop',
        lastSuccessfulBackup: at,
        recentBackups: [
          { jobName: 'j3', state: 'Failed', completionTime: '2026-12-06T02:00:00Z' },
          { jobName: 'j2', state: 'Succeeded', completionTime: at, sizeBytes: 4096 },
          {
            jobName: 'j1',
            state: 'Succeeded',
            completionTime: '2026-12-04T02:00:00Z',
            sizeBytes: 1,
          },
        ],
      }),
    );
    src.put(backup('fresh', { site: 'shop' }));
    const labels = '{namespace="ns-k",sitebackup="nightly",site="shop"}';
    assert.deepEqual(await series('frappe_operator_backup_last_success_timestamp_seconds'), [
      `${labels} ${String(Date.parse(at) / 1000)}`,
    ]);
    assert.deepEqual(await series('frappe_operator_backup_last_size_bytes'), [`${labels} 4096`]);
    src.objects.clear();
    assert.deepEqual(await series('frappe_operator_backup_last_size_bytes'), []);
    src.controller.state = 'stopped';
  });
});
