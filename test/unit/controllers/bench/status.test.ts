// The bench status of API.md §2.1 from observations: the phase rules, Ready naming the step that
// blocks it, an upgrade's bench-init keeping Ready (phase Updating), Degraded reasons, and events
// only on transitions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COMPONENTS, type FrappeBench } from '../../../../src/api/v1alpha1/index.ts';
import { scalingPlans } from '../../../../src/controllers/bench/autoscaling.ts';
import type { DeploymentComponent } from '../../../../src/controllers/bench/context.ts';
import type { RequiredApp } from '../../../../src/controllers/bench/init.ts';
import {
  autoscalingOutcome,
  benchStatus,
  componentsOutcome,
  initOutcome,
  redisOutcome,
  storageOutcome,
  terminatingStatus,
  transitions,
  type InitState,
} from '../../../../src/controllers/bench/status.ts';
import { BENCH_STEPS, newerDeployment } from '../../../../src/controllers/bench/reconcile.ts';
import type {
  Deployment,
  PersistentVolumeClaim,
  StatefulSet,
} from '../../../../src/controllers/shared/objects.ts';
import type { ScalingPlan } from '../../../../src/controllers/bench/autoscaling.ts';
import type { KubeObject } from '../../../../src/kube/client.ts';
import { walkSteps } from '../../../../src/runtime/steps.ts';
import { context, prodBench } from './fixtures.ts';

/** `d` with `spec.replicas`, generation and status replaced. */
const deployment = (
  d: Deployment,
  replicas: number,
  generation: number,
  status: NonNullable<Deployment['status']>,
): Deployment => ({
  ...d,
  metadata: { ...d.metadata, generation },
  spec: { ...d.spec, replicas },
  status,
});

const IMAGE = 'docker.io/frappe/erpnext:version-15';

const available = (image: string): Deployment => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { generation: 1 },
  spec: {
    replicas: 1,
    selector: {},
    template: { spec: { containers: [{ name: 'c', image }] } },
  },
  status: {
    observedGeneration: 1,
    replicas: 1,
    updatedReplicas: 1,
    availableReplicas: 1,
    conditions: [{ type: 'Available', status: 'True' }],
  },
});

const readyRedis: StatefulSet = {
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { generation: 1 },
  spec: { replicas: 1, selector: {}, serviceName: 'x', template: {} },
  status: { observedGeneration: 1, replicas: 1, readyReplicas: 1, updatedReplicas: 1 },
};

/** What a reconcile of the bench found: the steps judge it, the summary sums it up. */
interface Observed {
  claim: PersistentVolumeClaim | undefined;
  claimName: string;
  redis: (StatefulSet | undefined)[] | undefined;
  init: InitState;
  image: string;
  initializedImage: string | undefined;
  deployments: Partial<Record<DeploymentComponent, Deployment>>;
  plans: Record<DeploymentComponent, ScalingPlan>;
  providerMissing: DeploymentComponent[];
  metricsMissing: DeploymentComponent[];
  requiredApps: RequiredApp[];
  apps: { name: string; version?: string }[] | undefined;
  siteCount: number;
  benchId: string;
  /** A step that throws. */
  failedStep: { step: string; message: string } | undefined;
  /** The HPAs and ScaledObjects the step applied (default: one per autoscaled component). */
  autoscalers?: Partial<Record<DeploymentComponent, KubeObject>>;
}

/** An HPA or ScaledObject for every component its provider manages, as the API server has it. */
const applied = (
  scaling: Record<DeploymentComponent, ScalingPlan>,
  status: (c: DeploymentComponent) => unknown = () => undefined,
): Partial<Record<DeploymentComponent, KubeObject>> =>
  Object.fromEntries(
    COMPONENTS.filter((c) => scaling[c].providerManaged).map((c) => [
      c,
      {
        apiVersion: scaling[c].provider === 'keda' ? 'keda.sh/v1alpha1' : 'autoscaling/v2',
        kind: scaling[c].provider === 'keda' ? 'ScaledObject' : 'HorizontalPodAutoscaler',
        metadata: { name: `prod-bench-${c}` },
        status: status(c),
      },
    ]),
  );

