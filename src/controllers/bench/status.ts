// The bench's status (API.md §2.1). Each reconcile step judges what it made with a pure function
// here (storage, redis, init, components, autoscaling → Done, Wait or Stop, the step's
// condition); `benchStatus` adds what sums the walk up: AppsVerified, Ready (the first step that
// blocks, runtime/steps.ts), Progressing, Degraded, the phase and the per-component scaling.
// Terminating while deletion waits. Pure: the reconciler writes the result only when it
// differs, and records events for the transitions `transitions` reports.
import type {
  ComponentScalingStatus,
  FrappeBench,
  FrappeBenchStatus,
} from '../../api/v1alpha1/index.ts';
import {
  falseCondition,
  setCondition,
  trueCondition,
  type Condition,
  type ConditionInput,
} from '../../runtime/conditions.ts';
import { transitionEvents, type EventInput } from '../../runtime/events.ts';
import { errorMessage } from '../../runtime/errors.ts';
import {
  done,
  errorReason,
  notReadyCondition,
  outcomeOf,
  stepConditions,
  stop,
  wait,
  type StepOutcome,
  type Walk,
} from '../../runtime/steps.ts';
import { isInvalidSpecReason } from '../shared/invalid-spec.ts';
import type { Deployment, PersistentVolumeClaim, StatefulSet } from '../shared/objects.ts';
import type { KubeObject } from '../../kube/client.ts';
import type { ScalingPlan } from './autoscaling.ts';
import { DEPLOYMENT_COMPONENTS, type DeploymentComponent } from './context.ts';
import type { RequiredApp } from './init.ts';
import { STATSD_CONTAINER } from './statsd.ts';

/** Where bench-init stands for the current inputs. */
export type InitState =
  | { phase: 'Succeeded'; image: string }
  | { phase: 'Running'; image: string }
  | { phase: 'Failed'; image: string; reason: string; message: string };

/** What the summary conditions need besides the walk. */
export interface Observed {
  init: InitState;
  /** The image serving pods should run, and the one bench-init last succeeded for. */
  image: string;
  initializedImage: string | undefined;
  /** The inputs hash of the last successful bench-init (undefined: not recorded). */
  initializedInputsHash?: string | undefined;
  deployments: Partial<Record<DeploymentComponent, Deployment>>;
  scaling: Record<DeploymentComponent, ScalingPlan>;
  requiredApps: RequiredApp[];
  /** Apps and versions bench-init reported; undefined when unknown. */
  apps: { name: string; version?: string }[] | undefined;
  siteCount: number;
  benchId: string;
}

const ok = trueCondition;
const notOk = falseCondition;

// ---- the steps' judgements ----------------------------------------------------------------

export function storageOutcome(
  claim: PersistentVolumeClaim | undefined,
  claimName: string,
): StepOutcome {
  const phase = claim?.status?.phase;
  if (phase === 'Bound') return done('Bound', `PersistentVolumeClaim ${claimName} is bound`);
  // Not a Wait: a claim of a WaitForFirstConsumer class binds only once bench-init mounts it.
  return done(
    phase ?? 'Creating',
    `PersistentVolumeClaim ${claimName} is ${phase ?? 'being created'}: check \`kubectl describe pvc ${claimName}\`; its StorageClass must provide the bench's storageAccessMode`,
    { status: 'False' },
  );
}

const replicaSetReady = (s: StatefulSet | undefined): boolean =>
  s !== undefined &&
  (s.status?.observedGeneration ?? 0) >= (s.metadata.generation ?? 0) &&
  (s.status?.readyReplicas ?? 0) >= (s.spec.replicas ?? 1) &&
  (s.status?.updatedReplicas ?? 0) >= (s.spec.replicas ?? 1);

/** The built-in Redis StatefulSets (undefined: an external Redis). */
export function redisOutcome(statefulSets: (StatefulSet | undefined)[] | undefined): StepOutcome {
  if (statefulSets === undefined) return done('External', 'using the external Redis');
  const waiting = statefulSets.filter((s) => !replicaSetReady(s)).length;
  return waiting === 0
    ? done('Ready', 'redis-cache and redis-queue are ready')
    : done('NotReady', `${waiting} of 2 Redis StatefulSets are not ready yet`, {
        status: 'False',
      });
}

/**
 * bench-init for the current inputs. While an earlier image serves (`initializedImage`), a
 * running or failed bench-init does not stop the walk: the Deployments keep that image.
 */
