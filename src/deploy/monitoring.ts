// Monitoring with the Prometheus Operator and Grafana (the Operations Guide's "Monitoring and
// Observability"): the ServiceMonitor of the operator's metrics Service, the PodMonitor of the
// benches' pods, the PrometheusRule of alerts and the Grafana dashboard. One source, written by
// `npm run generate` to config/prometheus/ and config/grafana/ (kubebuilder's layout) and to the
// Helm chart's files/ (its templates include them), and compared with the committed files by
// the unit tests. Every metric an alert or a panel names must be exposed by the operator, the
// gunicorn statsd-exporter sidecar (src/controllers/bench/statsd.ts) or redis_exporter:
// test/integration/monitoring/metrics.test.ts checks it against real scrapes (cAdvisor's
// container metrics excepted). docs/monitoring.md describes it all.
import { Document } from 'yaml';
import { YAML_OUTPUT } from '../api/crd.ts';
import type { KubeObject } from '../kube/client.ts';
import { MANAGER_LABELS, NAMESPACE, PREFIX } from './names.ts';

const MONITORING_API = 'monitoring.coreos.com/v1';

/** A Prometheus Operator object. */
export interface MonitoringObject extends KubeObject {
  spec: Record<string, unknown>;
}

/** The guide's ServiceMonitor: the metrics Service's port `https`, selected by control-plane. */
export function serviceMonitor(): MonitoringObject {
  return {
    apiVersion: MONITORING_API,
    kind: 'ServiceMonitor',
    metadata: { name: PREFIX, namespace: NAMESPACE, labels: { ...MANAGER_LABELS } },
    spec: {
      selector: { matchLabels: { 'control-plane': MANAGER_LABELS['control-plane'] } },
      endpoints: [
        {
          port: 'https',
          scheme: 'https',
          path: '/metrics',
          bearerTokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
          tlsConfig: { insecureSkipVerify: true },
        },
      ],
    },
  };
}

/** The guide's PodMonitor: port `metrics` of every pod labelled `app: frappe`, all namespaces. */
export function podMonitor(): MonitoringObject {
  return {
    apiVersion: MONITORING_API,
    kind: 'PodMonitor',
    metadata: { name: 'frappe-benches', namespace: NAMESPACE, labels: { ...MANAGER_LABELS } },
    spec: {
      namespaceSelector: { any: true },
      selector: { matchLabels: { app: 'frappe' } },
      podMetricsEndpoints: [{ port: 'metrics', path: '/metrics' }],
    },
  };
}

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: 'critical' | 'warning' };
  annotations: { summary: string; description: string };
}

export interface RuleGroup {
  name: string;
  interval: string;
  rules: AlertRule[];
}

/** The pods of a bench's components (`<bench>-<component>-…`), as cAdvisor names them. */
const BENCH_POD =
  '.+-(gunicorn|nginx|socketio|scheduler|worker-default|worker-short|worker-long|redis-cache|redis-queue)-.+';

/**
 * The alerts: the guide's three adapted to the metrics really exposed, plus stale backups and
 * failed migrations. FrappeSiteDown: the guide's `up{job="frappe-site"}` names a job nothing
 * scrapes; the operator's own view of a site (condition Ready) is used instead, outside the
 * phases in which a site is legitimately not Ready yet (created, restored, deleted).
 * HighMemoryUsage: container memory comes from the kubelet's cAdvisor (the guide's
 * `container_memory_usage_bytes` counts page cache; the working set is what the OOM killer
 * judges), for every container of a bench's pods.
 */
