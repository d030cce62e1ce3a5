// Plain-object types of the Kubernetes API models, derived from the generated classes of
// @kubernetes/client-node. The classes describe the JSON fields exactly, but builders produce
// object literals, not class instances (no prototype, no attribute maps), and timestamps arrive
// as strings, not Dates. `Plain<T>` keeps every field and drops the class-ness, recursively.
import type * as k8s from '@kubernetes/client-node';

export type Plain<T> = T extends Date
  ? string
  : T extends (infer U)[]
    ? Plain<U>[]
    : T extends object
      ? { [K in keyof T]: Plain<T[K]> }
      : T;

export type Affinity = Plain<k8s.V1Affinity>;
export type Container = Plain<k8s.V1Container>;
export type CronJobSpec = Plain<k8s.V1CronJobSpec>;
export type CronJobStatus = Plain<k8s.V1CronJobStatus>;
export type DeploymentSpec = Plain<k8s.V1DeploymentSpec>;
export type DeploymentStatus = Plain<k8s.V1DeploymentStatus>;
export type DeploymentStrategy = Plain<k8s.V1DeploymentStrategy>;
export type EnvVar = Plain<k8s.V1EnvVar>;
export type HorizontalPodAutoscalerSpec = Plain<k8s.V2HorizontalPodAutoscalerSpec>;
export type IngressSpec = Plain<k8s.V1IngressSpec>;
export type HorizontalPodAutoscalerStatus = Plain<k8s.V2HorizontalPodAutoscalerStatus>;
export type JobSpec = Plain<k8s.V1JobSpec>;
export type JobStatus = Plain<k8s.V1JobStatus>;
export type LocalObjectReference = Plain<k8s.V1LocalObjectReference>;
export type PersistentVolumeClaimSpec = Plain<k8s.V1PersistentVolumeClaimSpec>;
export type PersistentVolumeClaimStatus = Plain<k8s.V1PersistentVolumeClaimStatus>;
export type PodAffinityTerm = Plain<k8s.V1PodAffinityTerm>;
export type PodDisruptionBudgetSpec = Plain<k8s.V1PodDisruptionBudgetSpec>;
export type PodSecurityContext = Plain<k8s.V1PodSecurityContext>;
export type PodSpec = Plain<k8s.V1PodSpec>;
export type PodStatus = Plain<k8s.V1PodStatus>;
export type Probe = Plain<k8s.V1Probe>;
export type ResourceRequirements = Plain<k8s.V1ResourceRequirements>;
export type SecurityContext = Plain<k8s.V1SecurityContext>;
export type ServiceSpec = Plain<k8s.V1ServiceSpec>;
export type StatefulSetSpec = Plain<k8s.V1StatefulSetSpec>;
export type StatefulSetStatus = Plain<k8s.V1StatefulSetStatus>;
export type Toleration = Plain<k8s.V1Toleration>;
export type TopologySpreadConstraint = Plain<k8s.V1TopologySpreadConstraint>;
export type Volume = Plain<k8s.V1Volume>;
export type VolumeMount = Plain<k8s.V1VolumeMount>;
