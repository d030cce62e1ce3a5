// The Jobs every controller makes (API.md §3.1): owned by their resource, pods that never
// restart (`podSpec(…, restartPolicy: 'Never')`), kept a day after they finish
// (`ttlSecondsAfterFinished: 86400`; outcomes live on in status), the pod template labelled and
// annotated like every pod of the bench.
import type { KubeObject } from '../../kube/client.ts';
import type { JobSpec, PodSpec } from './k8s.ts';
import type { Labels } from './labels.ts';
import { childMeta } from './meta.ts';
import { KINDS, type Job } from './objects.ts';
import { podTemplateMeta, type PodSettings } from './pod.ts';

const JOB_TTL_SECONDS = 86_400;

/** A Job's spec around `spec`, with its retry and time limits. */
export function jobSpec(
  pod: PodSettings,
  labels: Labels,
  spec: PodSpec,
  limits: { backoffLimit: number; activeDeadlineSeconds?: number },
): JobSpec {
  return {
    backoffLimit: limits.backoffLimit,
    ...(limits.activeDeadlineSeconds === undefined
      ? {}
      : { activeDeadlineSeconds: limits.activeDeadlineSeconds }),
    ttlSecondsAfterFinished: JOB_TTL_SECONDS,
    template: { metadata: podTemplateMeta(pod, labels), spec },
  };
}

/** Job `name` of `owner`, labelled `labels`. */
export const childJob = (
  owner: KubeObject,
  name: string,
  labels: Labels,
  annotations: Record<string, string> | undefined,
  spec: JobSpec,
): Job => ({ ...KINDS.Job, metadata: childMeta(owner, name, labels, annotations), spec });
