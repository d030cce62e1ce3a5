// Scaling of the bench Deployments (API.md §2.1 ComponentAutoscaling, §3.1 Replicas, §3.2): the
// per-component plan (static or autoscaled, provider, the replicas the operator sends), and the
// HorizontalPodAutoscaler (`autoscaling/v2`), KEDA ScaledObject (`keda.sh/v1alpha1`) and
// TriggerAuthentication that carry it out.
//
// Replicas: a static component gets `staticReplicas` (the scheduler always 1). An autoscaled one
// gets no `spec.replicas` once the autoscaler has written the field (API.md §3.1). Until then the
// operator sends a count, because dropping a field it alone owns would reset it to 1: a new
// Deployment starts at the autoscaler's `minReplicas` (not at 1, which the autoscaler would raise
// straight away while the component counted as unavailable), and a switch to autoscaled keeps the
// current count, so it never resets. Without KEDA a keda component runs `staticReplicas`, and
// status says why.
import type { AutoscaledComponent, FrappeBench } from '../../api/v1alpha1/index.ts';
import { FrappeBenchDefaults } from '../../api/v1alpha1/defaulting.ts';
import type { KubeObject } from '../../kube/client.ts';
import { childMeta } from '../shared/meta.ts';
import { KINDS, type HorizontalPodAutoscaler } from '../shared/objects.ts';
import { DEPLOYMENT_COMPONENTS, type BenchContext, type DeploymentComponent } from './context.ts';
import { benchChild, benchLabels, type BenchPlan } from './plan.ts';
import { PASSWORD_HASH_ANNOTATION } from './redis.ts';

export type Provider = 'hpa' | 'keda';

/** ComponentAutoscaling with every default filled in. */
export interface AutoscalingSettings {
  enabled: boolean;
  provider: Provider;
  staticReplicas: number;
  minReplicas: number;
  maxReplicas: number;
  cooldownPeriod: number;
  pollingInterval: number;
  hpa: {
    metric: 'cpu' | 'memory';
    targetUtilization: number;
    scaleUpStabilization: number;
    scaleDownStabilization: number;
  };
  keda: {
    trigger: 'redis' | 'cpu' | 'memory';
    targetValue: string;
    metadata: Record<string, string>;
  };
}

export interface ScalingPlan {
  /** What the user asked for. */
  mode: 'autoscaled' | 'static';
  provider: Provider | '';
  /** An HPA or ScaledObject exists for the component (its provider is available). */
  providerManaged: boolean;
  /** `spec.replicas` to send; undefined leaves the field to the autoscaler. */
  replicas: number | undefined;
  /** The fewest replicas the component runs by design (PDBs need ≥ 2). */
  minReplicas: number;
  settings: AutoscalingSettings | undefined;
}

const isWorker = (c: DeploymentComponent): boolean => c.startsWith('worker-');

/** A component's autoscaling entry, the schema's defaults filled in (also when it has none). */
export function autoscalingSettings(
  spec: FrappeBench['spec'],
  component: AutoscaledComponent,
): AutoscalingSettings {
  const path = ['spec', 'componentAutoscaling', '*'];
  const a = FrappeBenchDefaults.fill(spec.componentAutoscaling?.[component], ...path);
  const hpa = FrappeBenchDefaults.fill(a.hpa, ...path, 'hpa');
  // The trigger and its target have no schema default: they depend on the component.
  const trigger = a.keda?.trigger ?? (isWorker(component) ? 'redis' : 'cpu');
  // Every field below has a schema default, filled in above.
  return {
    enabled: a.enabled,
    provider: a.provider,
    staticReplicas: a.staticReplicas,
    minReplicas: a.minReplicas,
    maxReplicas: a.maxReplicas,
    cooldownPeriod: a.cooldownPeriod,
    pollingInterval: a.pollingInterval,
    hpa: {
      metric: hpa.metric,
      targetUtilization: hpa.targetUtilization,
      scaleUpStabilization: hpa.scaleUpStabilization,
      scaleDownStabilization: hpa.scaleDownStabilization,
    },
    keda: {
      trigger,
      targetValue: a.keda?.targetValue ?? (trigger === 'redis' ? '5' : '70'),
      metadata: a.keda?.metadata ?? {},
    },
  } as AutoscalingSettings;
}

export function scalingPlan(
  spec: FrappeBench['spec'],
  ctx: BenchContext,
  component: DeploymentComponent,
): ScalingPlan {
  if (component === 'scheduler') {
    return {
      mode: 'static',
      provider: '',
      providerManaged: false,
      replicas: 1,
      minReplicas: 1,
      settings: undefined,
    };
  }
  const settings = autoscalingSettings(spec, component);
  if (!settings.enabled) {
    return {
      mode: 'static',
      provider: '',
      providerManaged: false,
      replicas: settings.staticReplicas,
      minReplicas: settings.staticReplicas,
      settings,
    };
  }
  const available = settings.provider === 'hpa' || ctx.kedaAvailable;
  if (!available) {
    return {
      mode: 'autoscaled',
      provider: settings.provider,
      providerManaged: false,
      replicas: settings.staticReplicas,
      minReplicas: settings.staticReplicas,
      settings,
    };
  }
  const current = ctx.deployments[component];
  // KEDA with minReplicas 0 (scale to zero): a new Deployment starts at 0, the floor the user
  // chose. KEDA activates it on the first queued job (activationListLength 0) within
  // pollingInterval; starting at 1 would run a worker nobody asked for until cooldownPeriod ends
  // (and count against a ResourceQuota). A component at 0 replicas by design is available
  // (status.ts `componentAvailable`), so this does not hold Ready back.
  const initial = settings.minReplicas;
  return {
    mode: 'autoscaled',
    provider: settings.provider,
    providerManaged: true,
    replicas:
      current === undefined
        ? initial
        : current.autoscalerOwnsReplicas
          ? undefined
          : (current.replicas ?? initial),
    minReplicas: settings.minReplicas,
    settings,
  };
}

