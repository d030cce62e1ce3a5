// The bench controller keeping its children right over time, on a real control plane: switching
// the autoscaling provider and turning autoscaling off clean up the other objects and never
// reset replicas; a child deleted or edited by hand is repaired; deletion waits for every
// FrappeSite referencing the bench (in any namespace), then the sites PVC follows
// storageRetentionPolicy.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../../src/kube/client.ts';
import type { KedaObject } from '../../../src/controllers/bench/autoscaling.ts';
import type {
  Deployment,
  PersistentVolumeClaim,
  Secret,
  StatefulSet,
} from '../../../src/controllers/shared/objects.ts';
import { eventually } from '../../harness/eventually.ts';
import { kubectl } from '../../harness/kubectl.ts';
import { createTestNamespace, deleteNamespace } from '../../harness/namespace.ts';
import { failJobPods } from '../../harness/stages.ts';
import {
  apply,
  condition,
  getBench,
  patchBench,
  startBenchOperator,
  useBenchOperator,
  waitFor,
  waitForCondition,
  waitForGone,
  waitForScaling,
  waitForWarningEvent,
} from './support.ts';

const bench = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'vyogo.tech/v1alpha1',
  kind: 'FrappeBench',
  metadata: { name },
  spec: { frappeVersion: '15', ...spec },
});

