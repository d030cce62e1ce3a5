// Status through scaling and rollouts, every write watched: an autoscaled Deployment is created at
// its minReplicas (KEDA scale to zero: 0, and the bench is Ready with that worker at 0), and after
// a spec change the first status at the new generation says Progressing (phase Updating), Ready
// stays True through the rolling update, and the bench returns to phase Ready once rolled out.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FrappeBench } from '../../../src/api/v1alpha1/index.ts';
import type { KubeClient, KubeObject } from '../../../src/kube/client.ts';
import type { Deployment } from '../../../src/controllers/shared/objects.ts';
import { eventually } from '../../harness/eventually.ts';
import {
  apply,
  condition,
  patchBench,
  useBenchOperator,
  waitFor,
  waitForCondition,
} from './support.ts';

/** Every object a watch of `kind` in `ns` delivers from now on, until `stop()`. */
async function record(
  client: KubeClient,
  apiVersion: string,
  kind: string,
  ns: string,
): Promise<{ seen: KubeObject[]; stop: () => Promise<void> }> {
  const list = await client.list(apiVersion, kind, { namespace: ns });
  const seen: KubeObject[] = [];
  const abort = new AbortController();
  const done = (async () => {
    try {
      for await (const e of client.watch(apiVersion, kind, {
        namespace: ns,
        resourceVersion: list.metadata.resourceVersion,
        signal: abort.signal,
      })) {
        if (e.type === 'ADDED' || e.type === 'MODIFIED') seen.push(e.object);
      }
    } catch (err) {
      if (!abort.signal.aborted) throw err;
    }
  })();
  return {
    seen,
    stop: async () => {
      abort.abort();
      await done;
    },
  };
}

describe('bench status through scaling and rollouts', () => {
  const env = useBenchOperator('bench-rollout', { keda: true });

  it('autoscaled Deployments start at minReplicas; a worker scaled to zero by design is available', async () => {
    const { client, ns } = env;
    const deployments = await record(client, 'apps/v1', 'Deployment', ns);
    try {
      await apply(
        {
          apiVersion: 'vyogo.tech/v1alpha1',
          kind: 'FrappeBench',
          metadata: { name: 'roll' },
          spec: {
            frappeVersion: '15',
            componentAutoscaling: {
              gunicorn: { enabled: true, provider: 'hpa', minReplicas: 2, maxReplicas: 4 },
              'worker-short': { enabled: true, provider: 'keda', minReplicas: 0, maxReplicas: 5 },
            },
          },
        },
        ns,
      );
      const bench = await waitForCondition(client, ns, 'roll', 'Ready', 'True');
      assert.equal(condition(bench, 'ComponentsReady')?.status, 'True');
    } finally {
      await deployments.stop();
    }
    const first = (name: string) =>
      (deployments.seen as Deployment[]).find((d) => d.metadata.name === name);
    assert.equal(first('roll-gunicorn')?.spec.replicas, 2);
    assert.equal(first('roll-worker-short')?.spec.replicas, 0);
    const short = await waitFor<Deployment>(
      client,
      'apps/v1',
      'Deployment',
      ns,
      'roll-worker-short',
    );
    assert.equal(short.spec.replicas, 0);
  });

  it('a spec change: Progressing from the first status at the new generation, Ready throughout', async () => {
    const { client, ns } = env;
    await waitForCondition(client, ns, 'roll', 'Progressing', 'False', 'Complete');
    const benches = await record(client, 'vyogo.tech/v1alpha1', 'FrappeBench', ns);
    let generation = 0;
    try {
      await patchBench(ns, 'roll', {
        spec: {
          componentResources: {
            nginx: {
              requests: { cpu: '200m', memory: '256Mi' },
              limits: { cpu: '1', memory: '512Mi' },
            },
          },
        },
      });
      await eventually(
        () => {
          const last = (benches.seen as FrappeBench[]).at(-1);
          generation = last?.metadata.generation ?? 0;
          if (
            last?.status?.observedGeneration !== generation ||
            last.status.phase !== 'Ready' ||
            condition(last, 'Progressing')?.status !== 'False'
          ) {
            throw new Error(`bench roll: ${JSON.stringify(last?.status?.conditions)}`);
          }
        },
        { timeout: 90_000, interval: 250, message: 'bench roll rolled out the new generation' },
      );
    } finally {
      await benches.stop();
    }
    const seen = benches.seen as FrappeBench[];
    const statuses = seen.filter((b) => b.status?.observedGeneration === generation);
    const firstAtNew = statuses[0];
    assert.ok(firstAtNew !== undefined);
    assert.equal(condition(firstAtNew, 'Progressing')?.status, 'True');
    assert.equal(firstAtNew.status?.phase, 'Updating');
    for (const b of seen) {
      assert.equal(condition(b, 'Ready')?.status, 'True', JSON.stringify(b.status?.conditions));
    }
  });
});