/** The bench's status after walking its step table over what `o` says was found. */
async function status(bench: FrappeBench, o: Observed) {
  const scaling = Object.fromEntries(
    COMPONENTS.map((c) => [
      c,
      o.providerMissing.includes(c) ? { ...o.plans[c], providerManaged: false } : o.plans[c],
    ]),
  ) as Record<DeploymentComponent, ScalingPlan>;
  const judge = (step: string, outcome: () => ReturnType<typeof storageOutcome>) => async () => {
    if (o.failedStep?.step === step) return Promise.reject(new Error(o.failedStep.message));
    return Promise.resolve(outcome());
  };
  const walk = await walkSteps(BENCH_STEPS, {
    storage: judge('storage', () => storageOutcome(o.claim, o.claimName)),
    redis: judge('redis', () => redisOutcome(o.redis)),
    init: judge('init', () => initOutcome(o.init, o.initializedImage)),
    components: judge('components', () => componentsOutcome(o.deployments, scaling)),
    autoscaling: judge('autoscaling', () =>
      autoscalingOutcome(scaling, o.metricsMissing, 60_000, o.autoscalers ?? applied(scaling)),
    ),
  });
  return benchStatus(bench, walk, { ...o, scaling });
}

function observed(bench: FrappeBench, over: Partial<Observed> = {}): Observed {
  const deployments = Object.fromEntries(COMPONENTS.map((c) => [c, available(IMAGE)]));
  return {
    claim: {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {},
      spec: {},
      status: { phase: 'Bound' },
    },
    claimName: 'prod-bench-sites',
    redis: [readyRedis, readyRedis],
    init: { phase: 'Succeeded', image: IMAGE },
    image: IMAGE,
    initializedImage: IMAGE,
    deployments,
    plans: scalingPlans(bench.spec, context()),
    providerMissing: [],
    metricsMissing: [],
    requiredApps: [{ name: 'erpnext', version: '15.1.0' }],
    apps: [{ name: 'erpnext', version: 'v15.1.0' }],
    siteCount: 2,
    benchId: 'production-prod-bench',
    failedStep: undefined,
    ...over,
  };
}

const cond = (
  s: { conditions?: { type: string; status: string; reason: string }[] },
  type: string,
) => {
  const c = s.conditions?.find((x) => x.type === type);
  return c === undefined ? undefined : `${c.status}/${c.reason}`;
};

test('the statsd-exporter sidecar runs its own image: gunicorn is rolled out all the same', async () => {
  const gunicorn = available(IMAGE);
  const pod = gunicorn.spec.template.spec;
  assert.ok(pod !== undefined);
  pod.containers.push({ name: 'statsd-exporter', image: 'docker.io/prom/statsd-exporter:v0.31.0' });
  const o = observed(prodBench());
  const s = await status(prodBench(), { ...o, deployments: { ...o.deployments, gunicorn } });
  assert.equal(cond(s, 'Progressing'), 'False/Complete');
  assert.equal(s.phase, 'Ready');
});

test('a converged bench is Ready, not Progressing or Degraded', async () => {
  const s = await status(prodBench(), observed(prodBench()));
  assert.equal(s.phase, 'Ready');
  assert.equal(cond(s, 'Ready'), 'True/Ready');
  assert.equal(cond(s, 'Progressing'), 'False/Complete');
  assert.equal(cond(s, 'Degraded'), 'False/AsExpected');
  assert.equal(cond(s, 'AppsVerified'), 'True/Verified');
  assert.equal(s.observedGeneration, 1);
  assert.equal(s.siteCount, 2);
  assert.deepEqual(Object.keys(s.componentScaling ?? {}).length, 7);
});

test('Ready names what blocks it; a new bench waiting for storage is Pending', async () => {
  const bench = prodBench();
  const pending = await status(
    bench,
    observed(bench, {
      claim: undefined,
      init: { phase: 'Running', image: IMAGE },
      initializedImage: undefined,
      deployments: {},
    }),
  );
  assert.equal(pending.phase, 'Pending');
  assert.equal(cond(pending, 'Ready'), 'False/Creating');
  const failed = await status(
    bench,
    observed(bench, { failedStep: { step: 'redis', message: 'boom' } }),
  );
  assert.equal(cond(failed, 'Ready'), 'False/RedisError');
  assert.equal(cond(failed, 'Degraded'), 'True/RedisError');
  assert.equal(failed.observedGeneration, 0);
});

