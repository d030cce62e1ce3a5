// The SiteBackup gauges (API.md §4.2), computed at every scrape from the SiteBackup controller's
// cache (../shared/cache-metrics.ts), so a deleted SiteBackup leaves no series:
//   frappe_operator_backup_last_success_timestamp_seconds{namespace, sitebackup, site}
//       the completion time of its newest successful backup (status.lastSuccessfulBackup), so
//       an alert can page on a stale backup;
//   frappe_operator_backup_last_size_bytes{namespace, sitebackup, site}
//       the size of that set, while status.recentBackups still lists its run.
// No series for a SiteBackup that has no successful backup yet.
import type { BackupRun, SiteBackup } from '../../api/v1alpha1/index.ts';
import type { Stored } from '../../kube/informer.ts';
import { CacheGauge, type CacheSource } from '../shared/cache-metrics.ts';

type Label = 'namespace' | 'sitebackup' | 'site';

const labelsOf = (sb: Stored<SiteBackup>): Record<Label, string> => ({
  namespace: sb.metadata.namespace,
  sitebackup: sb.metadata.name,
  site: sb.status?.site ?? sb.spec.siteRef?.name ?? sb.spec.site ?? '',
});

/** The run of the newest successful backup, when status.recentBackups still has it. */
function lastSuccessfulRun(sb: SiteBackup): BackupRun | undefined {
  const at = sb.status?.lastSuccessfulBackup;
  return sb.status?.recentBackups?.find((r) => r.state === 'Succeeded' && r.completionTime === at);
}

export const lastSuccessGauge = new CacheGauge<SiteBackup, Label>({
  name: 'frappe_operator_backup_last_success_timestamp_seconds',
  help: 'Completion time of the newest successful backup of a site by a SiteBackup (Unix seconds)',
  labelNames: ['namespace', 'sitebackup', 'site'],
  *series(backups) {
    for (const sb of backups) {
      const at = sb.status?.lastSuccessfulBackup;
      if (at !== undefined) yield [labelsOf(sb), Date.parse(at) / 1000];
    }
  },
});

export const lastSizeGauge = new CacheGauge<SiteBackup, Label>({
  name: 'frappe_operator_backup_last_size_bytes',
  help: 'Size of the newest successful backup set of a site by a SiteBackup (bytes)',
  labelNames: ['namespace', 'sitebackup', 'site'],
  *series(backups) {
    for (const sb of backups) {
      const size = lastSuccessfulRun(sb)?.sizeBytes;
      if (size !== undefined) yield [labelsOf(sb), size];
    }
  },
});

/** Export the gauges of the SiteBackups in `source` while its controller runs. */
export function exportBackupMetrics(source: CacheSource<SiteBackup>): void {
  lastSuccessGauge.addSource(source);
  lastSizeGauge.addSource(source);
}
