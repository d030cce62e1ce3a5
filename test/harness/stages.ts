// Per-test kwok stages: make the pods of one Job fail, or end with a given termination message,
// when the test cannot put kwok's labels on the pod template itself (e.g. a Job the operator
// creates). The stage is cluster-scoped and selects only that namespace and those pods, so
// parallel tests don't interfere; kwok (Stage-CRD mode) picks it up while running. Its weight
// beats pod-complete, so the pods end as the stage says.
import { randomBytes } from 'node:crypto';
import { kubectl } from './kubectl.ts';

export interface PodEnd {
  /** The container's exit code: 0 ends the pod Succeeded, anything else Failed. */
  exitCode?: number;
  /** The container's termination reason (default Completed or Error). */
  reason?: string;
  /** The container's termination message (default none). */
  message?: string;
}

/** Pods of Job `jobName`, or carrying `label` (`key=value`), in `namespace`. */
export type PodSelector = { jobName: string } | { label: [string, string] };

/**
 * Creates a Stage failing every Running pod of Job `jobName` in `namespace` (the Job then retries
 * up to its backoffLimit and becomes Failed). Returns a function deleting the stage again.
 */
export function failJobPods(
  namespace: string,
  jobName: string,
  failure: PodEnd = {},
): Promise<() => Promise<void>> {
  return endPods(namespace, { jobName }, { exitCode: 1, reason: 'Error', ...failure });
}

/**
 * Creates a Stage ending every Running pod `selector` picks in `namespace` as `end` says (weight
 * `weight`: a higher one wins where two stages select a pod). Returns a function deleting it.
 */
export async function endPods(
  namespace: string,
  selector: PodSelector,
  end: PodEnd,
  weight = 10_000,
): Promise<() => Promise<void>> {
  const name = `end-${randomBytes(5).toString('hex')}`;
  const exitCode = end.exitCode ?? 0;
  const reason = end.reason ?? (exitCode === 0 ? 'Completed' : 'Error');
  const [key, value] =
    'jobName' in selector ? ['batch.kubernetes.io/job-name', selector.jobName] : selector.label;
  const stage = {
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'Stage',
    metadata: { name, labels: { 'frappe.io/test-stage': 'true' } },
    spec: {
      resourceRef: { apiGroup: 'v1', kind: 'Pod' },
      selector: {
        matchExpressions: [
          { key: '.metadata.namespace', operator: 'In', values: [namespace] },
          {
            key: `.metadata.labels[${JSON.stringify(key)}]`,
            operator: 'In',
            values: [value],
          },
          { key: '.metadata.deletionTimestamp', operator: 'DoesNotExist' },
          { key: '.status.phase', operator: 'In', values: ['Running'] },
        ],
      },
      weight,
      next: {
        statusTemplate: [
          '{{ $now := Now }}',
          `phase: ${exitCode === 0 ? 'Succeeded' : 'Failed'}`,
          'containerStatuses:',
          '{{ range .spec.containers }}',
          '- name: {{ .name | Quote }}',
          '  image: {{ .image | Quote }}',
          '  ready: false',
          '  restartCount: 0',
          '  started: false',
          '  state:',
          '    terminated:',
          `      exitCode: ${exitCode}`,
          `      reason: ${JSON.stringify(reason)}`,
          ...(end.message === undefined ? [] : [`      message: ${JSON.stringify(end.message)}`]),
          '      startedAt: {{ $now | Quote }}',
          '      finishedAt: {{ $now | Quote }}',
          '{{ end }}',
          'conditions:',
          '- {type: PodScheduled, status: "True", lastTransitionTime: {{ $now | Quote }}}',
          '- {type: Initialized, status: "True", lastTransitionTime: {{ $now | Quote }}}',
          `- {type: Ready, status: "False", reason: ${exitCode === 0 ? 'PodCompleted' : 'PodFailed'}, lastTransitionTime: {{ $now | Quote }}}`,
          `- {type: ContainersReady, status: "False", reason: ${exitCode === 0 ? 'PodCompleted' : 'PodFailed'}, lastTransitionTime: {{ $now | Quote }}}`,
          '',
        ].join('\n'),
      },
    },
  };
  await kubectl(['create', '-f', '-'], { input: JSON.stringify(stage) });
  return async () => {
    await kubectl(['delete', 'stage', name, '--ignore-not-found']);
  };
}