export function ruleGroups(): RuleGroup[] {
  return [
    {
      name: 'frappe',
      interval: '30s',
      rules: [
        {
          alert: 'FrappeSiteDown',
          expr:
            'frappe_operator_site_ready == 0 unless on (namespace, name) ' +
            'frappe_operator_site_phase{phase=~"Provisioning|Restoring|Deleting"} == 1',
          for: '5m',
          labels: { severity: 'critical' },
          annotations: {
            summary: 'Frappe site {{ $labels.namespace }}/{{ $labels.name }} is down',
            description:
              'FrappeSite {{ $labels.namespace }}/{{ $labels.name }} (bench {{ $labels.bench }}) has not been Ready for 5 minutes: `kubectl describe frappesite -n {{ $labels.namespace }} {{ $labels.name }}` names the step that blocks.',
          },
        },
        {
          alert: 'HighErrorRate',
          expr: 'sum by (namespace, pod) (rate(http_requests_total{status=~"5.."}[5m])) > 0.05',
          for: '5m',
          labels: { severity: 'warning' },
          annotations: {
            summary: 'High error rate on {{ $labels.namespace }}/{{ $labels.pod }}',
            description:
              'gunicorn in {{ $labels.namespace }}/{{ $labels.pod }} answers {{ $value | humanize }} requests per second with a 5xx status (more than 0.05 for 5 minutes).',
          },
        },
        {
          alert: 'HighMemoryUsage',
          expr:
            `max by (namespace, pod, container) (container_memory_working_set_bytes{container!="", pod=~"${BENCH_POD}"}) / ` +
            `max by (namespace, pod, container) (container_spec_memory_limit_bytes{container!="", pod=~"${BENCH_POD}"} > 0) > 0.9`,
          for: '10m',
          labels: { severity: 'warning' },
          annotations: {
            summary:
              'High memory usage on {{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }})',
            description:
              'Container {{ $labels.container }} of {{ $labels.namespace }}/{{ $labels.pod }} uses {{ $value | humanizePercentage }} of its memory limit (more than 90 % for 10 minutes); it is killed when it reaches the limit.',
          },
        },
        {
          alert: 'StaleBackup',
          expr: 'time() - frappe_operator_backup_last_success_timestamp_seconds > 26 * 3600',
          for: '15m',
          labels: { severity: 'warning' },
          annotations: {
            summary:
              'No successful backup of {{ $labels.namespace }}/{{ $labels.site }} for more than 26 hours',
            description:
              'SiteBackup {{ $labels.namespace }}/{{ $labels.sitebackup }} last backed up site {{ $labels.site }} successfully {{ $value | humanizeDuration }} ago: `kubectl describe sitebackup -n {{ $labels.namespace }} {{ $labels.sitebackup }}` shows the recent runs.',
          },
        },
        {
          alert: 'MigrationFailed',
          expr: 'frappe_operator_site_migration_failed == 1',
          for: '1m',
          labels: { severity: 'critical' },
          annotations: {
            summary: 'The migration of {{ $labels.namespace }}/{{ $labels.name }} failed',
            description:
              'The last migrate Job of FrappeSite {{ $labels.namespace }}/{{ $labels.name }} failed and the site stays in maintenance mode: fix the cause (`kubectl describe frappesite -n {{ $labels.namespace }} {{ $labels.name }}` names the Job), then change the annotation vyogo.tech/retry to migrate again.',
          },
        },
      ],
    },
  ];
}

/** The PrometheusRule of ruleGroups(). */
export function prometheusRule(): MonitoringObject {
  return {
    apiVersion: MONITORING_API,
    kind: 'PrometheusRule',
    metadata: { name: `${PREFIX}-alerts`, namespace: NAMESPACE, labels: { ...MANAGER_LABELS } },
    spec: { groups: ruleGroups() },
  };
}

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

interface Target {
  expr: string;
  legendFormat: string;
}

interface PanelSpec {
  title: string;
  description: string;
  type: 'timeseries' | 'stat' | 'table';
  unit: string;
  targets: Target[];
  width?: number;
}

const target = (expr: string, legendFormat = ''): Target => ({ expr, legendFormat });

