// The SiteJob controller on a manager: the SiteJobs; their sites (a site becoming initialised
// or Ready brings its SiteJobs back); the benches (pod settings and image of the Job); and the
// Jobs — a SiteJob's own, and the site's init, restore and migrate Jobs, whose end lets the
// next SiteJob of that site run. Register `setupSiteJobController` with the manager.
import type { FrappeBench, FrappeSite, SiteBackup, SiteJob } from '../../api/v1alpha1/index.ts';
import { API_VERSION, KIND } from '../../api/v1alpha1/names.ts';
import type { OperatorConfigHolder } from '../../config/holder.ts';
import { ControllerBuilder } from '../../runtime/builder.ts';
import type { Controller, Request } from '../../runtime/controller.ts';
import { jobFinished, JobRunner, type JobObject } from '../../runtime/jobs.ts';
import type { Manager } from '../../runtime/manager.ts';
import { operatorDefaults } from '../shared/defaults.ts';
import { MANAGED_SELECTOR } from '../shared/labels.ts';
import { KINDS } from '../shared/objects.ts';
import { FINAL_PHASES, SiteJobReconciler, SITEJOBS_BY_SITE, siteKey } from './reconcile.ts';

export const CONTROLLER_NAME = 'sitejob';

export function setupSiteJobController(manager: Manager, config: OperatorConfigHolder): Controller {
  const { client, cache, events, logger } = manager;
  const b = new ControllerBuilder<SiteJob>(cache, {
    name: CONTROLLER_NAME,
    apiVersion: API_VERSION,
    kind: KIND.SiteJob,
    ownedSelector: MANAGED_SELECTOR,
    logger,
  });
  const siteJobs = b.primary;
  siteJobs.addIndexer(SITEJOBS_BY_SITE, (sj) => [siteKey(sj)]);
  const ofSite = (namespace: string, site: string): Request[] =>
    siteJobs
      .byIndex(SITEJOBS_BY_SITE, `${namespace}/${site}`)
      .map((sj) => ({ namespace, name: sj.metadata.name }));
  const sites = b.watches<FrappeSite>({ apiVersion: API_VERSION, kind: KIND.FrappeSite }, (s) =>
    ofSite(s.metadata.namespace ?? '', s.metadata.name ?? ''),
  );
  // Only read for the Job's pod settings: a bench change reaches SiteJobs through their sites.
  const benches = b.watches<FrappeBench>(
    { apiVersion: API_VERSION, kind: KIND.FrappeBench },
    () => [],
  );
  // Only read: a `backup` SiteJob's known destination, when its Job is made.
  const backups = b.watches<SiteBackup>(
    { apiVersion: API_VERSION, kind: KIND.SiteBackup },
    () => [],
  );
  // A Job of a site that ends (the site's own, or a SiteJob's) lets the next SiteJob run.
  const jobs = b.owns<JobObject>(KINDS.Job);
  const reconciler = new SiteJobReconciler({
    client,
    informers: { siteJobs, sites, benches, backups, jobs },
    events,
    jobs: new JobRunner(client, jobs),
    defaults: () => operatorDefaults(config, client),
  });
  const controller = b.complete((req, rc) => reconciler.reconcile(req, rc), {
    maxConcurrentReconciles: config.config.maxConcurrentReconciles,
  });
  const siteJobEnded = (job: JobObject): void => {
    const site = job.metadata.labels?.site;
    if (site === undefined) return;
    for (const r of ofSite(job.metadata.namespace ?? '', site)) controller.enqueue(r);
  };
  jobs.addEventHandler({
    update: (before, after) => {
      if (!jobFinished(before) && jobFinished(after)) siteJobEnded(after);
    },
    delete: siteJobEnded,
  });
  // A SiteJob that finished lets the next one of its site run.
  siteJobs.addEventHandler({
    update: (before, after) => {
      if (
        before.status?.phase !== after.status?.phase &&
        FINAL_PHASES.has(after.status?.phase ?? '')
      ) {
        for (const r of ofSite(after.metadata.namespace, after.spec.siteRef.name))
          controller.enqueue(r);
      }
    },
  });
  config.subscribe((c, changed) => {
    if (changed.includes('maxConcurrentReconciles')) {
      controller.setMaxConcurrentReconciles(c.maxConcurrentReconciles);
    }
  });
  return controller;
}
