// The bench's status (API.md §2.1) computed from what the reconcile observed: one condition per
// step (StorageReady, RedisReady, Initialized, AppsVerified, ComponentsReady, AutoscalingReady),
// the summaries Ready, Progressing and Degraded, Terminating while deletion waits, the phase
// derived from them, and the per-component scaling. Pure: the reconciler writes the result only
// when it differs, and records events for the transitions `transitions` reports.
import type {
  ComponentScalingStatus,
  FrappeBench,
  FrappeBenchStatus,
} from '../../api/v1alpha1/index.ts';
import { setCondition, type Condition, type ConditionInput } from '../../runtime/conditions.ts';
import type { EventInput } from '../../runtime/events.ts';
import type { Deployment, PersistentVolumeClaim, StatefulSet } from '../shared/objects.ts';
import type { ScalingPlan } from './autoscaling.ts';
import { DEPLOYMENT_COMPONENTS, type DeploymentComponent } from './context.ts';
import type { RequiredApp } from './init.ts';

export const STEPS = ['storage', 'redis', 'init', 'components', 'autoscaling'] as const;
export type Step = (typeof STEPS)[number];

/** Where bench-init stands for the current inputs. */
export type InitState =
  | { phase: 'Succeeded'; image: string }
  | { phase: 'Running'; image: string }
  | { phase: 'Failed'; image: string; reason: string; message: string };

export interface Observed {
  claim: PersistentVolumeClaim | undefined;
  claimName: string;
  /** Built-in Redis StatefulSets (cache, queue); undefined with an external Redis. */
  redis: (StatefulSet | undefined)[] | undefined;
  init: InitState;
  /** The image serving pods should run, and the one bench-init last succeeded for. */
  image: string;
  initializedImage: string | undefined;
  deployments: Partial<Record<DeploymentComponent, Deployment>>;
  plans: Record<DeploymentComponent, ScalingPlan>;
  /** Autoscaled components whose provider is not installed. */
  providerMissing: DeploymentComponent[];
  /** Components with an HPA while the metrics API is unavailable. */
  metricsMissing: DeploymentComponent[];
  requiredApps: RequiredApp[];
  /** Apps and versions bench-init reported; undefined when unknown. */
  apps: { name: string; version?: string }[] | undefined;
  siteCount: number;
  benchId: string;
  /** A step that threw, with the error's message. */
  failedStep: { step: Step; message: string } | undefined;
}

const ok = (type: string, reason: string, message: string) =>
  ({ type, status: 'True', reason, message }) as const;
const notOk = (type: string, reason: string, message: string) =>
  ({ type, status: 'False', reason, message }) as const;

function storageCondition(o: Observed) {
  const phase = o.claim?.status?.phase;
  if (phase === 'Bound')
    return ok('StorageReady', 'Bound', `PersistentVolumeClaim ${o.claimName} is bound`);
  return notOk(
    'StorageReady',
    phase === undefined ? 'Creating' : phase,
    `PersistentVolumeClaim ${o.claimName} is ${phase ?? 'being created'}: check \`kubectl describe pvc ${o.claimName}\`; its StorageClass must provide the bench's storageAccessMode`,
  );
}

const replicaSetReady = (s: StatefulSet | undefined): boolean =>
  s !== undefined &&
  (s.status?.observedGeneration ?? 0) >= (s.metadata.generation ?? 0) &&
  (s.status?.readyReplicas ?? 0) >= (s.spec.replicas ?? 1) &&
  (s.status?.updatedReplicas ?? 0) >= (s.spec.replicas ?? 1);

function redisCondition(o: Observed) {
  if (o.redis === undefined) return ok('RedisReady', 'External', 'using the external Redis');
  const waiting = o.redis.filter((s) => !replicaSetReady(s)).length;
  return waiting === 0
    ? ok('RedisReady', 'Ready', 'redis-cache and redis-queue are ready')
    : notOk('RedisReady', 'NotReady', `${waiting} of 2 Redis StatefulSets are not ready yet`);
}

function initCondition(o: Observed) {
  switch (o.init.phase) {
    case 'Succeeded':
      return ok('Initialized', 'Succeeded', `bench-init succeeded for ${o.init.image}`);
    case 'Running':
      return notOk('Initialized', 'Running', `bench-init is running for ${o.init.image}`);
    case 'Failed':
      return notOk(
        'Initialized',
        'InitFailed',
        `bench-init failed for ${o.init.image} (${o.init.reason}): ${o.init.message}. Fix the cause, then change the annotation vyogo.tech/retry to run it again`,
      );
  }
}