/** The dashboard's sections: a row, then its panels, laid out left to right, 24 columns wide. */
function dashboardSections(): [string, PanelSpec[]][] {
  const ns = 'namespace=~"$namespace"';
  return [
    [
      'Operator',
      [
        {
          title: 'Reconciles per second',
          description: 'controller_runtime_reconcile_total by controller and result.',
          type: 'timeseries',
          unit: 'ops',
          targets: [
            target(
              'sum by (controller, result) (rate(controller_runtime_reconcile_total[$__rate_interval]))',
              '{{controller}} {{result}}',
            ),
          ],
        },
        {
          title: 'Reconcile errors per second',
          description: 'controller_runtime_reconcile_errors_total by controller.',
          type: 'timeseries',
          unit: 'ops',
          targets: [
            target(
              'sum by (controller) (rate(controller_runtime_reconcile_errors_total[$__rate_interval]))',
              '{{controller}}',
            ),
          ],
        },
        {
          title: 'Reconcile duration (p50, p99)',
          description: 'controller_runtime_reconcile_time_seconds quantiles by controller.',
          type: 'timeseries',
          unit: 's',
          targets: [0.5, 0.99].map((q) =>
            target(
              `histogram_quantile(${String(q)}, sum by (controller, le) (rate(controller_runtime_reconcile_time_seconds_bucket[$__rate_interval])))`,
              `{{controller}} p${String(q * 100)}`,
            ),
          ),
        },
        {
          title: 'Work queue depth',
          description: "Keys waiting in each controller's work queue (workqueue_depth).",
          type: 'timeseries',
          unit: 'short',
          targets: [target('sum by (name) (workqueue_depth)', '{{name}}')],
        },
        {
          title: 'Benches by phase',
          description: 'frappe_operator_benches summed over the selected namespaces.',
          type: 'timeseries',
          unit: 'short',
          targets: [target(`sum by (phase) (frappe_operator_benches{${ns}})`, '{{phase}}')],
        },
        {
          title: 'Sites by phase',
          description: 'frappe_operator_sites summed over the selected namespaces.',
          type: 'timeseries',
          unit: 'short',
          targets: [target(`sum by (phase) (frappe_operator_sites{${ns}})`, '{{phase}}')],
        },
        {
          title: 'Sites not Ready',
          description:
            'frappe_operator_site_ready == 0: the sites whose condition Ready is not True.',
          type: 'table',
          unit: 'short',
          targets: [target(`frappe_operator_site_ready{${ns}} == 0`, '{{namespace}}/{{name}}')],
        },
        {
          title: 'Failed migrations',
          description:
            'frappe_operator_site_migration_failed == 1: sites whose last migration failed.',
          type: 'table',
          unit: 'short',
          targets: [
            target(`frappe_operator_site_migration_failed{${ns}} == 1`, '{{namespace}}/{{name}}'),
          ],
        },
        {
          title: 'Age of the last successful backup',
          description:
            'time() - frappe_operator_backup_last_success_timestamp_seconds, per SiteBackup (StaleBackup fires above 26 h).',
          type: 'timeseries',
          unit: 's',
          targets: [
            target(
              `time() - frappe_operator_backup_last_success_timestamp_seconds{${ns}}`,
              '{{namespace}}/{{sitebackup}}',
            ),
          ],
        },
      ],
    ],
    [
      'Benches',
      [
        {
          title: 'Requests per second',
          description: 'gunicorn_requests_total (statsd-exporter sidecar of the gunicorn pods).',
          type: 'timeseries',
          unit: 'reqps',
          targets: [
            target(
              `sum by (namespace, pod) (rate(gunicorn_requests_total{${ns}}[$__rate_interval]))`,
              '{{namespace}}/{{pod}}',
            ),
          ],
        },
        {
          title: '5xx responses per second',
          description: 'http_requests_total{status=~"5.."}: what HighErrorRate alerts on.',
          type: 'timeseries',
          unit: 'reqps',
          targets: [
            target(
              `sum by (namespace, pod, status) (rate(http_requests_total{${ns}, status=~"5.."}[$__rate_interval]))`,
              '{{namespace}}/{{pod}} {{status}}',
            ),
          ],
        },
        {
          title: 'Request latency (p50, p90, p99)',
          description: 'gunicorn_request_duration_seconds quantiles over the selected namespaces.',
          type: 'timeseries',
          unit: 's',
          targets: [0.5, 0.9, 0.99].map((q) =>
            target(
              `histogram_quantile(${String(q)}, sum by (namespace, le) (rate(gunicorn_request_duration_seconds_bucket{${ns}}[$__rate_interval])))`,
              `{{namespace}} p${String(q * 100)}`,
            ),
          ),
        },
        {
          title: 'Redis memory',
          description: 'redis_memory_used_bytes (redisConfig.metrics.enabled).',
          type: 'timeseries',
          unit: 'bytes',
          targets: [target(`redis_memory_used_bytes{${ns}}`, '{{namespace}}/{{pod}}')],
        },
        {
          title: 'Redis clients',
          description: 'redis_connected_clients (redisConfig.metrics.enabled).',
          type: 'timeseries',
          unit: 'short',
          targets: [target(`redis_connected_clients{${ns}}`, '{{namespace}}/{{pod}}')],
        },
        {
          title: 'Queued jobs',
          description:
            "Length of the RQ queues rq:queue:<bench_id>:<queue> (redis_key_size of redis-queue's exporter).",
          type: 'timeseries',
          unit: 'short',
          targets: [target(`redis_key_size{${ns}, key=~"rq:queue:.*"}`, '{{namespace}} {{key}}')],
        },
        {
          title: 'Container memory (working set)',
          description:
            "container_memory_working_set_bytes of the bench pods (the kubelet's cAdvisor).",
          type: 'timeseries',
          unit: 'bytes',
          targets: [
            target(
              `sum by (namespace, pod) (container_memory_working_set_bytes{${ns}, container!="", pod=~"${BENCH_POD}"})`,
              '{{namespace}}/{{pod}}',
            ),
          ],
        },
      ],
    ],
  ];
}

