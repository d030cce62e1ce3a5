// A SiteBackup resolved once: its schema defaults applied, the FrappeSite it names (and that
// site's plan: the bench's pod settings and image, Job sizes), where its sets go and who applies
// retention. Builders read the plan and never derive a setting again.
import type { FrappeSite, SiteBackup } from '../../api/v1alpha1/index.ts';
import { SiteBackupDefaults } from '../../api/v1alpha1/defaulting.ts';
import type { Stored } from '../../kube/informer.ts';
import { childName, MAX_CRONJOB_NAME_LENGTH } from '../shared/naming.ts';
import type { SitePlan } from '../site/plan.ts';
import { backupTarget, type BackupTarget, type SiteMatch } from './destination.ts';
import type { RetentionPolicy } from './retention.ts';

export interface BackupPlan {
  /** The SiteBackup with its schema defaults applied: owner of its CronJob or Job. */
  backup: Stored<SiteBackup>;
  name: string;
  namespace: string;
  /** The FrappeSite it names, as found among the namespace's sites. */
  match: SiteMatch;
  /** The site's plan, when the site and its bench exist. */
  site: SitePlan | undefined;
  /** Cron schedule; undefined: one backup Job now. */
  schedule: string | undefined;
  timeZone: string;
  suspend: boolean;
  withFiles: boolean;
  compress: boolean;
  /** Where the sets go; undefined: Frappe's own directory on the bench volume. */
  target: BackupTarget | undefined;
  /** The retention policy, when one limit is set (count or days above 0). */
  retention: RetentionPolicy | undefined;
  /**
   * Who applies it: the operator through the S3 API (S3 with a credentials Secret), or the agent
   * inside the Job after its upload (pvc, or S3 by the pod's workload identity).
   */
  retentionBy: 'operator' | 'agent' | undefined;
  /** `<backup>-backup`: the CronJob (schedule set) or the one-shot Job. */
  childName: string;
}

/** The SiteBackup with its schema defaults applied (once per reconcile). */
export const withDefaults = (b: Stored<SiteBackup>): Stored<SiteBackup> =>
  SiteBackupDefaults.apply(b) as Stored<SiteBackup>;

/** `<backup>-backup`, short enough for a CronJob (whose Jobs add 11 characters). */
export const backupChildName = (backup: string): string =>
  childName(backup, 'backup', MAX_CRONJOB_NAME_LENGTH);

const positive = (n: number | undefined): number | undefined =>
  n !== undefined && n > 0 ? n : undefined;

/** Resolve `backup` (defaults applied) with what the reconciler found of its site. */
export function resolveBackup(
  backup: Stored<SiteBackup>,
  match: SiteMatch,
  site: SitePlan | undefined,
): BackupPlan {
  const spec = backup.spec;
  const { name, namespace } = backup.metadata;
  const found: FrappeSite | undefined = 'found' in match ? match.found : undefined;
  const target =
    spec.destination === undefined || found === undefined
      ? undefined
      : backupTarget(
          spec.destination,
          namespace,
          found.metadata.name ?? '',
          found.spec.benchRef.name,
        );
  const count = positive(spec.retention?.count);
  const days = positive(spec.retention?.days);
  const retention = count === undefined && days === undefined ? undefined : { count, days };
  const retentionBy =
    retention === undefined || target === undefined
      ? undefined
      : target.type === 's3' && target.s3.credentialsSecret !== undefined
        ? 'operator'
        : 'agent';
  const schedule = spec.schedule === undefined || spec.schedule === '' ? undefined : spec.schedule;
  return {
    backup,
    name,
    namespace,
    match,
    site,
    schedule,
    // Filled from the schema's defaults.
    timeZone: spec.timeZone ?? 'Etc/UTC',
    suspend: spec.suspend === true,
    withFiles: spec.withFiles === true,
    compress: spec.compress === true,
    target,
    retention,
    retentionBy,
    childName: backupChildName(name),
  };
}
