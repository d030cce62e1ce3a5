// Per-test kwok stages: make the pods of one Job fail, when the test cannot put kwok's failure
// label on the pod template itself (e.g. a Job the operator creates). The stage is cluster-scoped
// and selects only that namespace and Job, so parallel tests don't interfere; kwok (Stage-CRD
// mode) picks it up while running. Its weight beats pod-complete, so the pods end Failed.
import { randomBytes } from 'node:crypto';
import { kubectl } from './kubectl.ts';

export interface PodFailure {
  /** The container's exit code (default 1). */
  exitCode?: number;
  /** The container's termination reason (default "Error"). */
  reason?: string;
}

/**
 * Creates a Stage failing every Running pod of Job `jobName` in `namespace` (the Job then retries
 * up to its backoffLimit and becomes Failed). Returns a function deleting the stage again.
 */
export async function failJobPods(
  namespace: string,
  jobName: string,
  failure: PodFailure = {},
): Promise<() => Promise<void>> {
  const name = `fail-${randomBytes(5).toString('hex')}`;
  const exitCode = failure.exitCode ?? 1;
  const reason = failure.reason ?? 'Error';
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
            key: '.metadata.labels["batch.kubernetes.io/job-name"]',
            operator: 'In',
            values: [jobName],
          },
          { key: '.metadata.deletionTimestamp', operator: 'DoesNotExist' },
          { key: '.status.phase', operator: 'In', values: ['Running'] },
        ],
      },
      weight: 10000,
      next: {
        statusTemplate: [
          '{{ $now := Now }}',
          'phase: Failed',
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
          '      startedAt: {{ $now | Quote }}',
          '      finishedAt: {{ $now | Quote }}',
          '{{ end }}',
          'conditions:',
          '- {type: PodScheduled, status: "True", lastTransitionTime: {{ $now | Quote }}}',
          '- {type: Initialized, status: "True", lastTransitionTime: {{ $now | Quote }}}',
          '- {type: Ready, status: "False", reason: PodFailed, lastTransitionTime: {{ $now | Quote }}}',
          '- {type: ContainersReady, status: "False", reason: PodFailed, lastTransitionTime: {{ $now | Quote }}}',
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
