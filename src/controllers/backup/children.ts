// What a SiteBackup makes (API.md §3.4): with a `schedule`, CronJob `<backup>-backup`
// (`concurrencyPolicy: Forbid`, `startingDeadlineSeconds: 3600`, history limits 3/3, `timeZone`,
// `suspend`); without, Job `<backup>-backup` (`backoffLimit: 1`), run once. Both run the backup
// pod of pod.ts. A patch of the schedule, retention or destination changes the CronJob in place
// (server-side apply of the same object); its Jobs come from the CronJob controller.
import { childMeta } from '../shared/meta.ts';
import { KINDS, type CronJob, type Job } from '../shared/objects.ts';
import { childJob, jobSpec } from '../shared/job.ts';
import type { JobRequest } from '../../runtime/jobs.ts';
import { siteLabels, type SitePlan } from '../site/plan.ts';
import type { BackupPlan } from './plan.ts';
import { backupPodSpec, parseBackupReport, reportContainer, type BackupReport } from './pod.ts';

const STARTING_DEADLINE_SECONDS = 3_600;
const HISTORY_LIMIT = 3;

/** The site of a plan whose site step passed: its plan with pod settings. */
export type ReadySite = SitePlan & { pod: NonNullable<SitePlan['pod']> };

/** The backup Job's spec (the CronJob's template, or the one-shot Job's). */
function backupJobSpec(plan: BackupPlan, site: ReadySite) {
  const labels = siteLabels(site, 'backup');
  const spec = backupPodSpec({
    site: { ...site, installedApps: site.site.status?.installedApps ?? [] },
    pod: site.pod,
    withFiles: plan.withFiles,
    compress: plan.compress,
    target: plan.target,
    operatorImage: site.operatorImage,
    owner: { sitebackup: plan.name },
    agentRetention: plan.retentionBy === 'agent' ? plan.retention : undefined,
  });
  return { labels, spec: jobSpec(site.pod, labels, spec, { backoffLimit: 1 }) };
}

/** CronJob `<backup>-backup` of a scheduled SiteBackup. */
export function backupCronJob(plan: BackupPlan, site: ReadySite): CronJob {
  if (plan.schedule === undefined) throw new Error('backupCronJob needs a schedule');
  const job = backupJobSpec(plan, site);
  return {
    ...KINDS.CronJob,
    metadata: childMeta(plan.backup, plan.childName, job.labels),
    spec: {
      schedule: plan.schedule,
      timeZone: plan.timeZone,
      suspend: plan.suspend,
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: STARTING_DEADLINE_SECONDS,
      successfulJobsHistoryLimit: HISTORY_LIMIT,
      failedJobsHistoryLimit: HISTORY_LIMIT,
      jobTemplate: { metadata: { labels: job.labels }, spec: job.spec },
    },
  };
}

/** Job `<backup>-backup` of a one-shot SiteBackup: its inputs are what the backup does. */
export function oneShotRequest(plan: BackupPlan, site: ReadySite): JobRequest<BackupReport, Job> {
  const job = backupJobSpec(plan, site);
  return {
    owner: plan.backup,
    job: childJob(plan.backup, plan.childName, job.labels, undefined, job.spec),
    inputs: {
      site: site.name,
      withFiles: plan.withFiles,
      compress: plan.compress,
      destination: plan.backup.spec.destination ?? null,
    },
    container: reportContainer(plan.target),
    parseReport: parseBackupReport,
  };
}
