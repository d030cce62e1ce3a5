// Measuring instruments of the benchmark: memory of this process sampled while a phase runs, the
// operator's rest_client_requests_total by method (its own API host only), whether a controller
// is idle (from the runtime's own gauges), and percentiles.
import { activeWorkers, restClientRequestsTotal, workqueueDepth } from '../src/runtime/metrics.ts';

export interface MemoryPoint {
  rssBytes: number;
  heapUsedBytes: number;
}

function memoryNow(): MemoryPoint {
  const m = process.memoryUsage();
  return { rssBytes: m.rss, heapUsedBytes: m.heapUsed };
}

/**
 * Samples process.memoryUsage() every `intervalMs` and keeps the peaks since the last `peak()`
 * call, so each phase reports its own maximum.
 */
export class MemorySampler {
  readonly #timer: NodeJS.Timeout;
  #peak: MemoryPoint = memoryNow();

  constructor(intervalMs = 100) {
    this.#timer = setInterval(() => {
      this.#sample();
    }, intervalMs);
  }

  /** The current values (also a sample). */
  now(): MemoryPoint {
    return this.#sample();
  }

  /** The peaks since the previous call (or the start), then starts a new phase. */
  peak(): MemoryPoint {
    this.#sample();
    const peak = this.#peak;
    this.#peak = memoryNow();
    return peak;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #sample(): MemoryPoint {
    const m = memoryNow();
    this.#peak = {
      rssBytes: Math.max(this.#peak.rssBytes, m.rssBytes),
      heapUsedBytes: Math.max(this.#peak.heapUsedBytes, m.heapUsedBytes),
    };
    return m;
  }
}

/** rest_client_requests_total of API host `host`, summed over codes, by method. */
export async function requestsByMethod(host: string): Promise<Record<string, number>> {
  const byMethod: Record<string, number> = {};
  for (const v of (await restClientRequestsTotal.get()).values) {
    if (v.labels.host !== host) continue;
    const method = String(v.labels.method);
    byMethod[method] = (byMethod[method] ?? 0) + v.value;
  }
  return byMethod;
}

/** No reconcile of `controller` in flight and none queued (delayed requeues not counted). */
export async function controllerIdle(controller: string): Promise<boolean> {
  const [workers, depth] = await Promise.all([activeWorkers.get(), workqueueDepth.get()]);
  const busy = workers.values.some((v) => v.labels.controller === controller && v.value > 0);
  const queued = depth.values.some((v) => v.labels.name === controller && v.value > 0);
  return !busy && !queued;
}

/** `after - before` per method. */
export function requestsBetween(
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