test("an upgrade's bench-init keeps Ready: phase Updating; a failed one is Failed and Degraded", async () => {
  const bench = prodBench();
  const next = 'docker.io/frappe/erpnext:v15.1.0';
  const running = await status(
    bench,
    observed(bench, { image: next, init: { phase: 'Running', image: next } }),
  );
  assert.equal(running.phase, 'Updating');
  assert.equal(cond(running, 'Progressing'), 'True/InitRunning');
  const failed = await status(
    bench,
    observed(bench, {
      image: next,
      init: { phase: 'Failed', image: next, reason: 'AppsMissing', message: 'no hrms' },
    }),
  );
  assert.equal(failed.phase, 'Failed');
  assert.equal(cond(failed, 'Degraded'), 'True/InitFailed');
  assert.equal(cond(failed, 'Progressing'), 'False/InitFailed');
});

test('KEDA missing: AutoscalingReady=False ProviderNotInstalled and Degraded; not Ready, for the ScaledObjects the spec asks for do not exist', async () => {
  const bench = prodBench();
  const s = await status(bench, observed(bench, { providerMissing: ['worker-short'] }));
  assert.equal(cond(s, 'AutoscalingReady'), 'False/ProviderNotInstalled');
  assert.equal(cond(s, 'Degraded'), 'True/ProviderNotInstalled');
  assert.equal(cond(s, 'Ready'), 'False/ProviderNotInstalled');
  // The components serve meanwhile.
  assert.equal(cond(s, 'ComponentsReady'), 'True/Available');
});

test('Ready waits for every autoscaler the spec asks for, and for KEDA not to refuse a ScaledObject', async () => {
  const bench = prodBench();
  const plans = scalingPlans(bench.spec, context());
  const partial = applied(plans);
  delete partial['worker-short'];
  const absent = await status(bench, observed(bench, { autoscalers: partial }));
  assert.equal(cond(absent, 'Ready'), 'False/NotApplied');
  assert.match(
    absent.conditions?.find((c) => c.type === 'AutoscalingReady')?.message ?? '',
    /worker-short/,
  );
  const refusing = await status(
    bench,
    observed(bench, {
      autoscalers: applied(plans, (c) =>
        c === 'worker-long'
          ? {
              conditions: [
                {
                  type: 'Ready',
                  status: 'False',
                  reason: 'ScaledObjectCheckFailed',
                  message: 'no',
                },
              ],
            }
          : { conditions: [{ type: 'Ready', status: 'True', reason: 'ScaledObjectReady' }] },
      ),
    }),
  );
  assert.equal(cond(refusing, 'Ready'), 'False/ScaledObjectNotReady');
  assert.match(
    refusing.conditions?.find((c) => c.type === 'AutoscalingReady')?.message ?? '',
    /worker-long \(ScaledObject prod-bench-worker-long: ScaledObjectCheckFailed: no\)/,
  );
  // Before KEDA first reports, and once it says Ready, the ScaledObjects are in place.
  assert.equal(cond(await status(bench, observed(bench)), 'Ready'), 'True/Ready');
});

test('AppsVerified: a version mismatch, ignoring a leading v', async () => {
  const bench = prodBench();
  const s = await status(
    bench,
    observed(bench, { apps: [{ name: 'erpnext', version: '15.0.0' }] }),
  );
  assert.equal(cond(s, 'AppsVerified'), 'False/VersionMismatch');
  assert.equal(
    cond(await status(bench, observed(bench, { apps: undefined })), 'AppsVerified'),
    'Unknown/NotReported',
  );
});

test('events on transitions only; the same status twice records nothing', async () => {
  const bench = prodBench();
  const first = await status(bench, observed(bench));
  assert.deepEqual(
    transitions(undefined, first).map((e) => e.reason),
    ['Initialized', 'BenchReady'],
  );
  const again = await status({ ...bench, status: first }, observed(bench));
  assert.deepEqual(again, first);
  assert.deepEqual(transitions(first, again), []);
  const blocked = terminatingStatus({ ...bench, status: first }, ['production/prod-site']);
  assert.equal(blocked.phase, 'Deleting');
  assert.equal(cond(blocked, 'Terminating'), 'False/DependentSitesExist');
  assert.deepEqual(
    transitions(first, blocked).map((e) => `${e.type}/${e.reason}`),
    ['Warning/DependentSitesExist'],
  );
});

