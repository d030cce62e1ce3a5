// The bench under hostile or unusual input (issue 9, part B), on a real control plane: a sites
// volume that is not the operator's is never deleted, the image the Deployments run cannot be
// forged through the objects the namespace's users may edit, a spec the API server refuses to
// build becomes status without a hot loop, and Ready waits for the autoscalers the spec asks for.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FrappeBench } from '../../../src/api/v1alpha1/index.ts';
import type { KubeClient, KubeObject } from '../../../src/kube/client.ts';
import type { Deployment, PersistentVolumeClaim } from '../../../src/controllers/shared/objects.ts';
import { reconcileTotal } from '../../../src/runtime/metrics.ts';
import { eventually } from '../../harness/eventually.ts';
import { kubectl } from '../../harness/kubectl.ts';
import {
  apply,
  condition,
  getBench,
  patchBench,
  useBenchOperator,
  waitFor,
  waitForCondition,
  waitForGone,
  waitForWarningEvent,
} from './support.ts';

const bench = (name: string, spec: Record<string, unknown> = {}): FrappeBench => ({
  apiVersion: 'vyogo.tech/v1alpha1',
  kind: 'FrappeBench',
  metadata: { name },
  spec: { frappeVersion: '15', ...spec },
});

const IMAGE = 'docker.io/frappe/erpnext:version-15';
const FORGED = 'evil.example.com/miner:latest';

/**
 * Every image the bench's Frappe containers run (init containers included; not the gunicorn
 * pods' statsd-exporter sidecar, whose image the operator configures), without duplicates.
 */
async function deploymentImages(client: KubeClient, ns: string, name: string): Promise<string[]> {
  const list = await client.list<Deployment>('apps/v1', 'Deployment', {
    namespace: ns,
    labelSelector: `bench=${name}`,
  });
  const images = list.items.flatMap((d) => {
    const pod = d.spec.template.spec;
    return [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])]
      .filter((c) => c.name !== 'statsd-exporter')
      .map((c) => c.image ?? '');
  });
  assert.equal(list.items.length, 7);
  return [...new Set(images)].sort();
}

/** Change a spec field bench-init does not depend on; resolves once that generation is processed. */
async function reconciled(client: KubeClient, ns: string, name: string, cpu: string) {
  await patchBench(ns, name, {
    spec: { componentResources: { nginx: { requests: { cpu } } } },
  });
  const generation = (await getBench(client, ns, name)).metadata.generation;
  return eventually(
    async () => {
      const b = await getBench(client, ns, name);
      assert.equal(b.status?.observedGeneration, generation);
      return b;
    },
    { timeout: 60_000, message: `FrappeBench ${ns}/${name} generation ${String(generation)}` },
  );
}

/** Reconciles of the bench controller so far (this process runs the test's operator). */
async function reconciles(): Promise<number> {
  const { values } = await reconcileTotal.get();
  return values
    .filter((v) => v.labels.controller === 'frappebench')
    .reduce((sum, v) => sum + v.value, 0);
}

