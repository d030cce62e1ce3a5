// The bench resolved once: the FrappeBench with its schema defaults applied and the context the
// reconciler gathered, turned into the effective settings every builder takes — names, the
// image, security contexts and pod settings, per-component resources, Redis, apps, the
// bench-init config and the scaling plans. Builders read the plan and never derive a setting
// again, so each rule (a default, a precedence) lives in exactly one place.
import type { FrappeBench } from '../../api/v1alpha1/index.ts';
import { FrappeBenchDefaults } from '../../api/v1alpha1/defaulting.ts';
import type { Stored } from '../../kube/informer.ts';
import { normaliseVersion, resolveImage } from '../shared/image.ts';
import { standardLabels, versionLabel, type Component, type Labels } from '../shared/labels.ts';
import type { ResourceRequirements } from '../shared/k8s.ts';
import { childName } from '../shared/naming.ts';
import type { PodConfig, PodSettings, PullPolicy } from '../shared/pod.ts';
import { DEFAULT_RESOURCES } from '../../api/v1alpha1/resources.ts';
import { jobResources, mergeResources } from '../shared/resources.ts';
import { securityContexts } from '../shared/security.ts';
import { scalingPlans, type ScalingPlan } from './autoscaling.ts';
import { COMPONENTS } from './components.ts';
import {
  DEPLOYMENT_COMPONENTS,
  type BenchContext,
  type DeploymentComponent,
  type DeploymentState,
  type InitRecord,
  type RedisPasswordState,
} from './context.ts';
import { inputsHash, jobPhase } from '../../runtime/jobs.ts';
import { commonSiteConfig, initInputs, requiredApps, type RequiredApp } from './init.ts';
import { redisPlan, type RedisPlan } from './redis.ts';
import type { OperatorDefaults } from '../shared/defaults.ts';
import { InvalidSpecError } from '../shared/invalid-spec.ts';

export interface BenchPlan {
  /** The bench with its schema defaults applied: owner of every child. */
  bench: FrappeBench;
  spec: FrappeBench['spec'];
  name: string;
  namespace: string;
  /** `bench_id` of `common_site_config.json` and of the RQ queue names: `<namespace>-<bench>`. */
  benchId: string;
  /** The image serving pods should run (status.image), and its version label. */
  image: string;
  versionLabels: Labels;
  /** The hash of bench-init's inputs (with the retry annotation). */
  initHash: string;
  /**
   * The last successful bench-init — the cached Job when it succeeded for the current inputs,
   * else the bench's status; the Deployments run its image.
   */
  initialized: InitRecord | undefined;
  /** Discovery lists KEDA's ScaledObject. */
  kedaAvailable: boolean;
  /** Existing Deployments by component. */
  deployments: Partial<Record<DeploymentComponent, DeploymentState>>;
  /** Pod settings of every pod of the bench, but the image. */
  pod: Omit<PodSettings, 'image'>;
  resources: {
    components: Record<DeploymentComponent, ResourceRequirements>;
    assets: ResourceRequirements;
    benchInit: ResourceRequirements;
  };
  redis: RedisPlan;
  /** The Redis password Secret's content as read (hashed), or why it is missing or unusable. */
  redisPassword: RedisPasswordState | undefined;
  /** gunicorn's argv settings (`spec.gunicorn`, schema defaults filled in). */
  gunicorn: GunicornSettings;
  /** The statsd-exporter sidecar's image when `gunicorn.metrics.enabled`; undefined: no metrics. */
  statsdExporterImage: string | undefined;
  /** nginx's real-IP settings (`spec.nginx`, schema defaults filled in). */
  nginx: NginxSettings;
  /** The apps the bench requires (`apps` merged with `appsJSON`). */
  apps: RequiredApp[];
  /** What bench-init merges into `common_site_config.json` (without the Redis password). */
  commonSiteConfig: Record<string, unknown>;
  scaling: Record<DeploymentComponent, ScalingPlan>;
}

/** `spec.gunicorn` with every default filled in. */
export interface GunicornSettings {
  workers: number;
  threads: number;
  /** Seconds. */
  timeout: number;
  metrics: { enabled: boolean; image?: string };
}

/** `spec.nginx` with every default filled in. */
export interface NginxSettings {
  upstreamRealIPAddress: string;
  upstreamRealIPHeader: string;
  upstreamRealIPRecursive: 'on' | 'off';
}

/** `<bench>-<purpose>`, shortened when too long. */
export const benchChild = (plan: Pick<BenchPlan, 'name'>, purpose: string): string =>
  childName(plan.name, purpose);

/** Standard labels of a bench child. */
export const benchLabels = (plan: Pick<BenchPlan, 'name'>, component: Component): Labels =>
  standardLabels(plan.name, component);

/** The bench with its schema defaults applied (once per reconcile). */
export const withDefaults = (bench: Stored<FrappeBench>): Stored<FrappeBench> =>
  // Defaulting fills spec fields only: the stored metadata stays as it was.
  FrappeBenchDefaults.apply(bench) as Stored<FrappeBench>;

