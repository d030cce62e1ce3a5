// The standard labels of API.md §1.3, carried by every object the operator creates, and the
// selector subset (`app`, `bench`, `component`) that workloads, Services and PDBs select on —
// the keys the reference operator selects on, so its objects are recognised.

export type Component =
  | 'gunicorn'
  | 'nginx'
  | 'socketio'
  | 'scheduler'
  | 'worker-default'
  | 'worker-long'
  | 'worker-short'
  | 'redis-cache'
  | 'redis-queue'
  | 'bench-init'
  | 'site-init'
  | 'site-restore'
  | 'site-migrate'
  | 'site-delete'
  | 'backup'
  | 'sitejob';

export type Labels = Record<string, string>;

/** `app`, `bench`, `component`: what a workload, Service or PDB selects. */
export function selectorLabels(bench: string, component: Component): Labels {
  return { app: 'frappe', bench, component };
}

const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'frappe-operator' } as const;
/** Every object the operator creates carries this label; its informers select on it. */
export const MANAGED_SELECTOR = Object.entries(MANAGED_BY)
  .map(([k, v]) => `${k}=${v}`)
  .join(',');

/** Every label of §1.3 except `app.kubernetes.io/version`; `site` for site children. */
export function standardLabels(bench: string, component: Component, site?: string): Labels {
  return {
    ...selectorLabels(bench, component),
    ...(site === undefined ? {} : { site }),
    'app.kubernetes.io/instance': bench,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/name': 'frappe',
    'app.kubernetes.io/part-of': 'frappe',
    ...MANAGED_BY,
  };
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Whether `value` is a valid label value (≤ 63 characters, alphanumeric at both ends). */
export function isLabelValue(value: string): boolean {
  return value.length <= 63 && LABEL_VALUE.test(value);
}

/** `app.kubernetes.io/version` for Deployments and pods, omitted when not a valid label value. */
export function versionLabel(version: string | undefined): Labels {
  return version !== undefined && version !== '' && isLabelValue(version)
    ? { 'app.kubernetes.io/version': version }
    : {};
}