describe('bench hardening', () => {
  const env = useBenchOperator('bench-harden', { keda: true });

  it('storageRetentionPolicy Delete keeps a sites PVC that lacks the operator labels (B4)', async () => {
    const { client, ns } = env;
    await client.create<PersistentVolumeClaim>({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'keep-sites', namespace: ns, labels: { team: 'data' } },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    await apply(bench('keep', { storageRetentionPolicy: 'Delete' }), ns);
    // Not applied over (issue 9 B4, first bullet): the storage step says whose it is not.
    await waitForCondition(client, ns, 'keep', 'Degraded', 'True', 'StorageError');
    await kubectl(['delete', 'frappebench', 'keep', '--wait=false'], { namespace: ns });
    await waitForGone(client, 'vyogo.tech/v1alpha1', 'FrappeBench', ns, 'keep');
    const pvc = await client.get<PersistentVolumeClaim>(
      'v1',
      'PersistentVolumeClaim',
      ns,
      'keep-sites',
    );
    assert.ok(pvc !== undefined, 'the foreign claim still exists');
    assert.equal(pvc.metadata.deletionTimestamp, undefined, 'the foreign claim is kept');
    assert.deepEqual(pvc.metadata.labels, { team: 'data' });
    await waitForWarningEvent(ns, 'ForeignVolumeKept');
  });

  it('the Deployments keep the operator’s image when the PVC record or the Job annotation is forged (B5)', async () => {
    const { client, ns } = env;
    await apply(bench('forged'), ns);
    await waitForCondition(client, ns, 'forged', 'Ready', 'True');
    assert.deepEqual(await deploymentImages(client, ns, 'forged'), [IMAGE]);
    const job = await waitFor<KubeObject>(client, 'batch/v1', 'Job', ns, 'forged-init');
    const hash = job.metadata.annotations?.['vyogo.tech/inputs-hash'] ?? '';
    assert.notEqual(hash, '');

    // Whoever may edit Jobs in the namespace rewrites the succeeded bench-init's image.
    await kubectl(['annotate', 'job', 'forged-init', `vyogo.tech/image=${FORGED}`, '--overwrite'], {
      namespace: ns,
    });
    await reconciled(client, ns, 'forged', '110m');
    assert.deepEqual(await deploymentImages(client, ns, 'forged'), [IMAGE]);

    // Whoever may edit PVCs writes the record the operator once kept on the sites claim, and
    // the Job goes as its TTL would take it.
    await kubectl(
      [
        'annotate',
        'pvc',
        'forged-sites',
        `vyogo.tech/initialized-image=${FORGED}`,
        `vyogo.tech/initialized-inputs=${hash}`,
        '--overwrite',
      ],
      { namespace: ns },
    );
    await kubectl(['delete', 'job', 'forged-init', '--wait=true'], { namespace: ns });
    const after = await reconciled(client, ns, 'forged', '120m');
    assert.deepEqual(await deploymentImages(client, ns, 'forged'), [IMAGE]);
    assert.equal(after.status?.initializedImage, IMAGE);
    assert.equal(after.status.initializedInputsHash, hash);
    // bench-init does not run again for inputs it already applied.
    assert.equal(await client.get('batch/v1', 'Job', ns, 'forged-init'), undefined);
    assert.equal(condition(after, 'Ready')?.status, 'True');
  });

  it('an affinity term the API server refuses: Ready=False naming the field, a Warning event, no retries (B9)', async () => {
    const { client, ns } = env;
    const podConfig = {
      affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{}] } },
    };
    await apply(bench('picky', { podConfig }), ns);
    const b = await waitForCondition(client, ns, 'picky', 'Ready', 'False', 'InvalidPodConfig');
    assert.match(
      condition(b, 'Ready')?.message ?? '',
      /^step redis: spec\.podConfig\.affinity cannot be built: the API server refuses StatefulSet picky-redis-cache \(.*topologyKey: Required value/,
    );
    assert.equal(condition(b, 'Degraded')?.reason, 'InvalidPodConfig');
    assert.equal(b.status?.observedGeneration, b.metadata.generation);
    await waitForWarningEvent(ns, 'InvalidPodConfig');
    // No hot loop: nothing brings the bench back until it changes. (An observation window: what
    // is asserted is that nothing happens in it.)
    const before = await reconciles();
    await sleep(5_000);
    assert.ok((await reconciles()) - before <= 1, 'the bench is not retried');
    // Fixed, it carries on.
    await patchBench(ns, 'picky', { spec: { podConfig: null } });
    await waitForCondition(client, ns, 'picky', 'Ready', 'True');
  });

  it('Ready waits for the ScaledObjects the spec asks for: not while KEDA refuses one (B10)', async () => {
    const { client, ns } = env;
    await apply(
      bench('scaled', {
        componentAutoscaling: {
          'worker-short': { enabled: true, provider: 'keda', minReplicas: 0, maxReplicas: 5 },
        },
      }),
      ns,
    );
    // Whenever the bench says Ready, the ScaledObject exists.
    const first = await waitForCondition(client, ns, 'scaled', 'Ready', 'True');
    assert.equal(condition(first, 'AutoscalingReady')?.reason, 'Applied');
    await waitFor(client, 'keda.sh/v1alpha1', 'ScaledObject', ns, 'scaled-worker-short');
    // KEDA (played here by the test) refuses it: the autoscaler the spec asks for is not in
    // place, so the bench is not Ready, and says which and why.
    const setKedaReady = (status: 'True' | 'False', reason: string, message: string) =>
      kubectl(
        [
          'patch',
          'scaledobject',
          'scaled-worker-short',
          '--subresource=status',
          '--type=merge',
          '-p',
          JSON.stringify({
            status: {
              conditions: [
                { type: 'Ready', status, reason, message },
                { type: 'Active', status: 'False', reason: 'ScalerNotActive', message: '' },
              ],
            },
          }),
        ],
        { namespace: ns },
      );
    await setKedaReady('False', 'ScaledObjectCheckFailed', 'Target resource is not scalable');
    const refused = await waitForCondition(
      client,
      ns,
      'scaled',
      'Ready',
      'False',
      'ScaledObjectNotReady',
    );
    assert.match(
      condition(refused, 'AutoscalingReady')?.message ?? '',
      /worker-short \(ScaledObject scaled-worker-short: ScaledObjectCheckFailed: Target resource is not scalable\)/,
    );
    await setKedaReady('True', 'ScaledObjectReady', 'ScaledObject is defined correctly');
    await waitForCondition(client, ns, 'scaled', 'Ready', 'True');
  });
});
