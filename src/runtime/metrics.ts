// Prometheus metrics of the controller runtime, named and labelled exactly as controller-runtime
// and client-go name them, so existing controller-runtime dashboards and alerts work unchanged.
//
// Everything registers on one prom-client `registry` (not prom-client's global one), which the
// manager's HTTPS metrics server serves. The operator's own domain metrics (bench/site phase,
// backups) register on the same registry from their own modules.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { setRequestResultHook } from '../kube/metrics.ts';

export const registry = new Registry();

const registers = [registry];

// controller-runtime's reconcile-time buckets (pkg/internal/controller/metrics).
const reconcileBuckets = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1,
  1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];
// controller-runtime's work-queue buckets: ExponentialBuckets(10e-9, 10, 12), i.e. 10ns .. 1000s.
const queueBuckets = Array.from({ length: 12 }, (_, i) => 1e-8 * 10 ** i);

export const RECONCILE_RESULTS = ['success', 'error', 'requeue', 'requeue_after'] as const;
export type ReconcileResult = (typeof RECONCILE_RESULTS)[number];

export const reconcileTotal = new Counter({
  name: 'controller_runtime_reconcile_total',
  help: 'Total number of reconciliations per controller',
  labelNames: ['controller', 'result'] as const,
  registers,
});
export const reconcileErrorsTotal = new Counter({
  name: 'controller_runtime_reconcile_errors_total',
  help: 'Total number of reconciliation errors per controller',
  labelNames: ['controller'] as const,
  registers,
});
export const terminalReconcileErrorsTotal = new Counter({
  name: 'controller_runtime_terminal_reconcile_errors_total',
  help: 'Total number of terminal reconciliation errors per controller',
  labelNames: ['controller'] as const,
  registers,
});
export const reconcileTimeSeconds = new Histogram({
  name: 'controller_runtime_reconcile_time_seconds',
  help: 'Length of time per reconciliation per controller',
  labelNames: ['controller'] as const,
  buckets: reconcileBuckets,
  registers,
});
export const maxConcurrentReconciles = new Gauge({
  name: 'controller_runtime_max_concurrent_reconciles',
  help: 'Maximum number of concurrent reconciles per controller',
  labelNames: ['controller'] as const,
  registers,
});
export const activeWorkers = new Gauge({
  name: 'controller_runtime_active_workers',
  help: 'Number of currently used workers per controller',
  labelNames: ['controller'] as const,
  registers,
});

// Work-queue metrics carry `name` and `controller`, both the controller's name (as in
// controller-runtime, which names each controller's queue after the controller).
const queueLabels = ['name', 'controller'] as const;

export const workqueueDepth = new Gauge({
  name: 'workqueue_depth',
  help: 'Current depth of workqueue',
  labelNames: queueLabels,
  registers,
});
export const workqueueAddsTotal = new Counter({
  name: 'workqueue_adds_total',
  help: 'Total number of adds handled by workqueue',
  labelNames: queueLabels,
  registers,
});
export const workqueueQueueDurationSeconds = new Histogram({
  name: 'workqueue_queue_duration_seconds',
  help: 'How long in seconds an item stays in workqueue before being requested',
  labelNames: queueLabels,
  buckets: queueBuckets,
  registers,
});
export const workqueueWorkDurationSeconds = new Histogram({
  name: 'workqueue_work_duration_seconds',
  help: 'How long in seconds processing an item from workqueue takes',
  labelNames: queueLabels,
  buckets: queueBuckets,
  registers,
});
export const workqueueRetriesTotal = new Counter({
  name: 'workqueue_retries_total',
  help: 'Total number of retries handled by workqueue',
  labelNames: queueLabels,
  registers,
});

// The two in-progress gauges depend on the time of the scrape, so queues register a hook that
// sets them, and every scrape runs the hooks first.
const scrapeHooks = new Set<() => void>();
/** Run `hook` before every scrape; returns the function that unregisters it. */
export function onScrape(hook: () => void): () => void {
  scrapeHooks.add(hook);
  return () => scrapeHooks.delete(hook);
}
const runScrapeHooks = (): void => {
  for (const hook of scrapeHooks) hook();
};

export const workqueueUnfinishedWorkSeconds = new Gauge({
  name: 'workqueue_unfinished_work_seconds',
  help:
    'How many seconds of work has been done that is in progress and has not been observed by ' +
    'work_duration. Large values indicate stuck threads.',
  labelNames: queueLabels,
  registers,
  collect: runScrapeHooks,
});
export const workqueueLongestRunningProcessorSeconds = new Gauge({
  name: 'workqueue_longest_running_processor_seconds',
  help: 'How many seconds has the longest running processor for workqueue been running',
  labelNames: queueLabels,
  registers,
  collect: runScrapeHooks,
});

export const restClientRequestsTotal = new Counter({
  name: 'rest_client_requests_total',
  help: 'Number of HTTP requests, partitioned by status code, method, and host',
  labelNames: ['code', 'method', 'host'] as const,
  registers,
});
// src/kube reports each request through its hook (as client-go's metrics.Register); installed
// here, on import, so every process that has this registry counts its client's requests.
setRequestResultHook((r) => {
  restClientRequestsTotal.inc(r);
});

export const leaderElectionMasterStatus = new Gauge({
  name: 'leader_election_master_status',
  help:
    'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, ' +
    '1 indicates master',
  labelNames: ['name'] as const,
  registers,
});