const stripV = (v: string): string => v.replace(/^v/, '');

function appsCondition(o: Observed) {
  if (o.apps === undefined)
    return {
      type: 'AppsVerified',
      status: 'Unknown',
      reason: 'NotReported',
      message: 'bench-init has not reported the apps of the image yet',
    } as const;
  const found = new Map(o.apps.map((a) => [a.name, a.version ?? '']));
  const mismatches = o.requiredApps.flatMap((a) => {
    const version = found.get(a.name);
    return a.version !== undefined && version !== undefined && stripV(version) !== stripV(a.version)
      ? [`${a.name} is ${version === '' ? 'of unknown version' : version}, expected ${a.version}`]
      : [];
  });
  return mismatches.length === 0
    ? ok('AppsVerified', 'Verified', 'the image has the apps the bench lists')
    : notOk(
        'AppsVerified',
        'VersionMismatch',
        `${mismatches.join('; ')}: build the expected versions into the image or update spec.apps`,
      );
}

/**
 * Minimum availability as the Deployment controller reports it: condition `Available=True`. A
 * rolling update with maxUnavailable 0 keeps it, so an available component stays available while
 * it rolls (the old pods serve until the new ones are ready).
 */
export function deploymentMinimumAvailable(d: Deployment | undefined): boolean {
  return d?.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True') === true;
}

/**
 * The Deployment's current generation is rolled out: the Deployment controller has observed it,
 * and every replica is updated and available (`updatedReplicas == replicas == availableReplicas`).
 * A Deployment whose observedGeneration is behind its generation (just patched) is not.
 */
export function deploymentRolledOut(d: Deployment | undefined): boolean {
  if (d === undefined) return false;
  const want = d.spec.replicas ?? 1;
  const s = d.status;
  return (
    (s?.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) &&
    (s?.updatedReplicas ?? 0) === want &&
    (s?.replicas ?? 0) === want &&
    (s?.availableReplicas ?? 0) === want
  );
}

/**
 * A component is available (API.md §2.1 Ready) when its Deployment is
 * (`deploymentMinimumAvailable`),
 * and also when
 * - it runs 0 replicas by design: KEDA scaled it to zero (minReplicas 0) or staticReplicas is 0 —
 *   an idle worker at zero is not missing anything;
 * - its autoscaler is adding replicas above the floor: the Deployment's own condition turns False
 *   while new pods start (maxUnavailable 0), but the minReplicas pods the component needs serve.
 */
export function componentAvailable(d: Deployment | undefined, plan: ScalingPlan): boolean {
  if (d === undefined) return false;
  if (deploymentMinimumAvailable(d)) return true;
  if (plan.minReplicas === 0 && d.spec.replicas === 0) return true;
  return (
    plan.providerManaged &&
    plan.minReplicas > 0 &&
    (d.status?.availableReplicas ?? 0) >= plan.minReplicas
  );
}

const runsImage = (d: Deployment | undefined, image: string): boolean =>
  d?.spec.template.spec?.containers.every((c) => c.image === image) ?? false;

function componentsCondition(o: Observed) {
  if (o.initializedImage === undefined) {
    return notOk(
      'ComponentsReady',
      'WaitingForInit',
      'the Deployments are created once bench-init has succeeded',
    );
  }
  const waiting = DEPLOYMENT_COMPONENTS.filter(
    (c) => !componentAvailable(o.deployments[c], o.plans[c]),
  );
  return waiting.length === 0
    ? ok('ComponentsReady', 'Available', 'all 7 Deployments are available')
    : notOk('ComponentsReady', 'NotAvailable', `not available yet: ${waiting.join(', ')}`);
}

function autoscalingCondition(o: Observed) {
  if (o.providerMissing.length > 0) {
    const which = o.providerMissing
      .map((c) => `${c} (${o.plans[c].replicas ?? 0} replicas)`)
      .join(', ');
    return notOk(
      'AutoscalingReady',
      'ProviderNotInstalled',
      `KEDA (keda.sh/v1alpha1 ScaledObject) is not installed: ${which} run staticReplicas; install KEDA or use provider hpa`,
    );
  }
  if (o.metricsMissing.length > 0) {
    return notOk(
      'AutoscalingReady',
      'MetricsAPIUnavailable',
      `the metrics API (metrics.k8s.io) is unavailable: the HPAs of ${o.metricsMissing.join(', ')} cannot scale; install metrics-server`,
    );
  }
  const managed = DEPLOYMENT_COMPONENTS.filter((c) => o.plans[c].providerManaged);
  return managed.length === 0
    ? ok('AutoscalingReady', 'NotConfigured', 'no component is autoscaled')
    : ok('AutoscalingReady', 'Applied', `autoscalers in place for ${managed.join(', ')}`);
}

