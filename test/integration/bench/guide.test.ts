// The Operations Guide's benches on a real control plane (kwok plays the kubelet): prod-bench
// (API.md §2.1) in a namespace enforcing the restricted Pod Security Standard under the guide's
// ResourceQuota, with KEDA's CRDs installed, reaches Ready; its HPA and ScaledObjects are the
// guide's; and each guide `kubectl patch` (the guide's own bodies, src/dev/guide) changes
// the running objects as the guide says. compliance-bench runs with its own security contexts.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { COMPONENTS } from '../../../src/api/v1alpha1/index.ts';
import type { KubeObject } from '../../../src/kube/client.ts';
import type {
  Deployment,
  HorizontalPodAutoscaler,
  Job,
  PodDisruptionBudget,
} from '../../../src/controllers/shared/objects.ts';
import { loadManifest, loadPatch, MANIFESTS, PATCHES } from '../../../src/dev/guide/guide.ts';
import { kubectl } from '../../harness/kubectl.ts';
import { prodBenchManifest } from '../../unit/controllers/bench/fixtures.ts';
import { apply, useBenchOperator, waitFor, waitForCondition, waitForScaling } from './support.ts';

/** The guide's `kubectl patch frappebench prod-bench --type=merge -p '<body>'`. */
async function guidePatch(file: string, ns: string): Promise<void> {
  const fixture = PATCHES.find((p) => p.file === file);
  assert.ok(fixture !== undefined, file);
  await kubectl(
    ['patch', fixture.resource, fixture.name, '--type=merge', '-p', await loadPatch(fixture)],
    { namespace: ns },
  );
}

interface KedaObject extends KubeObject {
  spec: Record<string, unknown>;
}

const image = (d: Deployment): string | undefined => d.spec.template.spec?.containers[0]?.image;

