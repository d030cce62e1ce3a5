// Without KEDA (discovery does not list keda.sh/v1alpha1 ScaledObjects) a component asking for
// provider keda runs staticReplicas, and the bench says so: AutoscalingReady=False
// ProviderNotInstalled naming the components, Degraded=True and a Warning event (API.md §3.2).
// The components serve, but Ready waits: the ScaledObjects the spec asks for do not exist
// (issue 9 B10). Once KEDA is installed they are created, and only then is the bench Ready.
// Other tests of the run install KEDA's fixture CRDs cluster-wide, so this one has a private
// control plane where KEDA does not exist until the test installs it.
import assert from 'node:assert/strict';
import type { KubeClient } from '../../../src/kube/client.ts';
import { after, before, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import type { Deployment } from '../../../src/controllers/shared/objects.ts';
import { startCluster, type Cluster } from '../../../src/dev/cluster.ts';
import { applyFixtureCrds } from '../../../src/dev/crds.ts';
import { testCluster } from '../../harness/env.ts';
import { applyOurCrds, createTestNamespace } from '../../harness/namespace.ts';
import {
  apply,
  condition,
  startBenchOperator,
  waitFor,
  waitForCondition,
  waitForWarningEvent,
} from './support.ts';

let cluster: Cluster | undefined;
let kubeconfigPath = '';
let client: KubeClient;
let stop: (() => Promise<void>) | undefined;
let ns = '';

before(async () => {
  cluster = await startCluster({ log: () => undefined });
  kubeconfigPath = cluster.kubeconfigPath;
  ns = await createTestNamespace('no-keda', {}, { kubeconfigPath });
  await applyOurCrds({ kubeconfigPath });
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  ({ client, stop } = await startBenchOperator(ns, {}, kc));
});

after(async () => {
  await stop?.();
  await cluster?.stop();
});

it('keda components run staticReplicas; AutoscalingReady=False ProviderNotInstalled, Degraded, Warning; Ready only once the ScaledObjects exist', async () => {
  await apply(
    {
      apiVersion: 'vyogo.tech/v1alpha1',
      kind: 'FrappeBench',
      metadata: { name: 'prod-bench' },
      spec: {
        componentAutoscaling: {
          'worker-short': {
            enabled: true,
            provider: 'keda',
            minReplicas: 0,
            maxReplicas: 15,
            staticReplicas: 2,
          },
          'worker-long': { enabled: true, provider: 'keda', minReplicas: 1, maxReplicas: 5 },
        },
      },
    },
    ns,
    kubeconfigPath,
  );
  const bench = await waitForCondition(
    client,
    ns,
    'prod-bench',
    'AutoscalingReady',
    'False',
    'ProviderNotInstalled',
  );
  const message = condition(bench, 'AutoscalingReady')?.message ?? '';
  assert.match(message, /worker-short \(2 replicas\)/);
  assert.match(message, /worker-long \(1 replicas\)/);
  const degraded = await waitForCondition(
    client,
    ns,
    'prod-bench',
    'Degraded',
    'True',
    'ProviderNotInstalled',
  );
  // Serving works meanwhile, but the bench is not Ready: its ScaledObjects do not exist.
  const waiting = await waitForCondition(client, ns, 'prod-bench', 'ComponentsReady', 'True');
  assert.equal(condition(waiting, 'Ready')?.status, 'False');
  assert.equal(condition(waiting, 'Ready')?.reason, 'ProviderNotInstalled');
  await waitFor<Deployment>(client, 'apps/v1', 'Deployment', ns, 'prod-bench-worker-short', (d) => {
    assert.equal(d.spec.replicas, 2);
  });
  const scaling = degraded.status?.componentScaling?.['worker-short'];
  assert.deepEqual(
    { mode: scaling?.mode, provider: scaling?.provider, providerManaged: scaling?.providerManaged },
    { mode: 'autoscaled', provider: 'keda', providerManaged: false },
  );
  await waitForWarningEvent(ns, 'ProviderNotInstalled', kubeconfigPath);

  // KEDA arrives: the ScaledObjects are created (the bench looks for KEDA again within a
  // minute), and Ready follows them.
  await applyFixtureCrds({ kubeconfigPath, kubectlPath: testCluster().kubectlPath }, ['keda']);
  const ready = await waitForCondition(
    client,
    ns,
    'prod-bench',
    'Ready',
    'True',
    undefined,
    150_000,
  );
  for (const c of ['worker-short', 'worker-long']) {
    assert.ok(
      (await client.get('keda.sh/v1alpha1', 'ScaledObject', ns, `prod-bench-${c}`)) !== undefined,
      `ScaledObject prod-bench-${c} exists once the bench is Ready`,
    );
  }
  assert.equal(condition(ready, 'AutoscalingReady')?.reason, 'Applied');
});
