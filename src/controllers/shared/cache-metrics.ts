// Gauges computed at scrape time from a controller's informer cache, as kube-state-metrics does:
// each scrape resets the gauge and sets one series per cached object (or per aggregate), so a
// created, changed or deleted object shows in the very next scrape and nothing is kept per
// object between scrapes — no stale series, no memory growing with deleted objects.
//
// Only a running controller (the leader's) contributes: a stand-by replica's caches are warm but
// it exports none of these series, so Prometheus never sees two replicas' copies. A source whose
// controller has stopped is dropped at the next scrape.
import { Gauge } from 'prom-client';
import type { KubeObject } from '../../kube/client.ts';
import type { Stored } from '../../kube/informer.ts';
import { registry } from '../../runtime/metrics.ts';

/** The cache of objects a gauge reads, and the controller whose state gates it. */
export interface CacheSource<T extends KubeObject> {
  list(): Stored<T>[];
  controller: { readonly state: 'new' | 'running' | 'stopped' };
}

/** One series: its labels and value. */
export type Series<L extends string> = [labels: Record<L, string>, value: number];

export interface CacheGaugeOptions<T extends KubeObject, L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
  /** Every series of the cached objects (at most one per label set: a later one wins). */
  series: (objects: readonly Stored<T>[]) => Iterable<Series<L>>;
}

/** A gauge on the operator's registry computed from the sources added with `addSource`. */
export class CacheGauge<T extends KubeObject, L extends string> {
  readonly gauge: Gauge<L>;
  readonly #sources = new Set<CacheSource<T>>();

  constructor(opts: CacheGaugeOptions<T, L>) {
    const sources = this.#sources;
    this.gauge = new Gauge<L>({
      name: opts.name,
      help: opts.help,
      labelNames: opts.labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const source of sources) {
          if (source.controller.state === 'stopped') sources.delete(source);
          if (source.controller.state !== 'running') continue;
          for (const [labels, value] of opts.series(source.list())) this.set(labels, value);
        }
      },
    });
  }

  /** Read `source` at every scrape while its controller runs. */
  addSource(source: CacheSource<T>): void {
    this.#sources.add(source);
  }
}

/** `1` when `cond`, else `0`. */
export const flag = (cond: boolean): number => (cond ? 1 : 0);

/** Per namespace holding objects: the count of each phase (0 included). */
export function countByPhase<T extends { metadata: { namespace: string } }>(
  objects: readonly T[],
  phases: readonly string[],
  phaseOf: (o: T) => string,
): Series<'namespace' | 'phase'>[] {
  const counts = new Map<string, Map<string, number>>();
  for (const o of objects) {
    const ns = o.metadata.namespace;
    let byPhase = counts.get(ns);
    if (byPhase === undefined) {
      byPhase = new Map(phases.map((p) => [p, 0]));
      counts.set(ns, byPhase);
    }
    const phase = phaseOf(o);
    byPhase.set(phase, (byPhase.get(phase) ?? 0) + 1);
  }
  return [...counts].flatMap(([namespace, byPhase]) =>
    [...byPhase].map(([phase, n]): Series<'namespace' | 'phase'> => [{ namespace, phase }, n]),
  );
}
