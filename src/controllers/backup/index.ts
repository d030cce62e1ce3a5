// The SiteBackup controller on a manager: the SiteBackups; the FrappeSites they name (a site
// appearing, initialised or renamed brings its SiteBackups back); the benches (pod settings and
// image of the backup pod); the CronJobs and one-shot Jobs they own, and the Jobs of those
// CronJobs (a run that ends updates the status); and the Secrets' metadata (a credentials Secret
// created later). Register `setupSiteBackupController` with the manager.
// Metrics: ./metrics.ts, from the SiteBackups' cache.
import type { FrappeBench, FrappeSite, SiteBackup } from '../../api/v1alpha1/index.ts';
import { API_VERSION, KIND } from '../../api/v1alpha1/names.ts';
import type { OperatorConfigHolder } from '../../config/holder.ts';
import { ControllerBuilder } from '../../runtime/builder.ts';
import type { Controller, Request } from '../../runtime/controller.ts';
import { JobRunner, type JobObject } from '../../runtime/jobs.ts';
import type { Manager } from '../../runtime/manager.ts';
import { operatorDefaults } from '../shared/defaults.ts';
import { MANAGED_SELECTOR } from '../shared/labels.ts';
import { KINDS, type CronJob, type Secret } from '../shared/objects.ts';
import { exportBackupMetrics } from './metrics.ts';
import { controllerName, SiteBackupReconciler } from './reconcile.ts';

export const CONTROLLER_NAME = 'sitebackup';

/** Index of SiteBackups by the site they name: `<namespace>/<siteRef.name or site>`. */
const BY_SITE = 'site';
/** Index of SiteBackups by the credentials Secret of their destination: `<namespace>/<name>`. */
const BY_SECRET = 'credentials';

const keyOf = (o: { metadata: { namespace?: string; name?: string } }): Request => ({
  namespace: o.metadata.namespace ?? '',
  name: o.metadata.name ?? '',
});

export function setupSiteBackupController(
  manager: Manager,
  config: OperatorConfigHolder,
): Controller {
  const { client, cache, events, logger } = manager;
  const b = new ControllerBuilder<SiteBackup>(cache, {
    name: CONTROLLER_NAME,
    apiVersion: API_VERSION,
    kind: KIND.SiteBackup,
    ownedSelector: MANAGED_SELECTOR,
    logger,
  });
  const backups = b.primary;
  backups.addIndexer(BY_SECRET, (sb) => {
    const secret = sb.spec.destination?.config?.credentialsSecret;
    return secret === undefined ? [] : [`${sb.metadata.namespace}/${secret}`];
  });
  // The SiteBackups that may name a site: by siteRef or `site` equal to its name, or by `site`
  // equal to its siteName (a second site of that siteName makes them ambiguous).
  backups.addIndexer(BY_SITE, (sb) => [
    `${sb.metadata.namespace}/${sb.spec.siteRef?.name ?? sb.spec.site ?? ''}`,
  ]);
  const sites = b.watches<FrappeSite>({ apiVersion: API_VERSION, kind: KIND.FrappeSite }, (s) => {
    const ns = s.metadata.namespace ?? '';
    const names = new Set([s.metadata.name ?? '', s.spec.siteName]);
    return [...names].flatMap((n) => backups.byIndex(BY_SITE, `${ns}/${n}`).map(keyOf));
  });
  // Only read for the pod settings: a bench change reaches SiteBackups through their sites.
  const benches = b.watches<FrappeBench>(
    { apiVersion: API_VERSION, kind: KIND.FrappeBench },
    () => [],
  );
  const secrets = b.watches<Secret>(
    KINDS.Secret,
    (s) =>
      backups
        .byIndex(BY_SECRET, `${s.metadata.namespace ?? ''}/${s.metadata.name ?? ''}`)
        .map(keyOf),
    { metadataOnly: true },
  );
  const cronJobs = b.owns<CronJob>(KINDS.CronJob);
  const jobs = b.owns<JobObject>(KINDS.Job);
  const runner = new JobRunner(client, jobs);
  const reconciler = new SiteBackupReconciler({
    client,
    informers: { backups, sites, benches, cronJobs, jobs, secrets },
    events,
    jobs: runner,
    defaults: () => operatorDefaults(config, client),
  });
  const controller = b.complete((req, rc) => reconciler.reconcile(req, rc), {
    maxConcurrentReconciles: config.config.maxConcurrentReconciles,
  });
  // A Job of a CronJob is the CronJob's, not the SiteBackup's: map it through its CronJob.
  const cronRun = (job: JobObject): void => {
    const cron = controllerName(job, 'CronJob');
    if (cron === undefined) return;
    const owner = cronJobs.get(job.metadata.namespace ?? '', cron);
    const backup = owner === undefined ? undefined : controllerName(owner, KIND.SiteBackup);
    if (backup !== undefined)
      controller.enqueue({ namespace: job.metadata.namespace ?? '', name: backup });
  };
  jobs.addEventHandler({
    add: cronRun,
    update: (_before, after) => {
      cronRun(after);
    },
    delete: cronRun,
  });
  backups.addEventHandler({
    delete: (sb) => {
      reconciler.forget(sb.metadata.uid);
      runner.forgetOwner(sb.metadata.uid);
    },
  });
  exportBackupMetrics({ list: () => backups.list(), controller });
  config.subscribe((c, changed) => {
    if (changed.includes('maxConcurrentReconciles')) {
      controller.setMaxConcurrentReconciles(c.maxConcurrentReconciles);
    }
  });
  return controller;
}
