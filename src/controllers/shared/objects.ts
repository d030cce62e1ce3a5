// Typed shapes of the Kubernetes objects the operator builds and reads: our KubeObject envelope
// (apiVersion, kind, required metadata) around the spec and status models of
// @kubernetes/client-node, so builders are type-checked field by field.
import type {
  CronJobSpec,
  CronJobStatus,
  DeploymentSpec,
  DeploymentStatus,
  JobSpec,
  JobStatus,
  PersistentVolumeClaimSpec,
  PersistentVolumeClaimStatus,
  PodDisruptionBudgetSpec,
  PodSpec,
  PodStatus,
  ServiceSpec,
  StatefulSetSpec,
  StatefulSetStatus,
  HorizontalPodAutoscalerSpec,
  HorizontalPodAutoscalerStatus,
  IngressSpec,
} from './k8s.ts';
import type { KubeObject } from '../../kube/client.ts';

export interface Deployment extends KubeObject {
  spec: DeploymentSpec;
  status?: DeploymentStatus;
}

export interface StatefulSet extends KubeObject {
  spec: StatefulSetSpec;
  status?: StatefulSetStatus;
}

export interface Service extends KubeObject {
  spec: ServiceSpec;
}

export interface Job extends KubeObject {
  spec: JobSpec;
  status?: JobStatus;
}

export interface CronJob extends KubeObject {
  spec: CronJobSpec;
  status?: CronJobStatus;
}

export interface Pod extends KubeObject {
  spec: PodSpec;
  status?: PodStatus;
}

export interface PersistentVolumeClaim extends KubeObject {
  spec: PersistentVolumeClaimSpec;
  status?: PersistentVolumeClaimStatus;
}

export interface PodDisruptionBudget extends KubeObject {
  spec: PodDisruptionBudgetSpec;
}

export interface HorizontalPodAutoscaler extends KubeObject {
  spec: HorizontalPodAutoscalerSpec;
  status?: HorizontalPodAutoscalerStatus;
}

export interface Ingress extends KubeObject {
  spec: IngressSpec;
}

export interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

export interface ConfigMap extends KubeObject {
  immutable?: boolean;
  data?: Record<string, string>;
}

/** apiVersion and kind of every kind above, for the client and the informers. */
export const KINDS = {
  Deployment: { apiVersion: 'apps/v1', kind: 'Deployment' },
  StatefulSet: { apiVersion: 'apps/v1', kind: 'StatefulSet' },
  Service: { apiVersion: 'v1', kind: 'Service' },
  Job: { apiVersion: 'batch/v1', kind: 'Job' },
  CronJob: { apiVersion: 'batch/v1', kind: 'CronJob' },
  Pod: { apiVersion: 'v1', kind: 'Pod' },
  PersistentVolumeClaim: { apiVersion: 'v1', kind: 'PersistentVolumeClaim' },
  PodDisruptionBudget: { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' },
  HorizontalPodAutoscaler: { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler' },
  Secret: { apiVersion: 'v1', kind: 'Secret' },
  ConfigMap: { apiVersion: 'v1', kind: 'ConfigMap' },
  Ingress: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' },
} as const;