const STEP_CONDITION: Record<Step, string> = {
  storage: 'StorageReady',
  redis: 'RedisReady',
  init: 'Initialized',
  components: 'ComponentsReady',
  autoscaling: 'AutoscalingReady',
};

const capitalise = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

export function componentScaling(o: Observed): Record<DeploymentComponent, ComponentScalingStatus> {
  return Object.fromEntries(
    DEPLOYMENT_COMPONENTS.map((c) => {
      const plan = o.plans[c];
      const d = o.deployments[c];
      return [
        c,
        {
          mode: plan.mode,
          provider: plan.provider,
          currentReplicas: d?.status?.replicas ?? 0,
          desiredReplicas: d?.spec.replicas ?? 0,
          // The autoscaler decides: until it first writes spec.replicas the operator only
          // re-sends the count the Deployment already has (or minReplicas at creation), never a
          // count of its own (autoscaling.ts).
          providerManaged: plan.providerManaged,
        },
      ];
    }),
  ) as Record<DeploymentComponent, ComponentScalingStatus>;
}

/** The status for `bench` given what was observed; `now` stamps changed conditions. */
export function benchStatus(
  bench: FrappeBench,
  o: Observed,
  now: Date = new Date(),
): FrappeBenchStatus {
  const generation = bench.metadata.generation ?? 0;
  const previous = (bench.status?.conditions ?? []) as Condition[];
  const inputs: ConditionInput[] = [];
  const put = (c: Omit<ConditionInput, 'observedGeneration'>) =>
    inputs.push({ ...c, observedGeneration: generation });

  const steps = [
    storageCondition(o),
    redisCondition(o),
    initCondition(o),
    componentsCondition(o),
    autoscalingCondition(o),
  ];
  // A step that threw overrides its own condition: it says what failed.
  const failed = o.failedStep;
  const stepConditions = steps.map((c) =>
    failed !== undefined && c.type === STEP_CONDITION[failed.step]
      ? notOk(
          c.type,
          `${capitalise(failed.step)}Error`,
          `step ${failed.step} failed: ${failed.message}`,
        )
      : c,
  );
  for (const c of stepConditions) put(c);
  put(appsCondition(o));

  const byType = new Map(stepConditions.map((c) => [c.type, c]));
  const initFailed = o.init.phase === 'Failed';
  // Ready: serving works — storage, Redis, an initialised image, every Deployment available, and
  // the latest bench-init has not failed. An upgrade's bench-init running keeps Ready.
  const readyBlocker =
    failed === undefined
      ? ((['StorageReady', 'RedisReady'] as const)
          .map((t) => byType.get(t))
          .find((c) => c?.status !== 'True') ??
        (initFailed || o.initializedImage === undefined ? byType.get('Initialized') : undefined) ??
        (byType.get('ComponentsReady')?.status === 'True'
          ? undefined
          : byType.get('ComponentsReady')))
      : byType.get(STEP_CONDITION[failed.step]);
  const ready = readyBlocker === undefined;
  put(
    ready
      ? ok('Ready', 'Ready', `the bench serves ${o.image}`)
      : notOk(
          'Ready',
          readyBlocker.reason === 'Running' ? 'InitRunning' : readyBlocker.reason,
          readyBlocker.message,
        ),
  );

  const rollingOut = DEPLOYMENT_COMPONENTS.filter(
    (c) => !deploymentRolledOut(o.deployments[c]) || !runsImage(o.deployments[c], o.image),
  );
  const progressing = initFailed
    ? notOk(
        'Progressing',
        'InitFailed',
        'stopped: bench-init failed for the new inputs; the Deployments keep their image',
      )
    : o.init.phase === 'Running'
      ? ok('Progressing', 'InitRunning', `bench-init is running for ${o.init.image}`)
      : rollingOut.length > 0
        ? ok('Progressing', 'RollingOut', `rolling out ${o.image}: ${rollingOut.join(', ')}`)
        : notOk('Progressing', 'Complete', `every component runs ${o.image}`);
  put(progressing);

  const autoscaling = byType.get('AutoscalingReady');
  put(
    initFailed
      ? ok('Degraded', 'InitFailed', byType.get('Initialized')?.message ?? '')
      : autoscaling?.reason === 'ProviderNotInstalled'
        ? ok('Degraded', 'ProviderNotInstalled', autoscaling.message)
        : failed !== undefined
          ? ok(
              'Degraded',
              `${capitalise(failed.step)}Error`,
              `step ${failed.step} failed: ${failed.message}`,
            )
          : notOk('Degraded', 'AsExpected', 'nothing is degraded'),
  );

  let conditions = previous.filter((c) => inputs.some((i) => i.type === c.type));
  for (const input of inputs) conditions = setCondition(conditions, input, now);

  const phase =
    !ready && initFailed
      ? 'Failed'
      : ready
        ? progressing.status === 'True'
          ? 'Updating'
          : 'Ready'
        : o.initializedImage === undefined && byType.get('StorageReady')?.status !== 'True'
          ? 'Pending'
          : 'Provisioning';

  return {
    phase,
    observedGeneration: failed === undefined ? generation : (bench.status?.observedGeneration ?? 0),
    conditions,
    image: o.image,
    ...(o.initializedImage === undefined ? {} : { initializedImage: o.initializedImage }),
    benchId: o.benchId,
    ...(o.apps === undefined ? {} : { apps: o.apps, installedApps: o.apps.map((a) => a.name) }),
    siteCount: o.siteCount,
    componentScaling: componentScaling(o),
  };
}

