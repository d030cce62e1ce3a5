// Rules of the bench builders that snapshots do not make obvious: the replicas switch rule
// (API.md §3.1), when bench-init re-runs (§3.2), apps merging, serving Deployments waiting for
// bench-init, PDB thresholds and KEDA fallbacks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FrappeBench } from '../../../../src/api/v1alpha1/index.ts';
import { scalingPlan } from '../../../../src/controllers/bench/autoscaling.ts';
import { benchChildren } from '../../../../src/controllers/bench/children.ts';
import { componentDeployment } from '../../../../src/controllers/bench/components.ts';
import type { BenchContext } from '../../../../src/controllers/bench/context.ts';
import type { Stored } from '../../../../src/kube/informer.ts';
import { parseInitReport, requiredApps } from '../../../../src/controllers/bench/init.ts';
import { desiredJob } from '../../../../src/runtime/jobs.ts';
import { context, initialized, planOf, prodBench, stored, prodBenchManifest } from './fixtures.ts';

const children = (bench: Stored<FrappeBench>, ctx: BenchContext) =>
  benchChildren(planOf(bench, ctx));
const initJob = (bench: Stored<FrappeBench>, ctx: BenchContext = context()) =>
  desiredJob(children(bench, ctx).init);

const withSpec = (spec: Record<string, unknown>, annotations?: Record<string, string>) =>
  stored({
    ...prodBenchManifest,
    metadata: {
      ...prodBenchManifest.metadata,
      ...(annotations === undefined ? {} : { annotations }),
    },
    spec: { ...prodBenchManifest.spec, ...spec },
  });

test('replicas: static sends staticReplicas; autoscaled keeps the current count until handed over', () => {
  const bench = prodBench();
  assert.equal(scalingPlan(bench.spec, context(), 'scheduler').replicas, 1);
  assert.equal(scalingPlan(bench.spec, context(), 'nginx').replicas, 1);
  // A new Deployment starts at minReplicas (not 1, which the HPA would raise at once); KEDA's
  // scale to zero starts at 0.
  assert.equal(scalingPlan(bench.spec, context(), 'gunicorn').replicas, 3);
  assert.equal(scalingPlan(bench.spec, context(), 'worker-long').replicas, 1);
  assert.equal(scalingPlan(bench.spec, context(), 'worker-short').replicas, 0);
  // Created at minReplicas, not yet touched by the autoscaler: the count it has, never reset.
  const created = context({
    deployments: {
      gunicorn: { replicas: 3, autoscalerOwnsReplicas: false, versionLabel: undefined },
    },
  });
  assert.equal(scalingPlan(bench.spec, created, 'gunicorn').replicas, 3);
  const switching = context({
    deployments: {
      gunicorn: { replicas: 4, autoscalerOwnsReplicas: false, versionLabel: undefined },
    },
  });
  assert.equal(scalingPlan(bench.spec, switching, 'gunicorn').replicas, 4);
  const handedOver = context({
    deployments: {
      gunicorn: { replicas: 4, autoscalerOwnsReplicas: true, versionLabel: undefined },
    },
  });
  assert.equal(scalingPlan(bench.spec, handedOver, 'gunicorn').replicas, undefined);
});

test('KEDA missing: keda components run staticReplicas, not provider-managed, no ScaledObject', () => {
  const ctx = context({ kedaAvailable: false, ...initialized() });
  const plan = scalingPlan(prodBench().spec, ctx, 'worker-short');
  assert.deepEqual(
    {
      mode: plan.mode,
      provider: plan.provider,
      providerManaged: plan.providerManaged,
      replicas: plan.replicas,
    },
    { mode: 'autoscaled', provider: 'keda', providerManaged: false, replicas: 1 },
  );
  const kinds = children(prodBench(), ctx).autoscaling.map(
    (o) => `${o.kind}/${o.metadata.name ?? ''}`,
  );
  assert.deepEqual(kinds, ['HorizontalPodAutoscaler/prod-bench-gunicorn']);
});

test('bench-init inputs hash changes with image, apps, commonSiteConfig, Redis and retry only', () => {
  const hash = (bench: Stored<FrappeBench>) => planOf(bench).initHash;
  const base = hash(prodBench());
  assert.equal(hash(withSpec({ componentResources: {} })), base);
  assert.equal(hash(withSpec({ componentAutoscaling: {} })), base);
  for (const changed of [
    withSpec({ imageConfig: { tag: 'v15.1.0' } }),
    withSpec({ appsJSON: '["erpnext", "hrms", "custom_app@v2.0.0"]' }),
    withSpec({ commonSiteConfig: { maintenance_mode: '1' } }),
    withSpec({ redisConfig: { auth: { enabled: true } } }),
    withSpec({}, { 'vyogo.tech/retry': '1' }),
  ]) {
    assert.notEqual(hash(changed), base);
  }
  assert.equal(initJob(prodBench()).metadata.annotations?.['vyogo.tech/inputs-hash'], base);
});

test('apps: appsJSON merged with apps, apps wins; versions after @', () => {
  const bench = withSpec({
    appsJSON: '["erpnext@v15.0.0", "hrms"]',
    apps: [{ name: 'erpnext', version: '15.1.0' }, { name: 'payments' }],
  });
  assert.deepEqual(requiredApps(bench.spec), [
    { name: 'erpnext', version: '15.1.0' },
    { name: 'hrms' },
    { name: 'payments' },
  ]);
});

