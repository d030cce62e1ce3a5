// The FrappeSite gauges, computed at every scrape from the site controller's cache
// (../shared/cache-metrics.ts):
//   frappe_operator_site_phase{namespace, name, phase}     1 for the site's phase, 0 for the others
//       (API.md §4.2; every per-site gauge names the site `name`, so they join on it)
//   frappe_operator_sites{namespace, phase}                sites per namespace and phase
//   frappe_operator_site_ready{namespace, name, bench}     1 when condition Ready is True, else 0
//   frappe_operator_site_migration_failed{namespace, name} 1 when the site's last migrate Job
//       failed: condition Degraded True with reason MigrationFailed (./status.ts), which stays
//       until a migrate Job for the site succeeds or the site needs none; else 0
// A site without a status yet counts as Pending.
import type { FrappeSite } from '../../api/v1alpha1/index.ts';
import { SITE_PHASES } from '../../api/v1alpha1/names.ts';
import { getCondition, isTrue } from '../../runtime/conditions.ts';
import { CacheGauge, countByPhase, flag, type CacheSource } from '../shared/cache-metrics.ts';

const phaseOf = (site: FrappeSite): string => site.status?.phase ?? 'Pending';

/** Whether the site's last migration failed (the Degraded reason ./status.ts sets). */
export function migrationFailed(site: FrappeSite): boolean {
  const degraded = getCondition(site.status?.conditions, 'Degraded');
  return degraded?.status === 'True' && degraded.reason === 'MigrationFailed';
}

export const sitePhaseGauge = new CacheGauge<FrappeSite, 'namespace' | 'name' | 'phase'>({
  name: 'frappe_operator_site_phase',
  help: 'The phase of a FrappeSite: 1 for its status.phase, 0 for every other phase',
  labelNames: ['namespace', 'name', 'phase'],
  *series(sites) {
    for (const s of sites) {
      const phase = phaseOf(s);
      for (const p of SITE_PHASES) {
        yield [
          { namespace: s.metadata.namespace, name: s.metadata.name, phase: p },
          flag(p === phase),
        ];
      }
    }
  },
});

export const sitesGauge = new CacheGauge<FrappeSite, 'namespace' | 'phase'>({
  name: 'frappe_operator_sites',
  help: 'The number of FrappeSites per namespace and phase',
  labelNames: ['namespace', 'phase'],
  series: (sites) => countByPhase(sites, SITE_PHASES, phaseOf),
});

export const siteReadyGauge = new CacheGauge<FrappeSite, 'namespace' | 'name' | 'bench'>({
  name: 'frappe_operator_site_ready',
  help: 'Whether a FrappeSite is Ready (condition Ready True): 1, else 0',
  labelNames: ['namespace', 'name', 'bench'],
  series: (sites) =>
    sites.map((s) => [
      { namespace: s.metadata.namespace, name: s.metadata.name, bench: s.spec.benchRef.name },
      flag(isTrue(s.status?.conditions, 'Ready')),
    ]),
});

export const migrationFailedGauge = new CacheGauge<FrappeSite, 'namespace' | 'name'>({
  name: 'frappe_operator_site_migration_failed',
  help: "Whether a FrappeSite's last migration failed (Degraded, reason MigrationFailed): 1, else 0",
  labelNames: ['namespace', 'name'],
  series: (sites) =>
    sites.map((s) => [
      { namespace: s.metadata.namespace, name: s.metadata.name },
      flag(migrationFailed(s)),
    ]),
});

/** Export the gauges of the sites in `source` while its controller runs. */
export function exportSiteMetrics(source: CacheSource<FrappeSite>): void {
  for (const g of [sitePhaseGauge, sitesGauge, siteReadyGauge, migrationFailedGauge]) {
    g.addSource(source);
  }
}
