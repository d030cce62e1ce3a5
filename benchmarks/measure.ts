// Measuring instruments of the benchmark: the operator's memory sampled while a phase runs, its
// counters summed by a label (rest_client_requests_total by method, reconciles by controller),
// a controller's gauges and whether it is idle (from the runtime's own gauges), and percentiles. The operator's numbers come from its process (./operator.ts).
import type { MetricSample } from './operator.ts';

/**
 * Samples a memory reading (bytes) every `intervalMs` and keeps the peak since the last `peak()`
 * call, so each phase reports its own maximum.
 */
export class MemorySampler {
  readonly #read: () => number;
  readonly #timer: NodeJS.Timeout;
  #peak: number;

  constructor(read: () => number, intervalMs = 100) {
    this.#read = read;
    this.#peak = read();
    this.#timer = setInterval(() => {
      this.#sample();
    }, intervalMs);
  }

  /** The current value (also a sample). */
  now(): number {
    return this.#sample();
  }

  /** The peak since the previous call (or the start), then starts a new phase. */
  peak(): number {
    this.#sample();
    const peak = this.#peak;
    this.#peak = this.#read();
    return peak;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #sample(): number {
    const v = this.#read();
    this.#peak = Math.max(this.#peak, v);
    return v;
  }
}

type Metrics = Map<string, MetricSample[]>;

/** The samples of `metric` summed by the value of their `label` (e.g. requests by method). */
export function sumBy(metrics: Metrics, metric: string, label: string): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const v of metrics.get(metric) ?? []) {
    const key = v.labels[label] ?? '';
    sums[key] = (sums[key] ?? 0) + v.value;
  }
  return sums;
}

/** A controller's gauge, e.g. controller_runtime_active_workers of `frappesite`. */
export const controllerGauge = (metrics: Metrics, metric: string, controller: string): number =>
  sumBy(metrics, metric, 'controller')[controller] ?? 0;

/** No reconcile of `controller` in flight and none queued (delayed requeues not counted). */
export function controllerIdle(metrics: Metrics, controller: string): boolean {
  const some = (name: string, label: string) =>
    (metrics.get(name) ?? []).some((v) => v.labels[label] === controller && v.value > 0);
  return (
    !some('controller_runtime_active_workers', 'controller') && !some('workqueue_depth', 'name')
  );
}

/** `after - before` per key (method, controller). */
export function countsBetween(
  before: Record<string, number>,
  after: Record<string, number>,
): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after).map(([method, n]) => [method, n - (before[method] ?? 0)]),
  );
}

/** Nearest-rank percentile (p in 0..100) of a non-empty list. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  const v = sorted[rank - 1];
  if (v === undefined) throw new Error('percentile of an empty list');
  return v;
}

export interface Distribution {
  p50: number;
  p95: number;
  max: number;
}

export function distribution(values: readonly number[]): Distribution {
  return {
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    max: percentile(values, 100),
  };
}