test('KEDA scale to zero: a worker at 0 replicas by design is available', async () => {
  const bench = prodBench();
  const deployments = Object.fromEntries(COMPONENTS.map((c) => [c, available(IMAGE)]));
  // Just created at 0 by the operator (minReplicas 0): no status conditions yet.
  deployments['worker-short'] = deployment(available(IMAGE), 0, 1, { observedGeneration: 1 });
  const s = await status(bench, observed(bench, { deployments }));
  assert.equal(cond(s, 'ComponentsReady'), 'True/Available');
  assert.equal(s.phase, 'Ready');
  // worker-long's floor is 1: at 0 replicas it is missing something.
  deployments['worker-long'] = deployment(available(IMAGE), 0, 1, { observedGeneration: 1 });
  const blocked = await status(bench, observed(bench, { deployments }));
  assert.equal(cond(blocked, 'Ready'), 'False/NotAvailable');
});

test('an HPA adding replicas above minReplicas keeps Ready: phase Updating', async () => {
  const bench = prodBench();
  const deployments = Object.fromEntries(COMPONENTS.map((c) => [c, available(IMAGE)]));
  // minReplicas 3 serve; the HPA asked for 5 and the Deployment's own Available is False.
  deployments.gunicorn = deployment(available(IMAGE), 5, 1, {
    observedGeneration: 1,
    replicas: 5,
    updatedReplicas: 5,
    availableReplicas: 3,
    conditions: [{ type: 'Available', status: 'False' }],
  });
  const s = await status(bench, observed(bench, { deployments }));
  assert.equal(cond(s, 'Ready'), 'True/Ready');
  assert.equal(cond(s, 'Progressing'), 'True/RollingOut');
  assert.equal(s.phase, 'Updating');
  // Still starting its first minReplicas: not available.
  deployments.gunicorn = deployment(available(IMAGE), 3, 1, {
    observedGeneration: 1,
    replicas: 3,
    updatedReplicas: 3,
    availableReplicas: 1,
    conditions: [{ type: 'Available', status: 'False' }],
  });
  assert.equal(
    cond(await status(bench, observed(bench, { deployments })), 'Ready'),
    'False/NotAvailable',
  );
});

test('a rolling update of an available component keeps Ready: phase Updating, then Ready', async () => {
  const bench = prodBench();
  const deployments = Object.fromEntries(COMPONENTS.map((c) => [c, available(IMAGE)]));
  // maxSurge 1, maxUnavailable 0: one new pod starting next to the 3 old ones.
  deployments.nginx = deployment(available(IMAGE), 3, 2, {
    observedGeneration: 2,
    replicas: 4,
    updatedReplicas: 1,
    availableReplicas: 3,
    conditions: [{ type: 'Available', status: 'True' }],
  });
  const rolling = await status(bench, observed(bench, { deployments }));
  assert.equal(cond(rolling, 'Ready'), 'True/Ready');
  assert.equal(cond(rolling, 'ComponentsReady'), 'True/Available');
  assert.equal(cond(rolling, 'Progressing'), 'True/RollingOut');
  assert.equal(rolling.phase, 'Updating');
  deployments.nginx = deployment(available(IMAGE), 3, 2, {
    observedGeneration: 2,
    replicas: 3,
    updatedReplicas: 3,
    availableReplicas: 3,
    conditions: [{ type: 'Available', status: 'True' }],
  });
  const done = await status(bench, observed(bench, { deployments }));
  assert.equal(cond(done, 'Progressing'), 'False/Complete');
  assert.equal(done.phase, 'Ready');
});

test('a Deployment just patched (observedGeneration behind) is Progressing: phase Updating', async () => {
  const bench = prodBench();
  const deployments = Object.fromEntries(COMPONENTS.map((c) => [c, available(IMAGE)]));
  // Every count matches, but the Deployment controller has not seen generation 2 yet.
  deployments.socketio = deployment(available(IMAGE), 1, 2, {
    observedGeneration: 1,
    replicas: 1,
    updatedReplicas: 1,
    availableReplicas: 1,
    conditions: [{ type: 'Available', status: 'True' }],
  });
  const s = await status(bench, observed(bench, { deployments }));
  assert.equal(cond(s, 'Ready'), 'True/Ready');
  assert.equal(cond(s, 'Progressing'), 'True/RollingOut');
  assert.equal(s.phase, 'Updating');
});

test('status judges the applied Deployment when it is newer than the cache', () => {
  const cached = available(IMAGE);
  const applied = deployment(cached, 1, 2, cached.status ?? {});
  assert.equal(newerDeployment(cached, applied), applied);
  assert.equal(newerDeployment(applied, cached), applied);
  assert.equal(newerDeployment(cached, undefined), cached);
  assert.equal(newerDeployment(undefined, applied), applied);
});
