// The manager's endpoints and configuration in a real operator process against the test API
// server: /metrics over HTTPS with TokenReview + SubjectAccessReview (401 without or with an
// invalid token, 403 for a ServiceAccount without RBAC, 200 for one bound to get on
// /metrics), `metricsAuth: none` from the ConfigMap, /healthz and /readyz (not ready while the
// informers cannot list), an invalid ConfigMap value failing start-up with the key named, and
// a ConfigMap change while running (applied, or ignored with a Warning event when invalid).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { KubeObject } from '../../../src/kube/client.ts';
import { eventually } from '../../harness/eventually.ts';
import { kubectl } from '../../harness/kubectl.ts';
import { createTestNamespace } from '../../harness/namespace.ts';
import {
  adminClient,
  cleanUp,
  metricsReaderToken,
  probe,
  sample,
  scrape,
  serviceAccountToken,
  spawnOperator,
  startOperator,
  tokenKubeconfig,
} from './operator.ts';

const client = adminClient();

interface EventObject extends KubeObject {
  type?: string;
  reason?: string;
  note?: string;
  regarding?: { name?: string };
}

async function apply(objects: object[]): Promise<void> {
  await kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
  });
}

const serviceAccount = (namespace: string, name: string): object => ({
  apiVersion: 'v1',
  kind: 'ServiceAccount',
  metadata: { name, namespace },
});

const operatorConfig = (namespace: string, data: Record<string, string>): object => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'frappe-operator-config', namespace },
  data,
});