test('bench-init report: apps with versions, or the failure reason', () => {
  assert.deepEqual(parseInitReport('{"apps":[{"name":"frappe","version":"15.2.0"}]}'), {
    ok: true,
    value: [{ name: 'frappe', version: '15.2.0' }],
  });
  assert.deepEqual(parseInitReport('{"error":"AppsMissing","message":"no hrms"}'), {
    ok: false,
    reason: 'AppsMissing',
    message: 'no hrms',
  });
  assert.equal(parseInitReport(undefined).ok, false);
  assert.equal(parseInitReport('oops').ok, false);
});

test('Deployments wait for bench-init and then run the image it succeeded for', () => {
  const bench = withSpec({ imageConfig: { tag: 'v15.1.0' } });
  assert.deepEqual(children(bench, context()).components, []);
  const old = context({
    ...initialized('docker.io/frappe/erpnext:version-15'),
    deployments: {
      gunicorn: { replicas: 3, autoscalerOwnsReplicas: true, versionLabel: 'version-14' },
    },
  });
  const d = componentDeployment(planOf(bench, old), 'gunicorn');
  const pod = d.spec.template.spec;
  // (the statsd-exporter sidecar runs its own image)
  assert.deepEqual(
    [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])]
      .filter((c) => c.name !== 'statsd-exporter')
      .map((c) => c.image),
    ['docker.io/frappe/erpnext:version-15', 'docker.io/frappe/erpnext:version-15'],
  );
  assert.equal(d.spec.template.metadata?.labels?.['app.kubernetes.io/version'], 'version-14');
  assert.equal(
    initJob(bench, old).spec.template.spec?.containers[0]?.image,
    'docker.io/frappe/erpnext:v15.1.0',
  );
});

test('the image comes from the operator alone: a succeeded Job is read for its inputs, never its image annotation', () => {
  const bench = prodBench();
  const job = initJob(bench);
  const forged = {
    ...job,
    metadata: {
      ...job.metadata,
      uid: 'job-uid',
      annotations: { ...job.metadata.annotations, 'vyogo.tech/image': 'evil.example/miner:1' },
    },
    status: { succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] },
  };
  const plan = planOf(bench, context({ initJob: forged }));
  assert.equal(plan.initialized?.image, 'docker.io/frappe/erpnext:version-15');
  assert.equal(plan.initialized.inputsHash, plan.initHash);
  const d = componentDeployment(plan, 'gunicorn');
  assert.deepEqual(
    d.spec.template.spec?.containers.map((c) => c.image),
    ['docker.io/frappe/erpnext:version-15', 'docker.io/prom/statsd-exporter:v0.31.0'],
  );
  // The sites claim records nothing a tenant could forge.
  assert.equal(children(bench, context(initialized())).storage.metadata.annotations, undefined);
});

test('PDBs only while enabled and the minimum replicas are at least 2', () => {
  const ctx = context(initialized());
  const names = (spec: Record<string, unknown>) =>
    children(withSpec(spec), ctx).disruptionBudgets.map((p) => p.metadata.name);
  assert.deepEqual(names({}), ['prod-bench-gunicorn']);
  assert.deepEqual(names({ podDisruptionBudget: { enabled: false } }), []);
  assert.deepEqual(
    names({
      componentAutoscaling: {
        nginx: { enabled: false, staticReplicas: 2 },
        socketio: { enabled: false, staticReplicas: 1 },
      },
    }),
    ['prod-bench-nginx'],
  );
});

test('KEDA redis trigger: TriggerAuthentication only with a Redis password; user metadata wins', () => {
  const ctx = context(initialized());
  const withAuth = withSpec({
    redisConfig: { auth: { enabled: true } },
    componentAutoscaling: {
      'worker-default': {
        enabled: true,
        provider: 'keda',
        keda: { metadata: { listLength: '9', host: 'h' } },
      },
    },
  });
  const objs = children(withAuth, ctx).autoscaling;
  const auth = objs.find((o) => o.kind === 'TriggerAuthentication');
  assert.deepEqual((auth as { spec: unknown } | undefined)?.spec, {
    secretTargetRef: [{ parameter: 'password', name: 'prod-bench-redis-auth', key: 'password' }],
  });
  const so = objs.find((o) => o.kind === 'ScaledObject') as
    { spec: { triggers: unknown[] } } | undefined;
  assert.deepEqual(so?.spec.triggers, [
    {
      type: 'redis',
      metadata: {
        address: 'prod-bench-redis-queue.production.svc:6379',
        listName: 'rq:queue:production-prod-bench:default',
        listLength: '9',
        activationListLength: '0',
        databaseIndex: '0',
        host: 'h',
      },
      authenticationRef: { name: 'prod-bench-redis-queue' },
    },
  ]);
  assert.equal(
    children(prodBench(), ctx).autoscaling.some((o) => o.kind === 'TriggerAuthentication'),
    false,
  );
});

test('quantities reach children as the API server stores them: no endless re-apply or re-create', () => {
  const plan = planOf(
    withSpec({
      storageSize: '10240Mi',
      redisConfig: { storageSize: '1024Mi' },
      componentResources: { gunicorn: { limits: { memory: '4096Mi', cpu: '1.5' } } },
    }),
    context(initialized()),
  );
  const c = benchChildren(plan);
  const queue = c.redis.find((o) => o.metadata.name === 'prod-bench-redis-queue') as
    | { spec: { volumeClaimTemplates?: { spec?: { resources?: { requests?: unknown } } }[] } }
    | undefined;
  assert.deepEqual(queue?.spec.volumeClaimTemplates?.[0]?.spec?.resources?.requests, {
    storage: '1Gi',
  });
  assert.deepEqual(c.storage.spec.resources?.requests, { storage: '10Gi' });
  assert.deepEqual(plan.resources.components.gunicorn.limits, { cpu: '1500m', memory: '4Gi' });
});
