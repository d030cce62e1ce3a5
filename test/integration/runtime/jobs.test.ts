// The Job runner (src/runtime/jobs.ts) on the real control plane, with kwok ending the pods:
// it creates the Job under its deterministic name, reads the report only from pods whose
// controller-uid is that Job's (a pod that merely carries the Job's name label and finished later
// is ignored), replaces the Job when its inputs change, and sees the retry annotation as a change.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeClient, KubeObject } from '../../../src/kube/client.ts';
import { Informer } from '../../../src/kube/informer.ts';
import { noopLogger } from '../../../src/kube/logger.ts';
import { JobRunner, type JobObject, type JobRequest } from '../../../src/runtime/jobs.ts';
import { kubeConfig } from '../../harness/env.ts';
import { eventually } from '../../harness/eventually.ts';
import { createTestNamespace, deleteNamespace } from '../../harness/namespace.ts';
import { endPods, failJobPods } from '../../harness/stages.ts';
import { clientFor } from './helpers.ts';

const RESTRICTED = {
  securityContext: {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    runAsNonRoot: true,
    runAsUser: 1001,
    seccompProfile: { type: 'RuntimeDefault' },
  },
  resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '10m', memory: '16Mi' } },
};

interface Report {
  said: string;
}

describe('the Job runner', () => {
  let client: KubeClient;
  let ns: string;
  let jobs: Informer<JobObject>;
  let runner: JobRunner;
  let owner: KubeObject;
  const stages: (() => Promise<void>)[] = [];

  before(async () => {
    client = clientFor(kubeConfig());
    ns = await createTestNamespace('runtime-jobs');
    owner = await client.create<KubeObject>({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'owner', namespace: ns },
    });
    jobs = new Informer<JobObject>(client, { apiVersion: 'batch/v1', kind: 'Job', namespace: ns });
    jobs.start();
    await jobs.waitForSync();
    runner = new JobRunner(client, jobs);
    // The Job's own pods report `{"said":"real"}`; a stray pod with the Job's name label, which
    // finishes later, reports a forged result with a higher-weight stage.
    stages.push(await endPods(ns, { jobName: 'owner-work' }, { message: '{"said":"real"}' }));
    stages.push(
      await endPods(ns, { label: ['forged', 'true'] }, { message: '{"said":"forged"}' }, 20_000),
    );
  });

  after(async () => {
    await Promise.all(stages.map((remove) => remove()));
    await jobs.stop();
    await deleteNamespace(ns);
  });

  const request = (
    inputs: unknown,
    from: KubeObject = owner,
    name = 'owner-work',
  ): JobRequest<Report> => ({
    owner: from,
    job: {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name,
        namespace: ns,
        ownerReferences: [
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            name: 'owner',
            uid: owner.metadata.uid ?? '',
            controller: true,
          },
        ],
      },
      spec: {
        backoffLimit: 0,
        template: {
          spec: {
            restartPolicy: 'Never',
            containers: [{ name: 'work', image: 'busybox', ...RESTRICTED }],
          },
        },
      },
    } as JobObject,
    inputs,
    container: 'work',
    parseReport: (message) => {
      const parsed = JSON.parse(message ?? 'null') as Report | null;
      return parsed === null
        ? { ok: false, reason: 'NoReport', message: 'no report' }
        : { ok: true, value: parsed };
    },
  });

  it('creates the Job, then reads the report of its own pods only', async () => {
    assert.equal((await runner.run(request({ v: 1 }), noopLogger)).phase, 'Running');
    const job = await eventually(
      () => {
        const j = jobs.get(ns, 'owner-work');
        if (j === undefined) throw new Error('the Job is not in the cache');
        return Promise.resolve(j);
      },
      { timeout: 30_000 },
    );
    await client.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'stray',
        namespace: ns,
        labels: { forged: 'true', 'batch.kubernetes.io/job-name': 'owner-work' },
      },
      spec: {
        restartPolicy: 'Never',
        containers: [{ name: 'work', image: 'busybox', ...RESTRICTED }],
      },
    });
    const stray = await eventually(
      async () => {
        const p = await client.get<KubeObject & { status?: { phase?: string } }>(
          'v1',
          'Pod',
          ns,
          'stray',
        );
        if (p?.status?.phase !== 'Succeeded')
          throw new Error(`stray pod is ${p?.status?.phase ?? 'absent'}`);
        return p;
      },
      { timeout: 60_000 },
    );
    assert.ok(stray.metadata.labels?.['batch.kubernetes.io/controller-uid'] === undefined);
    const phase = await eventually(
      async () => {
        const p = await runner.phase(request({ v: 1 }));
        if (p.phase !== 'Succeeded') throw new Error(`the Job is ${p.phase}`);
        return p;
      },
      { timeout: 60_000 },
    );
    assert.equal(phase.job.metadata.uid, job.metadata.uid);
    assert.deepEqual(phase.report, { ok: true, value: { said: 'real' } });
  });

  it('replaces the Job when its inputs change, and when the retry annotation changes', async () => {
    const first = jobs.get(ns, 'owner-work')?.metadata.uid;
    assert.ok(first !== undefined);
    assert.equal((await runner.run(request({ v: 2 }), noopLogger)).phase, 'Stale');
    const second = await eventually(
      async () => {
        const p = await runner.run(request({ v: 2 }), noopLogger);
        const uid = jobs.get(ns, 'owner-work')?.metadata.uid;
        if (p.phase === 'Stale' || uid === undefined || uid === first) {
          throw new Error(`the Job is ${p.phase}`);
        }
        return uid;
      },
      { timeout: 60_000 },
    );
    const retried = {
      ...owner,
      metadata: { ...owner.metadata, annotations: { 'vyogo.tech/retry': '1' } },
    };
    assert.equal((await runner.phase(request({ v: 2 }, retried))).phase, 'Stale');
    assert.notEqual(second, first);
  });

  it('with a retry backoff, runs a failed Job again as its next attempt once the backoff passed', async () => {
    stages.push(await failJobPods(ns, 'owner-retry'));
    const req = {
      ...request({ v: 1 }, owner, 'owner-retry'),
      retry: { firstMs: 1_000, maxMs: 1_000 },
    };
    await runner.run(req, noopLogger);
    const failed = await eventually(
      async () => {
        const p = await runner.run(req, noopLogger);
        if (p.phase !== 'Failed') throw new Error(`the Job is ${p.phase}`);
        return p;
      },
      { timeout: 60_000 },
    );
    assert.ok(failed.retryInMs !== undefined && failed.retryInMs <= 1_000);
    const second = await eventually(
      async () => {
        await runner.run(req, noopLogger);
        const j = jobs.get(ns, 'owner-retry');
        const attempt = j?.metadata.annotations?.['vyogo.tech/attempt'];
        if (attempt !== '2') throw new Error(`attempt ${attempt ?? '1'}`);
        return j;
      },
      { timeout: 60_000 },
    );
    assert.notEqual(second?.metadata.uid, failed.job.metadata.uid);
  });
});
