// What a SiteJob runs (API.md §2.4, §3.4): Job `<sitejob>-job`, container `sitejob`, on the
// bench image in the bench directory with the sites volume, `backoffLimit: 0` and the SiteJob's
// `activeDeadlineSeconds`. Each type is `bench --site <siteName> …` (frappe/frappe
// `frappe/commands/site.py` and `utils.py`: migrate, clear-cache, clear-website-cache,
// install-app, uninstall-app --yes, set-maintenance-mode on|off); `backup` runs the backup pod
// of backup/pod.ts — `bench … backup [--with-files] [--compress]`, then the agent uploads to
// `jobConfig.destination` or the site's known destination, the manifest naming the SiteJob (so no
// retention deletes it); without a destination the files stay on the site's volume. `custom`
// runs `jobConfig.command` as given, with env `SITE_NAME`. The site name
// and app names reach a shell only as env and positional arguments, never spliced into it.
import { IMAGE_ANNOTATION, JOB_TYPE_ANNOTATION } from '../shared/annotations.ts';
import type { JobType, SiteJob } from '../../api/v1alpha1/index.ts';
import { childJob, jobSpec } from '../shared/job.ts';
import type { Job } from '../shared/objects.ts';
import { BENCH_DIR, frappeContainer, podSpec, type PodSettings } from '../shared/pod.ts';
import type { BackupTarget } from '../backup/destination.ts';
import {
  backupPodSpec,
  benchBackupCommand,
  parseBackupReport,
  reportContainer,
  type BackupReport,
} from '../backup/pod.ts';
import { siteLabels, type SitePlan } from '../site/plan.ts';
import { childName } from '../shared/naming.ts';
import type { JobRequest } from '../../runtime/jobs.ts';

const CONTAINER = 'sitejob';

export const siteJobJobName = (sj: Pick<SiteJob, 'metadata'>): string =>
  childName(sj.metadata.name ?? '', 'job');

/** The argv of `spec.jobType` for `siteName`. */
export function command(spec: SiteJob['spec'], siteName: string): string[] {
  const c = spec.jobConfig ?? {};
  const site = ['bench', '--site', siteName];
  const type: JobType = spec.jobType;
  switch (type) {
    case 'backup':
      return benchBackupCommand(siteName, {
        withFiles: c.withFiles === true,
        compress: c.compress === true,
        path: undefined,
      });
    case 'migrate':
      return [...site, 'migrate'];
    case 'clear-cache':
      return [
        'sh',
        '-c',
        'set -e; bench --site "$SITE_NAME" clear-cache; bench --site "$SITE_NAME" clear-website-cache',
      ];
    case 'install-app':
      return [...site, 'install-app', ...(c.apps ?? [])];
    case 'uninstall-app':
      return [
        'sh',
        '-c',
        'set -e; for app in "$@"; do bench --site "$SITE_NAME" uninstall-app "$app" --yes; done',
        'uninstall-app',
        ...(c.apps ?? []),
      ];
    case 'set-maintenance-mode':
      return [...site, 'set-maintenance-mode', c.enabled === true ? 'on' : 'off'];
    case 'custom':
      return [...(c.command ?? [])];
  }
}

/** Where a `backup` SiteJob's set goes (undefined: the site's volume) and the agent's image. */
export interface SiteJobBackup {
  target: BackupTarget | undefined;
  operatorImage: string | undefined;
}

/** The pod of `sj`: the backup pod for `backup`, else container `sitejob` running `command`. */
function siteJobPod(sj: SiteJob, site: SitePlan, pod: PodSettings, backup: SiteJobBackup) {
  const c = sj.spec.jobConfig ?? {};
  if (sj.spec.jobType === 'backup') {
    return {
      container: reportContainer(backup.target),
      spec: backupPodSpec({
        site: { ...site, installedApps: site.site.status?.installedApps ?? [] },
        pod,
        withFiles: c.withFiles === true,
        compress: c.compress === true,
        target: backup.target,
        operatorImage: backup.operatorImage,
        owner: { sitejob: sj.metadata.name ?? '' },
        agentRetention: undefined,
      }),
    };
  }
  const container = frappeContainer(pod, {
    name: CONTAINER,
    command: command(sj.spec, site.siteName),
    workingDir: BENCH_DIR,
    env: [{ name: 'SITE_NAME', value: site.siteName }],
    resources: site.resources.siteJob,
    terminationMessagePolicy: 'File',
  });
  return {
    container: CONTAINER,
    spec: podSpec(pod, { containers: [container], mountsSites: true, restartPolicy: 'Never' }),
  };
}

/** The Job of `sj` on `site` (whose plan has the bench's pod settings). */
export function siteJobRequest(
  sj: SiteJob,
  site: SitePlan,
  pod: PodSettings,
  backup: SiteJobBackup = { target: undefined, operatorImage: undefined },
): JobRequest<BackupReport, Job> {
  const labels = { ...siteLabels(site, 'sitejob') };
  const { container, spec } = siteJobPod(sj, site, pod, backup);
  const job = childJob(
    sj,
    siteJobJobName(sj),
    labels,
    { [JOB_TYPE_ANNOTATION]: sj.spec.jobType, [IMAGE_ANNOTATION]: pod.image },
    jobSpec(pod, labels, spec, {
      backoffLimit: 0,
      // Filled from the schema's default.
      activeDeadlineSeconds: sj.spec.activeDeadlineSeconds ?? 0,
    }),
  );
  // The spec is immutable: the Job is made once; the inputs only name it (a later change of the
  // site's known destination does not replace a SiteJob's Job).
  return { owner: sj, job, inputs: { spec: sj.spec }, container, parseReport: parseBackupReport };
}
