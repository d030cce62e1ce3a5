// What the bench builders need besides the FrappeBench itself, gathered by the reconciler from
// the operator configuration, discovery and the informer caches. `resolveBench` (plan.ts) turns
// the bench and this context into the plan every builder takes.
import type { ComponentName } from '../../api/v1alpha1/index.ts';
import { COMPONENTS } from '../../api/v1alpha1/names.ts';
import type { JobObject } from '../../runtime/jobs.ts';
import type { OperatorDefaults } from '../shared/defaults.ts';

/** The seven Deployments of a bench, named by their `component` label. */
export const DEPLOYMENT_COMPONENTS = COMPONENTS;
export type DeploymentComponent = ComponentName;

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
  /** `vyogo.tech/inputs-hash` of the Job; undefined when not recorded (an older status). */
  inputsHash: string | undefined;
}

/**
 * The Redis password as the reconciler read it from its Secret — never the value: a hash of
 * it, or why it cannot be used. Undefined: the bench's Redis has no password.
 */
export type RedisPasswordState =
  { state: 'Ok'; hash: string } | { state: 'Missing' | 'Invalid'; message: string };

export interface BenchContext {
  defaults: OperatorDefaults;
  /** Discovery lists `scaledobjects` in `keda.sh/v1alpha1`. */
  kedaAvailable: boolean;
  /** Existing Deployments by component; absent: not created yet. */
  deployments: Partial<Record<DeploymentComponent, DeploymentState>>;
  /**
   * The last successful bench-init as the bench's status records it (`initializedImage`,
   * `initializedInputsHash`): written by the operator only, never by the bench's users.
   */
  initRecord: InitRecord | undefined;
  /** The bench-init Job in the cache, if any. */
  initJob: JobObject | undefined;
  /** The Redis password Secret's content, hashed (undefined: no password). */
  redisPassword?: RedisPasswordState;
}
