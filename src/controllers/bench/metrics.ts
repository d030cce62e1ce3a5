// The FrappeBench gauges, computed at every scrape from the bench controller's cache
// (../shared/cache-metrics.ts):
//   frappe_operator_bench_phase{namespace, name, phase}   1 for the bench's phase, 0 for the others
//       (API.md §4.2)
//   frappe_operator_benches{namespace, phase}             benches per namespace and phase
// A bench without a status yet counts as Pending (the phase the controller starts from).
import type { FrappeBench } from '../../api/v1alpha1/index.ts';
import { BENCH_PHASES } from '../../api/v1alpha1/names.ts';
import { CacheGauge, countByPhase, flag, type CacheSource } from '../shared/cache-metrics.ts';

const phaseOf = (bench: FrappeBench): string => bench.status?.phase ?? 'Pending';

export const benchPhaseGauge = new CacheGauge<FrappeBench, 'namespace' | 'name' | 'phase'>({
  name: 'frappe_operator_bench_phase',
  help: 'The phase of a FrappeBench: 1 for its status.phase, 0 for every other phase',
  labelNames: ['namespace', 'name', 'phase'],
  *series(benches) {
    for (const b of benches) {
      const phase = phaseOf(b);
      for (const p of BENCH_PHASES) {
        yield [
          { namespace: b.metadata.namespace, name: b.metadata.name, phase: p },
          flag(p === phase),
        ];
      }
    }
  },
});

export const benchesGauge = new CacheGauge<FrappeBench, 'namespace' | 'phase'>({
  name: 'frappe_operator_benches',
  help: 'The number of FrappeBenches per namespace and phase',
  labelNames: ['namespace', 'phase'],
  series: (benches) => countByPhase(benches, BENCH_PHASES, phaseOf),
});

/** Export the gauges of the benches in `source` while its controller runs. */
export function exportBenchMetrics(source: CacheSource<FrappeBench>): void {
  benchPhaseGauge.addSource(source);
  benchesGauge.addSource(source);
}
