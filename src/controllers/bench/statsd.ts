// Prometheus metrics of gunicorn (API.md §3.2; docs/monitoring.md): Frappe serves no Prometheus
// endpoint, but gunicorn is a statsD client. With `--statsd-host` gunicorn's logger becomes
// gunicorn.instrument.statsd.Statsd, which sends over UDP, for every request
// (benoitc/gunicorn gunicorn/instrument/statsd.py, Statsd.access):
//   <prefix>gunicorn.request.duration:<milliseconds>|ms
//   <prefix>gunicorn.requests:1|c|@1.0
//   <prefix>gunicorn.request.status.<code>:1|c|@1.0
// and `gunicorn.workers` (a gauge, the arbiter's worker count: gunicorn/arbiter.py) and
// `gunicorn.log.<critical|error|warning|exception>` counters; the prefix gets a trailing dot
// (`sub(r"^(.+[^.]+)\.*$", "\g<1>.", cfg.statsd_prefix)`). A `statsd-exporter` sidecar
// (prometheus/statsd_exporter) receives them on 127.0.0.1:9125 and serves them on port `metrics`
// (9102), which the PodMonitor scrapes, through the mapping below (statsd_exporter README.md,
// "Metric Mapping and Configuration": glob `match`, `$n` references, `observer_type: histogram`
// with `histogram_options.buckets`; timers in ms are observed in seconds; `action: drop`).
//
// The mapping lives in ConfigMap `<bench>-statsd-mapping`, owned by the bench; the pod template
// carries its hash, so a new mapping (an operator upgrade) rolls the gunicorn pods.
import { createHash } from 'node:crypto';
import { DEFAULT_RESOURCES } from '../../api/v1alpha1/resources.ts';
import type { Container, Volume, VolumeMount } from '../shared/k8s.ts';
import { childMeta } from '../shared/meta.ts';
import { KINDS, type ConfigMap } from '../shared/objects.ts';
import { plainContainer, type PodSettings } from '../shared/pod.ts';
import { mergeResources } from '../shared/resources.ts';
import { benchChild, benchLabels, type BenchPlan } from './plan.ts';

/** The sidecar container's name. */
export const STATSD_CONTAINER = 'statsd-exporter';
/** The port the sidecar serves /metrics on, named `metrics` (the PodMonitor's port). */
export const STATSD_EXPORTER_PORT = 9102;
/** Where gunicorn sends its statsD lines: the sidecar, in the same pod. */
export const STATSD_ADDRESS = '127.0.0.1:9125';
/** gunicorn's `--statsd-prefix`: every line starts `frappe.gunicorn.`. */
export const STATSD_PREFIX = 'frappe';
const MAPPING_DIR = '/etc/statsd-exporter';
const MAPPING_KEY = 'mapping.yaml';
/** Pod template annotation: the hash of the mapping, so a changed mapping rolls the pods. */
export const MAPPING_HASH_ANNOTATION = 'vyogo.tech/statsd-mapping-hash';

/**
 * Request latency buckets in seconds: client_golang's defaults up to 10 s, then up to gunicorn's
 * largest timeout setting's usual range (the default timeout is 120 s).
 */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/**
 * The statsd_exporter mapping. `http_requests_total{status}` is the name the Operations Guide's
 * HighErrorRate alert uses. Lines matching no rule are dropped, so nothing unmapped (and no
 * metric of unbounded name) reaches Prometheus.
 */
export const STATSD_MAPPING = `# statsd_exporter mapping of gunicorn's statsD metrics (gunicorn/instrument/statsd.py).
# Written by the Frappe Operator (src/controllers/bench/statsd.ts); edits are overwritten.
mappings:
  - match: "${STATSD_PREFIX}.gunicorn.request.status.*"
    name: "http_requests_total"
    help: "HTTP requests answered by gunicorn, by status code."
    labels:
      status: "$1"
  - match: "${STATSD_PREFIX}.gunicorn.requests"
    name: "gunicorn_requests_total"
    help: "HTTP requests answered by gunicorn."
  - match: "${STATSD_PREFIX}.gunicorn.request.duration"
    name: "gunicorn_request_duration_seconds"
    help: "Time gunicorn took to answer a request, in seconds."
    observer_type: histogram
    histogram_options:
      buckets: [${DURATION_BUCKETS.join(', ')}]
  - match: "${STATSD_PREFIX}.gunicorn.workers"
    name: "gunicorn_workers"
    help: "Worker processes of the gunicorn arbiter."
  - match: "${STATSD_PREFIX}.gunicorn.log.*"
    name: "gunicorn_log_messages_total"
    help: "Messages gunicorn logged, by level."
    labels:
      level: "$1"
  - match: "."
    match_type: regex
    action: drop
    name: "dropped"
`;

const mappingHash = createHash('sha256').update(STATSD_MAPPING).digest('hex').slice(0, 16);

/** `<bench>-statsd-mapping`. */
export const statsdMappingName = (plan: Pick<BenchPlan, 'name'>): string =>
  benchChild(plan, 'statsd-mapping');

/** The ConfigMap the sidecar reads its mapping from. */
export function statsdMappingConfigMap(plan: BenchPlan): ConfigMap {
  return {
    ...KINDS.ConfigMap,
    metadata: childMeta(plan.bench, statsdMappingName(plan), benchLabels(plan, 'gunicorn')),
    data: { [MAPPING_KEY]: STATSD_MAPPING },
  };
}

/** gunicorn's statsD flags: send to the sidecar, names prefixed `frappe.`. */
export const STATSD_FLAGS = [`--statsd-host=${STATSD_ADDRESS}`, `--statsd-prefix=${STATSD_PREFIX}`];

/**
 * The sidecar's argv: UDP on localhost only (gunicorn is the only sender), no TCP listener, the
 * mapping from the ConfigMap, /metrics on port `metrics`.
 */
export const STATSD_EXPORTER_ARGS = [
  `--statsd.listen-udp=${STATSD_ADDRESS}`,
  '--statsd.listen-tcp=',
  `--statsd.mapping-config=${MAPPING_DIR}/${MAPPING_KEY}`,
  `--web.listen-address=:${String(STATSD_EXPORTER_PORT)}`,
];

/**
 * What the gunicorn pod gets when metrics are on: the sidecar, its volume, the annotation. The
 * sidecar has no readiness probe: a metrics problem never takes gunicorn out of its Service.
 */
export interface StatsdSidecar {
  container: Container;
  volume: Volume;
  annotations: Record<string, string>;
}

export function statsdSidecar(plan: BenchPlan, s: PodSettings, image: string): StatsdSidecar {
  const mount: VolumeMount = { name: 'statsd-mapping', mountPath: MAPPING_DIR, readOnly: true };
  return {
    container: plainContainer(s, {
      name: STATSD_CONTAINER,
      image,
      args: STATSD_EXPORTER_ARGS,
      ports: [{ name: 'metrics', containerPort: STATSD_EXPORTER_PORT, protocol: 'TCP' }],
      resources: mergeResources(undefined, DEFAULT_RESOURCES.statsdExporter),
      volumeMounts: [mount],
    }),
    volume: {
      name: 'statsd-mapping',
      configMap: { name: statsdMappingName(plan), defaultMode: 0o444 },
    },
    annotations: { [MAPPING_HASH_ANNOTATION]: mappingHash },
  };
}