/**
 * The status while deletion waits for `sites` (namespace/name) or proceeds: the last status with
 * phase Deleting and the Terminating condition.
 */
export function terminatingStatus(
  bench: FrappeBench,
  sites: string[],
  now: Date = new Date(),
): FrappeBenchStatus {
  const shown = sites.slice(0, 10).join(', ') + (sites.length > 10 ? ', ...' : '');
  const condition: ConditionInput =
    sites.length > 0
      ? {
          type: 'Terminating',
          status: 'False',
          reason: 'DependentSitesExist',
          message: `deletion waits for ${sites.length} FrappeSite(s) on this bench: ${shown}; delete them first`,
          observedGeneration: bench.metadata.generation ?? 0,
        }
      : {
          type: 'Terminating',
          status: 'True',
          reason: 'Deleting',
          message: 'no FrappeSite references the bench; deleting',
          observedGeneration: bench.metadata.generation ?? 0,
        };
  return {
    ...bench.status,
    phase: 'Deleting',
    conditions: setCondition(bench.status?.conditions, condition, now),
  };
}

/** The event a condition entering its current status and reason is worth, if any. */
function eventFor(c: Condition): EventInput | undefined {
  const event = (type: EventInput['type'], reason: string, action: string): EventInput => ({
    type,
    reason,
    action,
    note: c.message,
  });
  switch (c.type) {
    case 'Ready':
      return c.status === 'True' ? event('Normal', 'BenchReady', 'Reconcile') : undefined;
    case 'Initialized':
      if (c.reason === 'Succeeded') return event('Normal', 'Initialized', 'BenchInit');
      return c.reason === 'InitFailed' ? event('Warning', 'InitFailed', 'BenchInit') : undefined;
    case 'AutoscalingReady':
      return c.status === 'False' ? event('Warning', c.reason, 'Autoscale') : undefined;
    case 'Terminating':
      return c.reason === 'DependentSitesExist' ? event('Warning', c.reason, 'Delete') : undefined;
    case 'Degraded':
      return c.status === 'True' && c.reason.endsWith('Error')
        ? event('Warning', c.reason, 'Reconcile')
        : undefined;
    default:
      return undefined;
  }
}

/** Events for condition transitions between two statuses (API.md §1.2: transitions only). */
export function transitions(
  before: FrappeBenchStatus | undefined,
  after: FrappeBenchStatus,
): EventInput[] {
  const prior = new Map((before?.conditions ?? []).map((c) => [c.type, c]));
  return (after.conditions ?? []).flatMap((c) => {
    const p = prior.get(c.type);
    const e = p?.status === c.status && p.reason === c.reason ? undefined : eventFor(c);
    return e === undefined ? [] : [e];
  });
}