describe('manager endpoints and configuration', { concurrency: true }, () => {
  after(cleanUp);

  it('serves /metrics only to tokens allowed to get /metrics', async () => {
    const ns = await createTestNamespace('mgr-metrics');
    const reader = await metricsReaderToken(ns);
    await apply([serviceAccount(ns, 'nobody')]);
    const nobody = await serviceAccountToken(ns, 'nobody');
    const op = await startOperator({ namespace: ns, leaderElect: false });

    assert.equal((await scrape(op.metricsPort)).status, 401);
    assert.equal((await scrape(op.metricsPort, `${reader.slice(0, -4)}AAAA`)).status, 401);
    const refused = await scrape(op.metricsPort, nobody);
    assert.equal(refused.status, 403);
    assert.match(
      refused.body,
      new RegExp(`system:serviceaccount:${ns}:nobody may not get /metrics`),
    );
    const ok = await scrape(op.metricsPort, reader);
    assert.equal(ok.status, 200);
    assert.ok(
      sample(
        ok.body,
        'controller_runtime_max_concurrent_reconciles{controller="configmap-stamper"}',
      ) !== undefined,
    );
    assert.match(
      ok.body,
      /^rest_client_requests_total\{code="201",method="POST",host="[^"]+"\} \d+/m,
    );

    assert.equal((await probe(op.healthPort, '/healthz')).status, 200);
    await eventually(async () => {
      assert.equal((await probe(op.healthPort, '/readyz')).status, 200);
    });
    assert.equal((await probe(op.healthPort, '/metrics')).status, 404);
  });

  it('a flood of random bearer tokens costs a bounded number of TokenReviews, and reconciles go on', async () => {
    const ns = await createTestNamespace('mgr-flood');
    const reader = await metricsReaderToken(ns);
    const op = await startOperator({ namespace: ns, leaderElect: false });
    // The operator's own requests: POSTs answered 201 are its TokenReviews and
    // SubjectAccessReviews (the stamper only patches, and nothing else here creates).
    const posts = async (): Promise<number> => {
      const r = await eventually(async () => {
        const res = await scrape(op.metricsPort, reader);
        assert.equal(res.status, 200, res.body);
        return res;
      });
      const series = r.body
        .split('\n')
        .filter((l) => l.startsWith('rest_client_requests_total{code="201",method="POST"'));
      return series.reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
    };
    const before = await posts();
    const started = Date.now();
    const statuses = new Map<number, number>();
    let sent = 0;
    const worker = async (): Promise<void> => {
      while (sent < 400) {
        sent++;
        const token = `eyJ${Math.random().toString(36).slice(2)}${String(sent)}`;
        const { status } = await scrape(op.metricsPort, token);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    };
    const flood = Promise.all(Array.from({ length: 16 }, worker));
    // Reconciles during the flood: a ConfigMap is stamped as usual.
    await kubectl(['create', 'configmap', 'during-flood'], { namespace: ns });
    await kubectl(['label', 'configmap', 'during-flood', 'test.vyogo.tech/stamp=true'], {
      namespace: ns,
    });
    await eventually(
      async () => {
        const r = await kubectl(
          [
            'get',
            'configmap',
            'during-flood',
            '-o',
            'jsonpath={.metadata.annotations.test\\.vyogo\\.tech/reconciled-by}',
          ],
          { namespace: ns },
        );
        assert.equal(r.stdout, op.identity);
      },
      { timeout: 30_000, message: 'stamped during the flood' },
    );
    await flood;
    const seconds = (Date.now() - started) / 1000;
    const reviews = (await posts()) - before;
    // Burst 10, then 5 a second; each invalid token is one TokenReview (no SubjectAccessReview).
    const bound = 10 + 5 * Math.ceil(seconds) + 2;
    assert.ok(
      reviews <= bound,
      `${String(reviews)} reviews for 400 random tokens in ${seconds.toFixed(1)} s (bound ${String(bound)})`,
    );
    assert.ok((statuses.get(429) ?? 0) > 0, JSON.stringify([...statuses]));
    assert.equal((statuses.get(200) ?? 0) + (statuses.get(403) ?? 0), 0);
    // Prometheus, allowed before the flood, is still served.
    assert.equal((await scrape(op.metricsPort, reader)).status, 200);
  });

  it('serves /metrics without authentication with metricsAuth: none', async () => {
    const ns = await createTestNamespace('mgr-noauth');
    await apply([operatorConfig(ns, { metricsAuth: 'none' })]);
    const op = await startOperator({ namespace: ns, leaderElect: false });
    const res = await scrape(op.metricsPort);
    assert.equal(res.status, 200);
    assert.match(res.body, /controller_runtime_reconcile/);
  });

  it('reports not ready until the informers can list, while staying alive', async () => {
    const ns = await createTestNamespace('mgr-readyz');
    const rule = (verbs: string[]): object => ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'operator', namespace: ns },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs }],
    });
    await apply([
      serviceAccount(ns, 'operator'),
      rule(['get']),
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'operator', namespace: ns },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'operator' },
        subjects: [{ kind: 'ServiceAccount', name: 'operator', namespace: ns }],
      },
    ]);
    const kubeconfigPath = await tokenKubeconfig(await serviceAccountToken(ns, 'operator'));
    const op = await startOperator({ namespace: ns, leaderElect: false, kubeconfigPath });

    // It can read its ConfigMap (start-up) but not list ConfigMaps (informers).
    await eventually(async () => {
      const readyz = await probe(op.healthPort, '/readyz');
      assert.equal(readyz.status, 500);
      assert.match(readyz.body, /\[-\]informers failed: informer caches not synced yet/);
    });
    assert.equal((await probe(op.healthPort, '/healthz')).status, 200);

    await apply([rule(['get', 'list', 'watch'])]);
    await eventually(
      async () => {
        assert.equal((await probe(op.healthPort, '/readyz')).status, 200);
      },
      { timeout: 60_000, message: '/readyz after granting list/watch' },
    );
  });

  it('refuses to start with an invalid ConfigMap value, naming the key', async () => {
    const ns = await createTestNamespace('mgr-badcfg');
    await apply([operatorConfig(ns, { maxConcurrentReconciles: 'zero', gitEnabled: 'true' })]);
    const op = spawnOperator({ namespace: ns, leaderElect: false });
    const { code } = await op.exited;
    assert.equal(code, 1);
    const failure = op.lines.find((l) => l.msg === 'start-up failed');
    assert.ok(failure, JSON.stringify(op.lines));
    assert.match(
      JSON.stringify(failure.err),
      /ConfigMap frappe-operator-config key maxConcurrentReconciles=\\"zero\\": must be an integer ≥ 1/,
    );
  });

  it('applies ConfigMap changes while running and ignores invalid ones with a Warning event', async () => {
    const ns = await createTestNamespace('mgr-livecfg');
    const config = (workers: string): object =>
      operatorConfig(ns, {
        maxConcurrentReconciles: workers,
        metricsAuth: 'none',
        gitEnabled: 'true',
      });
    const workers = async (port: number): Promise<number | undefined> =>
      sample(
        (await scrape(port)).body,
        'controller_runtime_max_concurrent_reconciles{controller="configmap-stamper"}',
      );
    await apply([config('3')]);
    const op = await startOperator({ namespace: ns, leaderElect: false });
    await op.waitForLog('unknown operator configuration keys ignored');
    assert.equal(await workers(op.metricsPort), 3);

    await apply([config('4')]);
    const changed = await op.waitForLog('operator configuration changed');
    assert.deepEqual(changed.changed, ['maxConcurrentReconciles']);
    assert.equal(await workers(op.metricsPort), 4);

    await apply([config('-1')]);
    await op.waitForLog('invalid operator configuration');
    await eventually(async () => {
      const events = await client.list<EventObject>('events.k8s.io/v1', 'Event', { namespace: ns });
      const warning = events.items.find((e) => e.reason === 'InvalidConfiguration');
      assert.ok(warning, 'a Warning event InvalidConfiguration');
      assert.equal(warning.type, 'Warning');
      assert.equal(warning.regarding?.name, 'frappe-operator-config');
      assert.match(warning.note ?? '', /maxConcurrentReconciles="-1": must be an integer ≥ 1/);
    });
    assert.equal(await workers(op.metricsPort), 4, 'the previous value is kept');
    // Reported once: the unknown key is not logged again.
    assert.equal(
      op.lines.filter((l) => l.msg === 'unknown operator configuration keys ignored').length,
      1,
    );
  });
});