describe('prod-bench (Operations Guide)', () => {
  const env = useBenchOperator('production', {
    keda: true,
    labels: {
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
    },
  });
  const deployment = (c: string, check?: (d: Deployment) => void) =>
    waitFor<Deployment>(env.client, 'apps/v1', 'Deployment', env.ns, `prod-bench-${c}`, check);
  const initJob = (check?: (j: Job) => void) =>
    waitFor<Job>(env.client, 'batch/v1', 'Job', env.ns, 'prod-bench-init', check);

  before(async () => {
    // The guide's ResourceQuota (Best Practices, 2.).
    await apply(
      {
        apiVersion: 'v1',
        kind: 'ResourceQuota',
        metadata: { name: 'production-quota' },
        spec: {
          hard: {
            'requests.cpu': '50',
            'requests.memory': '100Gi',
            persistentvolumeclaims: '20',
            pods: '100',
          },
        },
      },
      env.ns,
    );
    await apply({ ...prodBenchManifest, metadata: { name: 'prod-bench' } }, env.ns);
  });

  it('reaches Ready with every component available, all pods admitted', async () => {
    const { client, ns } = env;
    const bench = await waitForCondition(client, ns, 'prod-bench', 'Ready', 'True');
    const status = bench.status;
    assert.ok(status?.phase === 'Ready' || status?.phase === 'Updating');
    assert.deepEqual(
      { benchId: status.benchId, image: status.image, initializedImage: status.initializedImage },
      {
        benchId: `${ns}-prod-bench`,
        image: 'docker.io/frappe/erpnext:version-15',
        initializedImage: 'docker.io/frappe/erpnext:version-15',
      },
    );
    assert.deepEqual(Object.keys(status.componentScaling ?? {}).sort(), [...COMPONENTS].sort());
    for (const c of COMPONENTS) {
      const d = await deployment(c);
      assert.ok((d.status?.availableReplicas ?? 0) >= (d.spec.replicas ?? 1), c);
    }
    // No pod was refused by PodSecurity or the ResourceQuota.
    const failed = await kubectl(
      [
        'get',
        'events',
        '--field-selector',
        'reason=FailedCreate',
        '-o',
        'jsonpath={.items[*].message}',
      ],
      { namespace: ns },
    );
    assert.equal(failed.stdout.trim(), '');
    // kcm's HPA scaled gunicorn to minReplicas; status reports it as provider-managed.
    const scaling = await waitForScaling(client, ns, 'prod-bench', 'gunicorn', (s) => {
      assert.equal(s?.desiredReplicas, 3, JSON.stringify(s));
    });
    assert.deepEqual(
      {
        mode: scaling?.mode,
        provider: scaling?.provider,
        providerManaged: scaling?.providerManaged,
      },
      { mode: 'autoscaled', provider: 'hpa', providerManaged: true },
    );
  });

  it('has the HPA and ScaledObjects of the guide', async () => {
    const { client, ns } = env;
    const hpa = await waitFor<HorizontalPodAutoscaler>(
      client,
      'autoscaling/v2',
      'HorizontalPodAutoscaler',
      ns,
      'prod-bench-gunicorn',
    );
    assert.deepEqual(hpa.spec.scaleTargetRef, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'prod-bench-gunicorn',
    });
    assert.deepEqual(
      { min: hpa.spec.minReplicas, max: hpa.spec.maxReplicas, metrics: hpa.spec.metrics },
      {
        min: 3,
        max: 10,
        metrics: [
          {
            type: 'Resource',
            resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
          },
        ],
      },
    );
    for (const [c, min, max, length] of [
      ['worker-short', 0, 15, '5'],
      ['worker-long', 1, 5, '1'],
    ] as const) {
      const so = await waitFor<KedaObject>(
        client,
        'keda.sh/v1alpha1',
        'ScaledObject',
        ns,
        `prod-bench-${c}`,
      );
      assert.deepEqual(
        { min: so.spec.minReplicaCount, max: so.spec.maxReplicaCount, triggers: so.spec.triggers },
        {
          min,
          max,
          triggers: [
            {
              type: 'redis',
              metadata: {
                address: `prod-bench-redis-queue.${ns}.svc:6379`,
                listName: `rq:queue:${ns}-prod-bench:${c.slice('worker-'.length)}`,
                listLength: length,
                activationListLength: '0',
                databaseIndex: '0',
              },
            },
          ],
        },
      );
    }
  });

  it('gunicorn (minReplicas 3) has a PDB; without a metrics API the HPA state is reported', async () => {
    const { client, ns } = env;
    const pdb = await waitFor<PodDisruptionBudget>(
      client,
      'policy/v1',
      'PodDisruptionBudget',
      ns,
      'prod-bench-gunicorn',
    );
    assert.deepEqual(
      { maxUnavailable: pdb.spec.maxUnavailable, selector: pdb.spec.selector },
      {
        maxUnavailable: 1,
        selector: { matchLabels: { app: 'frappe', bench: 'prod-bench', component: 'gunicorn' } },
      },
    );
    // nginx and socketio run 1 replica: no PDB would let a drain through.
    assert.equal(
      await client.get('policy/v1', 'PodDisruptionBudget', ns, 'prod-bench-nginx'),
      undefined,
    );
    // The test cluster serves no metrics.k8s.io.
    const bench = await waitForCondition(
      client,
      ns,
      'prod-bench',
      'AutoscalingReady',
      'False',
      'MetricsAPIUnavailable',
    );
    assert.match(
      bench.status?.conditions?.find((c) => c.type === 'AutoscalingReady')?.message ?? '',
      /gunicorn/,
    );
  });

  it('vertical scaling patch: gunicorn gets the new resources', async () => {
    await guidePatch('prod-bench-vertical-scaling.patch.json', env.ns);
    await deployment('gunicorn', (d) => {
      assert.deepEqual(d.spec.template.spec?.containers[0]?.resources, {
        requests: { cpu: '2', memory: '4Gi' },
        limits: { cpu: '4', memory: '8Gi' },
      });
    });
    await kubectl(['rollout', 'status', 'deployment/prod-bench-gunicorn', '--timeout=60s'], {
      namespace: env.ns,
    });
  });

  it('version upgrade patch: a new bench-init, then the Deployments on the new image', async () => {
    const previous = await initJob();
    await guidePatch('prod-bench-version-upgrade.patch.json', env.ns);
    const next = 'docker.io/frappe/erpnext:v15.1.0';
    await initJob((j) => {
      assert.notEqual(j.metadata.uid, previous.metadata.uid);
      assert.equal(j.spec.template.spec?.containers[0]?.image, next);
    });
    // API.md §1.4: wait for Progressing=False, then `kubectl rollout status` as the guide does.
    const bench = await waitForCondition(
      env.client,
      env.ns,
      'prod-bench',
      'Progressing',
      'False',
      'Complete',
      120_000,
    );
    assert.equal(bench.status?.initializedImage, next);
    for (const c of COMPONENTS) assert.equal(image(await deployment(c)), next, c);
    await kubectl(['rollout', 'status', 'deployment/prod-bench-gunicorn', '--timeout=60s'], {
      namespace: env.ns,
    });
  });

  it('apps patch: bench-init runs again with the new inputs', async () => {
    const previous = await initJob();
    await guidePatch('prod-bench-apps-json.patch.json', env.ns);
    const job = await initJob((j) => {
      assert.notEqual(j.metadata.uid, previous.metadata.uid);
    });
    const vars = job.spec.template.spec?.containers[0]?.env ?? [];
    assert.equal(
      vars.find((e) => e.name === 'BENCH_INIT_APPS')?.value,
      '["erpnext","hrms","custom_app"]',
    );
    assert.notEqual(
      job.metadata.annotations?.['vyogo.tech/inputs-hash'],
      previous.metadata.annotations?.['vyogo.tech/inputs-hash'],
    );
    await waitForCondition(env.client, env.ns, 'prod-bench', 'Initialized', 'True');
  });
});

describe('compliance-bench (Operations Guide)', () => {
  const env = useBenchOperator('compliance', {
    labels: { 'pod-security.kubernetes.io/enforce': 'restricted' },
  });

  it('reaches Ready; every pod runs as 5000', async () => {
    const { client, ns } = env;
    const fixture = MANIFESTS.find((m) => m.file === 'compliance-bench.yaml');
    assert.ok(fixture !== undefined);
    await apply(await loadManifest(fixture), ns);
    const bench = await waitForCondition(client, ns, 'compliance-bench', 'Ready', 'True');
    assert.equal(bench.spec.frappeVersion, undefined);
    const pods = await kubectl(
      [
        'get',
        'pods',
        '-l',
        'app=frappe,bench=compliance-bench',
        '-o',
        'jsonpath={range .items[*]}{.spec.securityContext.runAsUser}{"\\n"}{end}',
      ],
      { namespace: ns },
    );
    const uids = pods.stdout.trim().split('\n');
    assert.ok(uids.length >= 9, `pods: ${uids.length}`);
    assert.deepEqual([...new Set(uids)], ['5000']);
    // The guide's `kubectl get frappebench ... -o jsonpath='{.status.componentScaling}'`.
    const scaling = await kubectl(
      ['get', 'frappebench', 'compliance-bench', '-o', 'jsonpath={.status.componentScaling}'],
      { namespace: ns },
    );
    const parsed = JSON.parse(scaling.stdout) as Record<string, { mode: string }>;
    assert.equal(parsed.scheduler?.mode, 'static');
  });
});