describe('bench lifecycle', () => {
  const env = useBenchOperator('bench-life', { keda: true });

  it('switching provider and disabling autoscaling clean up, replicas are never reset', async () => {
    const { client, ns } = env;
    await apply(
      bench('scaling', {
        componentAutoscaling: {
          'worker-default': { enabled: true, provider: 'hpa', minReplicas: 2, maxReplicas: 4 },
        },
      }),
      ns,
    );
    await waitForCondition(client, ns, 'scaling', 'Ready', 'True');
    const hpa = [
      'autoscaling/v2',
      'HorizontalPodAutoscaler',
      ns,
      'scaling-worker-default',
    ] as const;
    const so = ['keda.sh/v1alpha1', 'ScaledObject', ns, 'scaling-worker-default'] as const;
    const deployment = ['apps/v1', 'Deployment', ns, 'scaling-worker-default'] as const;
    await waitFor(client, ...hpa);
    // kcm's HPA controller raises the Deployment to minReplicas.
    await waitFor<Deployment>(client, ...deployment, (d) => {
      assert.equal(d.spec.replicas, 2);
    });

    await patchBench(ns, 'scaling', {
      spec: { componentAutoscaling: { 'worker-default': { provider: 'keda' } } },
    });
    await waitFor(client, ...so);
    await waitForGone(client, ...hpa);
    // The switch keeps the count the HPA had set (nothing scales it here: no KEDA controller).
    const d = await waitFor<Deployment>(client, ...deployment);
    assert.equal(d.spec.replicas, 2);
    const b = await getBench(client, ns, 'scaling');
    assert.equal(b.status?.componentScaling?.['worker-default']?.provider, 'keda');

    await patchBench(ns, 'scaling', {
      spec: { componentAutoscaling: { 'worker-default': { enabled: false, staticReplicas: 3 } } },
    });
    await waitForGone(client, ...so);
    await waitFor<Deployment>(client, ...deployment, (x) => {
      assert.equal(x.spec.replicas, 3);
    });
    const s = await waitForScaling(client, ns, 'scaling', 'worker-default', (st) => {
      assert.equal(st?.mode, 'static', JSON.stringify(st));
    });
    assert.deepEqual(
      { provider: s?.provider, providerManaged: s?.providerManaged },
      { provider: '', providerManaged: false },
    );
  });

  it('Redis password and persistence: generated Secret, TriggerAuthentication, re-created StatefulSet', async () => {
    const { client, ns } = env;
    await apply(
      bench('secure', {
        redisConfig: { auth: { enabled: true } },
        componentAutoscaling: { 'worker-long': { enabled: true, provider: 'keda' } },
      }),
      ns,
    );
    await waitForCondition(client, ns, 'secure', 'Ready', 'True');
    const secret = await waitFor<Secret>(client, 'v1', 'Secret', ns, 'secure-redis-auth');
    assert.ok((secret.data?.password ?? '').length > 0);
    assert.equal(secret.metadata.ownerReferences?.[0]?.kind, 'FrappeBench');
    const auth = await waitFor<KedaObject>(
      client,
      'keda.sh/v1alpha1',
      'TriggerAuthentication',
      ns,
      'secure-redis-queue',
    );
    assert.deepEqual(auth.spec.secretTargetRef, [
      { parameter: 'password', name: 'secure-redis-auth', key: 'password' },
    ]);
    const so = await waitFor<KedaObject>(
      client,
      'keda.sh/v1alpha1',
      'ScaledObject',
      ns,
      'secure-worker-long',
    );
    assert.deepEqual(
      (so.spec.triggers as { authenticationRef?: unknown }[])[0]?.authenticationRef,
      {
        name: 'secure-redis-queue',
      },
    );
    // volumeClaimTemplates are immutable: persistence re-creates the redis-queue StatefulSet.
    const before = await waitFor<StatefulSet>(
      client,
      'apps/v1',
      'StatefulSet',
      ns,
      'secure-redis-queue',
    );
    await patchBench(ns, 'secure', { spec: { redisConfig: { storageSize: '2Gi' } } });
    const after = await waitFor<StatefulSet>(
      client,
      'apps/v1',
      'StatefulSet',
      ns,
      'secure-redis-queue',
      (s) => {
        assert.notEqual(s.metadata.uid, before.metadata.uid);
      },
    );
    assert.equal(after.spec.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.storage, '2Gi');
    await waitForCondition(client, ns, 'secure', 'RedisReady', 'True');
  });

  it('a failed bench-init keeps the old image, says so, and runs again on vyogo.tech/retry', async () => {
    const { client, ns } = env;
    await apply(bench('upgrade'), ns);
    await waitForCondition(client, ns, 'upgrade', 'Ready', 'True');
    const unfail = await failJobPods(ns, 'upgrade-init');
    try {
      await patchBench(ns, 'upgrade', { spec: { imageConfig: { tag: 'v15.1.0' } } });
      const failed = await waitForCondition(
        client,
        ns,
        'upgrade',
        'Degraded',
        'True',
        'InitFailed',
        180_000,
      );
      assert.deepEqual(
        {
          phase: failed.status?.phase,
          progressing: condition(failed, 'Progressing')?.reason,
          initializedImage: failed.status?.initializedImage,
        },
        {
          phase: 'Failed',
          progressing: 'InitFailed',
          initializedImage: 'docker.io/frappe/erpnext:version-15',
        },
      );
      const gunicorn = await waitFor<Deployment>(
        client,
        'apps/v1',
        'Deployment',
        ns,
        'upgrade-gunicorn',
      );
      assert.equal(
        gunicorn.spec.template.spec?.containers[0]?.image,
        'docker.io/frappe/erpnext:version-15',
      );
      await waitForWarningEvent(ns, 'InitFailed');
    } finally {
      await unfail();
    }
    await kubectl(['annotate', 'frappebench', 'upgrade', 'vyogo.tech/retry=1'], { namespace: ns });
    const done = await waitForCondition(
      client,
      ns,
      'upgrade',
      'Progressing',
      'False',
      'Complete',
      120_000,
    );
    assert.equal(done.status?.initializedImage, 'docker.io/frappe/erpnext:v15.1.0');
    assert.equal(condition(done, 'Degraded')?.status, 'False');
  });

  it("never takes over an object of a child's name that it does not control", async () => {
    const { client, ns } = env;
    const foreign = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'taken-nginx', namespace: ns, labels: { team: 'web' } },
      spec: { selector: { team: 'web' }, ports: [{ name: 'web', port: 80 }] },
    };
    await client.create(foreign);
    await apply(bench('taken'), ns);
    const b = await waitForCondition(client, ns, 'taken', 'Degraded', 'True', 'ComponentsError');
    assert.match(
      condition(b, 'Ready')?.message ?? '',
      /step components: .*Service .*\/taken-nginx exists and is not controlled by FrappeBench taken/,
    );
    await waitForWarningEvent(ns, 'ComponentsError');
    const live = await client.get<KubeObject & { spec: { selector?: unknown; ports?: unknown[] } }>(
      'v1',
      'Service',
      ns,
      'taken-nginx',
    );
    assert.deepEqual(
      {
        labels: live?.metadata.labels,
        owners: live?.metadata.ownerReferences,
        selector: live?.spec.selector,
      },
      { labels: { team: 'web' }, owners: undefined, selector: { team: 'web' } },
    );
  });

  it('a child deleted or edited by hand comes back', async () => {
    const { client, ns } = env;
    await apply(bench('repair'), ns);
    await waitForCondition(client, ns, 'repair', 'Ready', 'True');
    const gunicorn = ['apps/v1', 'Deployment', ns, 'repair-gunicorn'] as const;
    const before = await waitFor<Deployment>(client, ...gunicorn);
    await kubectl(['delete', 'deployment', 'repair-gunicorn', '--wait=true'], { namespace: ns });
    await kubectl(['delete', 'service', 'repair-nginx'], { namespace: ns });
    await kubectl(['delete', 'statefulset', 'repair-redis-queue'], { namespace: ns });
    await waitFor<Deployment>(client, ...gunicorn, (d) => {
      assert.notEqual(d.metadata.uid, before.metadata.uid);
    });
    await waitFor(client, 'v1', 'Service', ns, 'repair-nginx');
    await waitFor(client, 'apps/v1', 'StatefulSet', ns, 'repair-redis-queue');
    // An edit of a field the operator owns is reverted.
    await kubectl(['set', 'env', 'deployment/repair-nginx', 'CLIENT_MAX_BODY_SIZE=1m'], {
      namespace: ns,
    });
    await waitFor<Deployment>(client, 'apps/v1', 'Deployment', ns, 'repair-nginx', (d) => {
      const env = d.spec.template.spec?.containers[0]?.env ?? [];
      assert.equal(env.find((e) => e.name === 'CLIENT_MAX_BODY_SIZE')?.value, '100m');
    });
    await waitForCondition(client, ns, 'repair', 'Ready', 'True');
  });

  it('deletion waits for the FrappeSites on the bench, never for a cross-namespace benchRef; the sites PVC is kept', async () => {
    const { client, ns } = env;
    const other = await createTestNamespace('bench-life-sites');
    try {
      await apply(bench('doomed'), ns);
      await waitForCondition(client, ns, 'doomed', 'Ready', 'True');
      const site = (name: string, benchRef: Record<string, string>) => ({
        apiVersion: 'vyogo.tech/v1alpha1',
        kind: 'FrappeSite',
        metadata: { name },
        spec: { benchRef, siteName: `${name}.example.com` },
      });
      await apply(site('here', { name: 'doomed' }), ns);
      await apply(site('there', { name: 'doomed', namespace: ns }), other);
      // The site in another namespace is refused (its benchRef crosses namespaces): it never
      // counts, and it cannot hold up the bench.
      await eventually(async () => {
        assert.equal((await getBench(client, ns, 'doomed')).status?.siteCount, 1);
      });
      await kubectl(['delete', 'frappebench', 'doomed', '--wait=false'], { namespace: ns });
      const waiting = await waitForCondition(
        client,
        ns,
        'doomed',
        'Terminating',
        'False',
        'DependentSitesExist',
      );
      assert.equal(waiting.status?.phase, 'Deleting');
      assert.match(
        condition(waiting, 'Terminating')?.message ?? '',
        new RegExp(`1 FrappeSite\\(s\\) on this bench: ${ns}/here; delete`),
      );
      await waitForWarningEvent(ns, 'DependentSitesExist');
      // Nothing is torn down meanwhile.
      assert.ok((await client.get('apps/v1', 'Deployment', ns, 'doomed-gunicorn')) !== undefined);

      await kubectl(['delete', 'frappesite', 'here'], { namespace: ns });
      await waitForGone(client, 'vyogo.tech/v1alpha1', 'FrappeBench', ns, 'doomed');
      await kubectl(['delete', 'frappesite', 'there'], { namespace: other });
      const pvc = await waitFor<PersistentVolumeClaim>(
        client,
        'v1',
        'PersistentVolumeClaim',
        ns,
        'doomed-sites',
      );
      assert.equal(pvc.metadata.deletionTimestamp, undefined);
      assert.deepEqual(pvc.metadata.ownerReferences ?? [], []);
    } finally {
      await deleteNamespace(other);
    }
  });

  it('storageRetentionPolicy Delete removes the sites PVC with the bench', async () => {
    const { client, ns } = env;
    await apply(bench('scratch', { storageRetentionPolicy: 'Delete' }), ns);
    await waitForCondition(client, ns, 'scratch', 'Ready', 'True');
    await kubectl(['delete', 'frappebench', 'scratch', '--wait=false'], { namespace: ns });
    await waitForGone(client, 'vyogo.tech/v1alpha1', 'FrappeBench', ns, 'scratch');
    await eventually(async () => {
      const pvc = await client.get<KubeObject>('v1', 'PersistentVolumeClaim', ns, 'scratch-sites');
      assert.ok(pvc === undefined || pvc.metadata.deletionTimestamp !== undefined);
    });
  });

  it('a terminating namespace releases the bench at once, whatever references it', async () => {
    const { client } = env;
    const doomed = await createTestNamespace('bench-life-ns');
    const op = await startBenchOperator(doomed);
    try {
      await apply(bench('gone'), doomed);
      await waitForCondition(op.client, doomed, 'gone', 'Ready', 'True');
      // A site on the bench that the namespace's deletion cannot remove yet (a finalizer holds it).
      await apply(
        {
          apiVersion: 'vyogo.tech/v1alpha1',
          kind: 'FrappeSite',
          metadata: { name: 'held', finalizers: ['frappe.io/test-hold'] },
          spec: { benchRef: { name: 'gone' }, siteName: 'held.example.com' },
        },
        doomed,
      );
      await eventually(async () => {
        assert.equal((await getBench(op.client, doomed, 'gone')).status?.siteCount, 1);
      });
      await deleteNamespace(doomed);
      // The bench goes although its site is still there.
      await waitForGone(client, 'vyogo.tech/v1alpha1', 'FrappeBench', doomed, 'gone', 60_000);
      assert.ok(
        (await client.get('vyogo.tech/v1alpha1', 'FrappeSite', doomed, 'held')) !== undefined,
      );
      await kubectl(
        ['patch', 'frappesite', 'held', '--type=merge', '-p', '{"metadata":{"finalizers":null}}'],
        {
          namespace: doomed,
        },
      );
      await waitForGone(client, 'v1', 'Namespace', '', doomed, 120_000);
    } finally {
      await op.stop();
    }
  });
});