/**
 * The settings of every pod of the bench (defaults applied) and of its sites' Jobs, but the
 * image: pull settings, `podConfig`, security contexts (§5.1) and node co-location for RWO.
 */
export function benchPodSettings(
  bench: Stored<FrappeBench>,
  defaults: OperatorDefaults,
): Omit<PodSettings, 'image'> {
  const spec = bench.spec;
  const imageConfig = FrappeBenchDefaults.fill(spec.imageConfig, 'spec', 'imageConfig');
  return {
    bench: bench.metadata.name,
    // Filled from the schema's default.
    imagePullPolicy: imageConfig.pullPolicy as PullPolicy,
    imagePullSecrets: (imageConfig.pullSecrets ?? []).map((s) => ({ name: s.name })),
    podConfig: (spec.podConfig ?? {}) as PodConfig,
    security: securityContexts(spec.security, defaults.security, defaults.isOpenShift),
    sameNode: spec.storageAccessMode === 'ReadWriteOnce',
  };
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The free-form parts of `podConfig` the builders take apart themselves (the rest goes to the
 * API server as written, which judges it): an InvalidSpecError when their shape is wrong.
 */
function checkPodConfig(spec: FrappeBench['spec']): void {
  const affinity: unknown = spec.podConfig?.affinity;
  if (affinity === undefined) return;
  const field = 'spec.podConfig.affinity';
  if (!isRecord(affinity))
    throw new InvalidSpecError(field, 'must be an object (core/v1 Affinity)');
  const podAffinity = affinity.podAffinity;
  if (podAffinity === undefined) return;
  if (!isRecord(podAffinity)) {
    throw new InvalidSpecError(field, 'has a podAffinity that is not an object');
  }
  const required = podAffinity.requiredDuringSchedulingIgnoredDuringExecution;
  if (required !== undefined && !Array.isArray(required)) {
    throw new InvalidSpecError(
      field,
      'has a podAffinity.requiredDuringSchedulingIgnoredDuringExecution that is not a list of terms',
    );
  }
}

/**
 * Resolve `bench` (defaults applied) and the gathered context into the plan. Throws an
 * InvalidSpecError for a spec the schema admitted but no child can be built from.
 */
export function resolveBench(bench: Stored<FrappeBench>, ctx: BenchContext): BenchPlan {
  const spec = bench.spec;
  checkPodConfig(spec);
  const { name, namespace } = bench.metadata;
  const benchId = `${namespace}-${name}`;
  const resolvedRedis = redisPlan(spec, name, namespace, ctx.defaults);
  const passwordHash = ctx.redisPassword?.state === 'Ok' ? ctx.redisPassword.hash : undefined;
  const redis: RedisPlan =
    passwordHash === undefined ? resolvedRedis : { ...resolvedRedis, passwordHash };
  const componentResources = Object.fromEntries(
    DEPLOYMENT_COMPONENTS.map((c) => {
      const { resourceKey, defaults } = COMPONENTS[c];
      return [c, mergeResources(spec.componentResources?.[resourceKey], defaults)];
    }),
  ) as Record<DeploymentComponent, ResourceRequirements>;
  // Every field of these two has a schema default, filled in here.
  const gunicorn = FrappeBenchDefaults.fill(spec.gunicorn, 'spec', 'gunicorn') as GunicornSettings;
  const nginx = FrappeBenchDefaults.fill(spec.nginx, 'spec', 'nginx') as NginxSettings;
  const image = resolveImage(spec, ctx.defaults.frappeImage);
  const apps = requiredApps(spec);
  const config = commonSiteConfig(spec, redis, benchId);
  const initHash = inputsHash(initInputs({ image, apps, commonSiteConfig: config, redis }), bench);
  // A bench-init that succeeded for the current inputs ran for the image they name (the hash
  // covers it): the image is never read back from the Job, whose annotations the namespace's
  // users may edit.
  const initialized =
    jobPhase(ctx.initJob, initHash, undefined).phase === 'Succeeded'
      ? { image, inputsHash: initHash }
      : ctx.initRecord;
  return {
    bench,
    spec,
    name,
    namespace,
    benchId,
    image,
    versionLabels: versionLabel(
      spec.frappeVersion === undefined ? undefined : normaliseVersion(spec.frappeVersion),
    ),
    initHash,
    initialized,
    kedaAvailable: ctx.kedaAvailable,
    deployments: ctx.deployments,
    pod: benchPodSettings(bench, ctx.defaults),
    resources: {
      components: componentResources,
      assets: mergeResources(undefined, DEFAULT_RESOURCES.assets),
      benchInit: jobResources(spec.jobResources, 'benchInit'),
    },
    redis,
    redisPassword: ctx.redisPassword,
    gunicorn,
    statsdExporterImage: gunicorn.metrics.enabled
      ? (gunicorn.metrics.image ?? ctx.defaults.statsdExporterImage)
      : undefined,
    nginx,
    apps,
    commonSiteConfig: config,
    scaling: scalingPlans(spec, ctx),
  };
}
