// Smoke tests of the test control plane itself: the behaviours the operator's integration tests
// rely on — workloads run on kwok nodes, Jobs complete or fail on demand, PodSecurity admission,
// garbage collection, CRD CEL validation and server-side apply.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { eventually } from '../harness/eventually.ts';
import { kubectl } from '../harness/kubectl.ts';
import { createTestNamespace, waitForCrdsEstablished, widgetCrd } from '../harness/namespace.ts';
import { failJobPods } from '../harness/stages.ts';

interface Condition {
  type: string;
  status: string;
}
interface Obj {
  metadata: { name: string; uid: string; ownerReferences?: { kind: string; name: string }[] };
  spec?: { nodeName?: string };
  status?: {
    readyReplicas?: number;
    phase?: string;
    conditions?: Condition[];
  };
}

async function get<T = Obj>(args: string[], namespace: string): Promise<T> {
  const res = await kubectl(['get', ...args, '-o', 'json'], { namespace });
  return JSON.parse(res.stdout) as T;
}

function conditionTrue(o: Obj, type: string): boolean {
  return o.status?.conditions?.some((c) => c.type === type && c.status === 'True') ?? false;
}

const container = { name: 'app', image: 'registry.invalid/frappe-smoke:1' };

/** A Deployment `name` of `replicas` pods labelled `app: <name>` and `podLabels`. */
function deployment(name: string, replicas: number, podLabels: Record<string, string> = {}) {
  const labels = { app: name, ...podLabels };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels }, spec: { containers: [container] } },
    },
  };
}

function job(name: string, podLabels: Record<string, string> = {}) {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { labels: podLabels },
        spec: { restartPolicy: 'Never', containers: [container] },
      },
    },
  };
}