/** Every PromQL expression of the dashboard's panels and the rules (the metrics test reads it). */
export function monitoringExpressions(): { where: string; expr: string }[] {
  return [
    ...ruleGroups().flatMap((g) =>
      g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })),
    ),
    ...dashboardSections().flatMap(([, panels]) =>
      panels.flatMap((p) => p.targets.map((t) => ({ where: `panel ${p.title}`, expr: t.expr }))),
    ),
  ];
}

/** The metric the namespace variable lists its values from. */
const NAMESPACE_VARIABLE_METRIC = 'frappe_operator_benches';

/** The metric names templating queries use (`label_values(<metric>, <label>)`). */
export function templatingMetrics(): string[] {
  return [NAMESPACE_VARIABLE_METRIC];
}

/** The Grafana dashboard of the operator and the benches (Grafana's JSON model). */
export function grafanaDashboard(): Record<string, unknown> {
  const panels: Record<string, unknown>[] = [];
  let id = 1;
  let y = 0;
  for (const [title, specs] of dashboardSections()) {
    panels.push({
      id: id++,
      type: 'row',
      title,
      collapsed: false,
      gridPos: { h: 1, w: 24, x: 0, y },
      panels: [],
    });
    y += 1;
    let x = 0;
    for (const p of specs) {
      const w = p.width ?? 8;
      if (x + w > 24) {
        x = 0;
        y += 8;
      }
      panels.push({
        id: id++,
        type: p.type,
        title: p.title,
        description: p.description,
        datasource: DATASOURCE,
        gridPos: { h: 8, w, x, y },
        fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
        options: {},
        targets: p.targets.map((t, i) => ({
          refId: String.fromCharCode(65 + i),
          datasource: DATASOURCE,
          expr: t.expr,
          legendFormat: t.legendFormat,
          ...(p.type === 'table' ? { instant: true, format: 'table' } : {}),
        })),
      });
      x += w;
    }
    y += 8;
  }
  return {
    title: 'Frappe Operator',
    uid: 'frappe-operator',
    description:
      'The Frappe Operator (controllers, benches, sites, backups) and its benches (gunicorn through the statsd-exporter sidecar, Redis through redis_exporter, container memory from cAdvisor).',
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    tags: ['frappe', 'kubernetes'],
    time: { from: 'now-6h', to: 'now' },
    refresh: '30s',
    templating: {
      list: [
        {
          name: 'datasource',
          label: 'Data source',
          type: 'datasource',
          query: 'prometheus',
          current: {},
          hide: 0,
          refresh: 1,
        },
        {
          name: 'namespace',
          label: 'Namespace',
          type: 'query',
          datasource: DATASOURCE,
          query: { query: `label_values(${NAMESPACE_VARIABLE_METRIC}, namespace)`, refId: 'ns' },
          definition: `label_values(${NAMESPACE_VARIABLE_METRIC}, namespace)`,
          includeAll: true,
          multi: true,
          allValue: '.*',
          current: {},
          refresh: 2,
          sort: 1,
          hide: 0,
        },
      ],
    },
    annotations: { list: [] },
    panels,
  };
}

const HEADER = '# Generated by `npm run generate` from src/deploy/monitoring.ts; do not edit.\n';

function yamlFile(value: unknown): string {
  const doc = new Document(value, { compat: YAML_OUTPUT.compat });
  return HEADER + doc.toString({ lineWidth: YAML_OUTPUT.lineWidth });
}

/** Every generated monitoring file: path relative to the repository root → content. */
export function monitoringFiles(): Map<string, string> {
  const dashboard = `${JSON.stringify(grafanaDashboard(), null, 2)}\n`;
  return new Map([
    ['config/prometheus/monitor.yaml', yamlFile(serviceMonitor())],
    ['config/prometheus/pod_monitor.yaml', yamlFile(podMonitor())],
    ['config/prometheus/prometheus_rule.yaml', yamlFile(prometheusRule())],
    ['config/grafana/frappe-operator.json', dashboard],
    // The chart's templates wrap these in a PrometheusRule and a dashboard ConfigMap.
    ['charts/frappe-operator/files/prometheus-rule-groups.yaml', yamlFile(ruleGroups())],
    ['charts/frappe-operator/files/grafana-dashboard.json', dashboard],
  ]);
}