export function initOutcome(init: InitState, initializedImage: string | undefined): StepOutcome {
  const serving = initializedImage !== undefined;
  switch (init.phase) {
    case 'Succeeded':
      return done('Succeeded', `bench-init succeeded for ${init.image}`);
    case 'Running': {
      const message = `bench-init is running for ${init.image}`;
      return serving
        ? done('Running', message, { status: 'False', holdsReady: false })
        : wait('Running', message);
    }
    case 'Failed': {
      const message = `bench-init failed for ${init.image} (${init.reason}): ${init.message}. Fix the cause, then change the annotation vyogo.tech/retry to run it again`;
      return serving
        ? done('InitFailed', message, { status: 'False' })
        : stop('InitFailed', message);
    }
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

/** Whether the Deployment's Frappe containers run `image` (the metrics sidecar has its own). */
const runsImage = (d: Deployment | undefined, image: string): boolean =>
  d?.spec.template.spec?.containers
    .filter((c) => c.name !== STATSD_CONTAINER)
    .every((c) => c.image === image) ?? false;

export function componentsOutcome(
  deployments: Partial<Record<DeploymentComponent, Deployment>>,
  scaling: Record<DeploymentComponent, ScalingPlan>,
): StepOutcome {
  const waiting = DEPLOYMENT_COMPONENTS.filter(
    (c) => !componentAvailable(deployments[c], scaling[c]),
  );
  return waiting.length === 0
    ? done('Available', 'all 7 Deployments are available')
    : done('NotAvailable', `not available yet: ${waiting.join(', ')}`, { status: 'False' });
}

/** KEDA's own verdict on a ScaledObject: its `Ready` condition, when KEDA has set one. */
function kedaReady(so: KubeObject | undefined): Partial<Condition> | undefined {
  const conditions = (so as { status?: { conditions?: unknown } } | undefined)?.status?.conditions;
  if (!Array.isArray(conditions)) return undefined;
  return (conditions as Partial<Condition>[]).find((x) => x.type === 'Ready');
}

/**
 * The autoscalers the spec asks for are in place (API.md §2.1 Ready): every HPA and ScaledObject
 * exists (`autoscalers`: what the step applied, by component), and KEDA has not refused a
 * ScaledObject (its `Ready=False`; before KEDA first reports, the object counts as in place).
 * Without KEDA the components run staticReplicas, which serves but is not what the spec asks
 * for: Ready waits (ProviderNotInstalled), and Degraded says so. Without the metrics API the HPAs
 * exist but cannot scale: AutoscalingReady says so without holding Ready.
 */
export function autoscalingOutcome(
  scaling: Record<DeploymentComponent, ScalingPlan>,
  metricsMissing: DeploymentComponent[],
  providerRecheckMs: number,
  autoscalers: Partial<Record<DeploymentComponent, KubeObject>>,
): StepOutcome {
  const providerMissing = DEPLOYMENT_COMPONENTS.filter(
    (c) => scaling[c].mode === 'autoscaled' && !scaling[c].providerManaged,
  );
  if (providerMissing.length > 0) {
    const which = providerMissing
      .map((c) => `${c} (${scaling[c].replicas ?? 0} replicas)`)
      .join(', ');
    return done(
      'ProviderNotInstalled',
      `KEDA (keda.sh/v1alpha1 ScaledObject) is not installed: ${which} run staticReplicas until it is; install KEDA or use provider hpa`,
      // Discovery is not watched: look again for KEDA now and then.
      { status: 'False', requeueAfter: providerRecheckMs },
    );
  }
  const managed = DEPLOYMENT_COMPONENTS.filter((c) => scaling[c].providerManaged);
  const absent = managed.filter((c) => autoscalers[c] === undefined);
  if (absent.length > 0) {
    return done('NotApplied', `no autoscaler yet for ${absent.join(', ')}`, { status: 'False' });
  }
  const refused = managed.flatMap((c) => {
    const so = scaling[c].provider === 'keda' ? autoscalers[c] : undefined;
    const ready = kedaReady(so);
    return ready?.status === 'False'
      ? [
          `${c} (ScaledObject ${so?.metadata.name ?? ''}: ${ready.reason ?? ''}: ${ready.message ?? ''})`,
        ]
      : [];
  });
  if (refused.length > 0) {
    return done(
      'ScaledObjectNotReady',
      `KEDA reports not ready: ${refused.join('; ')}; fix componentAutoscaling or see \`kubectl describe scaledobject\``,
      { status: 'False' },
    );
  }
  if (metricsMissing.length > 0) {
    return done(
      'MetricsAPIUnavailable',
      `the metrics API (metrics.k8s.io) is unavailable: the HPAs of ${metricsMissing.join(', ')} cannot scale; install metrics-server`,
      { status: 'False', holdsReady: false },
    );
  }
  return managed.length === 0
    ? done('NotConfigured', 'no component is autoscaled')
    : done('Applied', `autoscalers in place for ${managed.join(', ')}`);
}

export function componentScaling(o: Observed): Record<DeploymentComponent, ComponentScalingStatus> {
  return Object.fromEntries(
    DEPLOYMENT_COMPONENTS.map((c) => {
      const plan = o.scaling[c];
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

/** The status for `bench` after `walk`, given what was observed; `now` stamps changes. */
export function benchStatus(
  bench: FrappeBench,
  walk: Walk,
  o: Observed,
  now: Date = new Date(),
): FrappeBenchStatus {
  const generation = bench.metadata.generation ?? 0;
  const summary: Omit<ConditionInput, 'observedGeneration'>[] = [appsCondition(o)];

  const notReady = notReadyCondition(walk);
  const ready = notReady === undefined;
  summary.push(notReady ?? ok('Ready', 'Ready', `the bench serves ${o.image}`));

  const blocked =
    walk.blocker !== undefined && 'outcome' in walk.blocker ? walk.blocker : undefined;
  const invalid =
    blocked?.outcome.kind === 'Stop' && isInvalidSpecReason(blocked.outcome.reason)
      ? { step: blocked.step, ...blocked.outcome }
      : undefined;
  const initFailed = o.init.phase === 'Failed';
  const rollingOut = DEPLOYMENT_COMPONENTS.filter(
    (c) => !deploymentRolledOut(o.deployments[c]) || !runsImage(o.deployments[c], o.image),
  );
  const progressing = invalid
    ? notOk('Progressing', invalid.reason, `stopped at step ${invalid.step}: ${invalid.message}`)
    : initFailed
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
  summary.push(progressing);

  const init = outcomeOf(walk, 'Initialized');
  const autoscaling = outcomeOf(walk, 'AutoscalingReady');
  const failed = walk.error;
  summary.push(
    invalid !== undefined
      ? ok('Degraded', invalid.reason, invalid.message)
      : initFailed && init !== undefined
        ? ok('Degraded', 'InitFailed', init.message)
        : autoscaling?.reason === 'ProviderNotInstalled'
          ? ok('Degraded', 'ProviderNotInstalled', autoscaling.message)
          : failed !== undefined
            ? ok(
                'Degraded',
                errorReason(failed.step),
                `step ${failed.step} failed: ${errorMessage(failed.error)}`,
              )
            : notOk('Degraded', 'AsExpected', 'nothing is degraded'),
  );

  let conditions = stepConditions(bench.status?.conditions, walk, generation, now);
  for (const c of summary) {
    conditions = setCondition(conditions, { ...c, observedGeneration: generation }, now);
  }
  const storage = outcomeOf(walk, 'StorageReady');

  const phase =
    !ready && initFailed
      ? 'Failed'
      : ready
        ? progressing.status === 'True'
          ? 'Updating'
          : 'Ready'
        : o.initializedImage === undefined &&
            (storage === undefined || storage.kind !== 'Done' || storage.status !== 'True')
          ? 'Pending'
          : 'Provisioning';

  return {
    phase,
    observedGeneration: failed === undefined ? generation : (bench.status?.observedGeneration ?? 0),
    conditions,
    image: o.image,
    ...(o.initializedImage === undefined ? {} : { initializedImage: o.initializedImage }),
    ...(o.initializedInputsHash === undefined
      ? {}
      : { initializedInputsHash: o.initializedInputsHash }),
    benchId: o.benchId,
    ...(o.apps === undefined ? {} : { apps: o.apps, installedApps: o.apps.map((a) => a.name) }),
    siteCount: o.siteCount,
    componentScaling: componentScaling(o),
  };
}

/**
 * The status of a bench whose spec cannot be built at all (the plan refused it): the last status
 * with Ready=False, Degraded=True and Progressing=False, each naming the field.
 */
export function invalidSpecStatus(
  bench: FrappeBench,
  reason: string,
  message: string,
  now: Date = new Date(),
): FrappeBenchStatus {
  const observedGeneration = bench.metadata.generation ?? 0;
  const note = `${message}: fix the spec`;
  let conditions = bench.status?.conditions;
  for (const c of [
    notOk('Ready', reason, note),
    notOk('Progressing', reason, `stopped: ${note}`),
    ok('Degraded', reason, note),
  ]) {
    conditions = setCondition(conditions, { ...c, observedGeneration }, now);
  }
  return {
    ...bench.status,
    phase: bench.status?.phase ?? 'Pending',
    observedGeneration,
    conditions,
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
      // Ready=False names the blocking step and its reason (the step's own event, if any, wins).
      return c.status === 'True'
        ? event('Normal', 'BenchReady', 'Reconcile')
        : event('Normal', c.reason, 'Reconcile');
    case 'Initialized':
      if (c.reason === 'Succeeded') return event('Normal', 'Initialized', 'BenchInit');
      return c.reason === 'InitFailed' ? event('Warning', 'InitFailed', 'BenchInit') : undefined;
    case 'AutoscalingReady':
      return c.status === 'False' ? event('Warning', c.reason, 'Autoscale') : undefined;
    case 'Terminating':
      return c.reason === 'DependentSitesExist' ? event('Warning', c.reason, 'Delete') : undefined;
    case 'Degraded':
      return c.status === 'True' && (c.reason.endsWith('Error') || isInvalidSpecReason(c.reason))
        ? event('Warning', c.reason, 'Reconcile')
        : undefined;
    default:
      return undefined;
  }
}

/** Events for condition transitions between two statuses (API.md §1.2: transitions only). */
export const transitions = (
  before: FrappeBenchStatus | undefined,
  after: FrappeBenchStatus,
): EventInput[] => transitionEvents(before?.conditions, after.conditions, eventFor);