describe('test control plane', { concurrency: true }, () => {
  it('runs a Deployment: ReplicaSet, Ready pods on kwok nodes, Available', async () => {
    const ns = await createTestNamespace('smoke-deploy');
    await kubectl(['create', '-f', '-'], {
      namespace: ns,
      input: JSON.stringify(deployment('web', 2)),
    });
    const d = await eventually(
      async () => {
        const d = await get(['deployment', 'web'], ns);
        assert.equal(d.status?.readyReplicas, 2);
        assert.ok(conditionTrue(d, 'Available'), 'Available');
        return d;
      },
      { message: 'Deployment web never had 2 ready replicas' },
    );
    const rs = await get<{ items: Obj[] }>(['replicasets', '-l', 'app=web'], ns);
    assert.equal(rs.items.length, 1);
    assert.deepEqual(
      rs.items[0]?.metadata.ownerReferences?.map((o) => `${o.kind}/${o.name}`),
      [`Deployment/${d.metadata.name}`],
    );
    const pods = await get<{ items: Obj[] }>(['pods', '-l', 'app=web'], ns);
    assert.equal(pods.items.length, 2);
    for (const p of pods.items) {
      assert.match(p.spec?.nodeName ?? '', /^kwok-node-\d$/);
      assert.equal(p.status?.phase, 'Running');
      assert.ok(conditionTrue(p, 'Ready'), `${p.metadata.name} Ready`);
    }
  });

  it('crash-loops the pods labelled for our own pod-crash-loop stage', async () => {
    const ns = await createTestNamespace('smoke-crashloop');
    const crashing = deployment('crash', 1, { 'pod-crash-loop.stage.frappe.io': 'true' });
    await kubectl(['create', '-f', '-'], { namespace: ns, input: JSON.stringify(crashing) });
    await eventually(
      async () => {
        const pods = await get<{ items: (Obj & { status?: { containerStatuses?: unknown[] } })[] }>(
          ['pods', '-l', 'app=crash'],
          ns,
        );
        const [pod, ...others] = pods.items;
        assert.ok(pod !== undefined && others.length === 0, 'one pod');
        assert.equal(pod.status?.phase, 'Running');
        assert.ok(!conditionTrue(pod, 'Ready'), 'not Ready');
        assert.match(JSON.stringify(pod.status.containerStatuses), /CrashLoopBackOff/);
      },
      { message: 'pod never went into CrashLoopBackOff' },
    );
  });

  it('completes a Job', async () => {
    const ns = await createTestNamespace('smoke-job');
    await kubectl(['create', '-f', '-'], { namespace: ns, input: JSON.stringify(job('ok')) });
    await eventually(
      async () => {
        assert.ok(conditionTrue(await get(['job', 'ok'], ns), 'Complete'), 'Complete');
      },
      { message: 'Job ok never completed' },
    );
    const pods = await get<{ items: Obj[] }>(['pods', '-l', 'batch.kubernetes.io/job-name=ok'], ns);
    assert.deepEqual(
      pods.items.map((p) => p.status?.phase),
      ['Succeeded'],
    );
  });

  it('fails a Job whose pods carry the kwok failure label', async () => {
    const ns = await createTestNamespace('smoke-job-fail');
    const failing = job('bad', { 'pod-container-running-failed.stage.kwok.x-k8s.io': 'true' });
    await kubectl(['create', '-f', '-'], { namespace: ns, input: JSON.stringify(failing) });
    const j = await eventually(
      async () => {
        const j = await get(['job', 'bad'], ns);
        assert.ok(conditionTrue(j, 'Failed'), 'Failed');
        return j;
      },
      { message: 'Job bad never failed' },
    );
    assert.ok(!conditionTrue(j, 'Complete'));
  });

  it('fails the pods of a chosen Job through a per-test Stage created at run time', async (t) => {
    const ns = await createTestNamespace('smoke-stage');
    const removeStage = await failJobPods(ns, 'init', { exitCode: 3 });
    t.after(removeStage);
    await kubectl(['create', '-f', '-'], { namespace: ns, input: JSON.stringify(job('init')) });
    await kubectl(['create', '-f', '-'], { namespace: ns, input: JSON.stringify(job('other')) });
    await eventually(
      async () => {
        assert.ok(conditionTrue(await get(['job', 'init'], ns), 'Failed'), 'init Failed');
        assert.ok(conditionTrue(await get(['job', 'other'], ns), 'Complete'), 'other Complete');
      },
      { message: 'Job init never failed (or Job other never completed)' },
    );
    const pod = await get<{
      items: {
        status?: { containerStatuses?: { state?: { terminated?: { exitCode?: number } } }[] };
      }[];
    }>(['pods', '-l', 'batch.kubernetes.io/job-name=init'], ns);
    assert.equal(pod.items[0]?.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 3);
  });

  it('enforces PodSecurity restricted on a labelled namespace', async () => {
    const ns = await createTestNamespace('smoke-pss', {
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
    const rootPod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'root' },
      spec: { containers: [{ ...container, securityContext: { runAsUser: 0 } }] },
    };
    const res = await kubectl(['create', '-f', '-'], {
      namespace: ns,
      input: JSON.stringify(rootPod),
      allowFailure: true,
    });
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /violates PodSecurity "restricted:latest"/);
    assert.match(res.stderr, /runAsNonRoot != true/);
  });

  it('garbage-collects a child when its owner is deleted', async () => {
    const ns = await createTestNamespace('smoke-gc');
    await kubectl(['create', 'configmap', 'owner'], { namespace: ns });
    const owner = await get(['configmap', 'owner'], ns);
    const child = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'child',
        ownerReferences: [
          { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid },
        ],
      },
    };
    await kubectl(['create', '-f', '-'], { namespace: ns, input: JSON.stringify(child) });
    await kubectl(['delete', 'configmap', 'owner'], { namespace: ns });
    await eventually(
      async () => {
        const res = await kubectl(['get', 'configmap', 'child'], {
          namespace: ns,
          allowFailure: true,
        });
        assert.match(res.stderr, /NotFound/);
      },
      { message: 'child ConfigMap was not garbage-collected' },
    );
  });

  it('validates custom resources with CEL and serves server-side apply', async (t) => {
    const ns = await createTestNamespace('smoke-crd');
    const group = `g${randomBytes(4).toString('hex')}.smoke.frappe.test`;
    const crd = widgetCrd(group, {
      type: 'object',
      properties: {
        spec: {
          type: 'object',
          properties: {
            replicas: { type: 'integer' },
            maxReplicas: { type: 'integer' },
            color: { type: 'string' },
          },
          'x-kubernetes-validations': [
            {
              rule: 'self.replicas <= self.maxReplicas',
              message: 'replicas must not exceed maxReplicas',
            },
          ],
        },
      },
    });
    await kubectl(['create', '-f', '-'], { input: JSON.stringify(crd) });
    t.after(() => kubectl(['delete', 'crd', `widgets.${group}`, '--wait=false']));
    await waitForCrdsEstablished([`widgets.${group}`]);
    const widget = (spec: Record<string, unknown>) =>
      JSON.stringify({ apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w' }, spec });

    const bad = await kubectl(['apply', '--server-side', '-f', '-'], {
      namespace: ns,
      input: widget({ replicas: 5, maxReplicas: 2 }),
      allowFailure: true,
    });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /replicas must not exceed maxReplicas/);

    await kubectl(['apply', '--server-side', '--field-manager=smoke', '-f', '-'], {
      namespace: ns,
      input: widget({ replicas: 1, maxReplicas: 2, color: 'red' }),
    });
    await kubectl(['apply', '--server-side', '--field-manager=smoke', '-f', '-'], {
      namespace: ns,
      input: widget({ replicas: 2, maxReplicas: 2 }),
    });
    const got = await get<{
      spec: Record<string, unknown>;
      metadata: { managedFields?: { manager: string; operation: string }[] };
    }>([`widgets.${group}`, 'w', '--show-managed-fields'], ns);
    // Server-side apply: the field the manager stopped applying is removed.
    assert.deepEqual(got.spec, { replicas: 2, maxReplicas: 2 });
    assert.deepEqual(
      got.metadata.managedFields?.map((f) => `${f.manager}/${f.operation}`),
      ['smoke/Apply'],
    );
  });
});
