// What the bench builders need besides the FrappeBench itself, gathered by the reconciler from
// the operator configuration, discovery and the informer caches, so that every builder stays a
// pure function `(bench, ctx) → objects`. Also the per-bench values derived from both (benchId,
// image, pod settings) that several builders share.
import { COMPONENTS, type ComponentName, type FrappeBench } from '../../api/v1alpha1/index.ts';
import { normaliseVersion, resolveImage } from '../shared/image.ts';
import { standardLabels, versionLabel, type Component, type Labels } from '../shared/labels.ts';
import { childName } from '../shared/naming.ts';
import type { PodConfig, PodSettings } from '../shared/pod.ts';
import { securityContexts, type SecurityDefaults } from '../shared/security.ts';

/** The seven Deployments of a bench, named by their `component` label. */
export const DEPLOYMENT_COMPONENTS = COMPONENTS;
export type DeploymentComponent = ComponentName;

/** Operator-wide defaults (API.md §4.1, §5.1). */
export interface OperatorDefaults {
  frappeImage: string;
  redisImage: string;
  redisExporterImage: string;
  security: SecurityDefaults;
  isOpenShift: boolean;
}

/** What the cache says about an existing Deployment of the bench. */
export interface DeploymentState {
  /** `spec.replicas` as stored. */
  replicas: number | undefined;
  /** Another field manager (HPA, KEDA) has written `spec.replicas`. */
  autoscalerOwnsReplicas: boolean;
  /** `app.kubernetes.io/version` of its pod template. */
  versionLabel: string | undefined;
}

/** What a successful bench-init ran for. */
export interface InitRecord {
  image: string;
  /** `vyogo.tech/inputs-hash` of the Job. */
  inputsHash: string;
}

export interface BenchContext {
  defaults: OperatorDefaults;
  /** Discovery lists `scaledobjects` in `keda.sh/v1alpha1`. */
  kedaAvailable: boolean;
  /** Existing Deployments by component; absent: not created yet. */
  deployments: Partial<Record<DeploymentComponent, DeploymentState>>;
  /** The last successful bench-init (recorded on the sites PVC); Deployments run its image. */
  initialized: InitRecord | undefined;
}

/** `bench_id` of `common_site_config.json` and of the RQ queue names: `<namespace>-<bench>`. */
export const benchId = (bench: FrappeBench): string =>
  `${bench.metadata.namespace ?? ''}-${bench.metadata.name ?? ''}`;

export const benchName = (bench: FrappeBench): string => bench.metadata.name ?? '';

/** `<bench>-<purpose>`, shortened per API.md §1.3 when too long. */
export const benchChild = (bench: FrappeBench, purpose: string): string =>
  childName(benchName(bench), purpose);

/** The image serving pods of this bench should run (status.image). */
export const benchImage = (bench: FrappeBench, ctx: BenchContext): string =>
  resolveImage(bench.spec, ctx.defaults.frappeImage);

/** Standard labels of a bench child. */
export const benchLabels = (bench: FrappeBench, component: Component): Labels =>
  standardLabels(benchName(bench), component);

/** `app.kubernetes.io/version` of pods running the bench's own (desired) image. */
export const benchVersionLabel = (bench: FrappeBench): Labels =>
  versionLabel(
    bench.spec.frappeVersion === undefined ? undefined : normaliseVersion(bench.spec.frappeVersion),
  );

/** Pod settings of the bench's pods; `image` is the Frappe image they run. */
export function podSettings(bench: FrappeBench, ctx: BenchContext, image: string): PodSettings {
  const spec = bench.spec;
  return {
    bench: benchName(bench),
    image,
    imagePullPolicy: spec.imageConfig?.pullPolicy ?? 'IfNotPresent',
    imagePullSecrets: (spec.imageConfig?.pullSecrets ?? []).map((s) => ({ name: s.name })),
    podConfig: (spec.podConfig ?? {}) as PodConfig,
    security: securityContexts(spec.security, ctx.defaults.security, ctx.defaults.isOpenShift),
    sameNode: spec.storageAccessMode === 'ReadWriteOnce',
  };
}