export const scalingPlans = (
  spec: FrappeBench['spec'],
  ctx: BenchContext,
): Record<DeploymentComponent, ScalingPlan> =>
  Object.fromEntries(DEPLOYMENT_COMPONENTS.map((c) => [c, scalingPlan(spec, ctx, c)])) as Record<
    DeploymentComponent,
    ScalingPlan
  >;

/** A ScaledObject or TriggerAuthentication (keda.sh/v1alpha1). */
export interface KedaObject extends KubeObject {
  spec: Record<string, unknown>;
}

export const KEDA_API_VERSION = 'keda.sh/v1alpha1';

const target = (plan: BenchPlan, component: AutoscaledComponent) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  name: benchChild(plan, component),
});

export function horizontalPodAutoscaler(
  plan: BenchPlan,
  component: AutoscaledComponent,
  s: AutoscalingSettings,
): HorizontalPodAutoscaler {
  return {
    ...KINDS.HorizontalPodAutoscaler,
    metadata: childMeta(plan.bench, benchChild(plan, component), benchLabels(plan, component)),
    spec: {
      scaleTargetRef: target(plan, component),
      minReplicas: s.minReplicas,
      maxReplicas: s.maxReplicas,
      metrics: [
        {
          type: 'Resource',
          resource: {
            name: s.hpa.metric,
            target: { type: 'Utilization', averageUtilization: s.hpa.targetUtilization },
          },
        },
      ],
      behavior: {
        scaleUp: { stabilizationWindowSeconds: s.hpa.scaleUpStabilization },
        scaleDown: { stabilizationWindowSeconds: s.hpa.scaleDownStabilization },
      },
    },
  };
}

/** The TriggerAuthentication shared by the redis triggers of one bench. */
export const triggerAuthName = (plan: BenchPlan): string => benchChild(plan, 'redis-queue');

const QUEUES: Partial<Record<AutoscaledComponent, string>> = {
  'worker-default': 'default',
  'worker-short': 'short',
  'worker-long': 'long',
};

function trigger(plan: BenchPlan, component: AutoscaledComponent, s: AutoscalingSettings) {
  if (s.keda.trigger !== 'redis') {
    return {
      type: s.keda.trigger,
      metricType: 'Utilization',
      metadata: { value: s.keda.targetValue, ...s.keda.metadata },
    };
  }
  const redis = plan.redis;
  return {
    type: 'redis',
    metadata: {
      address: redis.queue,
      listName: `rq:queue:${plan.benchId}:${QUEUES[component] ?? 'default'}`,
      listLength: s.keda.targetValue,
      activationListLength: '0',
      databaseIndex: '0',
      ...s.keda.metadata,
    },
    ...(redis.password === undefined ? {} : { authenticationRef: { name: triggerAuthName(plan) } }),
  };
}

export function scaledObject(
  plan: BenchPlan,
  component: AutoscaledComponent,
  s: AutoscalingSettings,
): KedaObject {
  return {
    apiVersion: KEDA_API_VERSION,
    kind: 'ScaledObject',
    metadata: childMeta(plan.bench, benchChild(plan, component), benchLabels(plan, component)),
    spec: {
      scaleTargetRef: target(plan, component),
      minReplicaCount: s.minReplicas,
      maxReplicaCount: s.maxReplicas,
      cooldownPeriod: s.cooldownPeriod,
      pollingInterval: s.pollingInterval,
      triggers: [trigger(plan, component, s)],
    },
  };
}

export function triggerAuthentication(plan: BenchPlan): KedaObject | undefined {
  const password = plan.redis.password;
  if (password === undefined) return undefined;
  return {
    apiVersion: KEDA_API_VERSION,
    kind: 'TriggerAuthentication',
    metadata: childMeta(
      plan.bench,
      triggerAuthName(plan),
      benchLabels(plan, 'redis-queue'),
      plan.redis.passwordHash === undefined
        ? undefined
        : { [PASSWORD_HASH_ANNOTATION]: plan.redis.passwordHash },
    ),
    spec: {
      secretTargetRef: [{ parameter: 'password', name: password.secretName, key: password.key }],
    },
  };
}

/** The autoscaler objects the plans call for. */
export function autoscalingObjects(plan: BenchPlan): (HorizontalPodAutoscaler | KedaObject)[] {
  const out: (HorizontalPodAutoscaler | KedaObject)[] = [];
  let redisTrigger = false;
  for (const component of DEPLOYMENT_COMPONENTS) {
    const scaling = plan.scaling[component];
    if (component === 'scheduler' || !scaling.providerManaged || scaling.settings === undefined) {
      continue;
    }
    if (scaling.provider === 'hpa') {
      out.push(horizontalPodAutoscaler(plan, component, scaling.settings));
    } else {
      out.push(scaledObject(plan, component, scaling.settings));
      redisTrigger ||= scaling.settings.keda.trigger === 'redis';
    }
  }
  const auth = redisTrigger ? triggerAuthentication(plan) : undefined;
  return auth === undefined ? out : [...out, auth];
}
