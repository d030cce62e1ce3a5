// The SiteJob reconcile (API.md §2.4, §3.4): one Job per SiteJob, run once. The step table —
// site → turn → job — waits until the site is initialised and its bench Ready (SiteReady), then
// for its turn (Scheduled): SiteJobs of one site run one at a time, oldest first, and after the
// site's own init, restore and migrate Jobs; then runs `<sitejob>-job` on the Job runner
// (Complete). A finished SiteJob is never run again: its status is final.
import type { FrappeBench, FrappeSite, SiteBackup, SiteJob } from '../../api/v1alpha1/index.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { Informer, Stored } from '../../kube/informer.ts';
import { toMetaTime } from '../../kube/time.ts';
import type { Logger } from '../../kube/logger.ts';
import type { ReconcileContext, Request, Result } from '../../runtime/controller.ts';
import { isNamespaceTerminating } from '../../runtime/errors.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import {
  failureText,
  jobFinished,
  jobTime,
  type JobObject,
  type JobRunner,
} from '../../runtime/jobs.ts';
import { writeStatus } from '../../runtime/status.ts';
import {
  done,
  stop,
  wait,
  walkSteps,
  type Step,
  type StepOutcome,
  type Walk,
} from '../../runtime/steps.ts';
import { withDefaults as benchWithDefaults } from '../bench/plan.ts';
import type { OperatorDefaults } from '../shared/defaults.ts';
import { resolveSite, withDefaults as siteWithDefaults, type SitePlan } from '../site/plan.ts';
import { backupTarget, knownDestination, type BackupTarget } from '../backup/destination.ts';
import { siteJobJobName, siteJobRequest } from './command.ts';
import { siteJobStatus, transitions, type JobRecord } from './status.ts';

/** Index of SiteJobs by their site: `<namespace>/<site>`. */
export const SITEJOBS_BY_SITE = 'site';
export const siteKey = (sj: SiteJob): string =>
  `${sj.metadata.namespace ?? ''}/${sj.spec.siteRef.name}`;

/** The site's own long operations, which SiteJobs wait for. */
const SITE_JOB_COMPONENTS = new Set(['site-init', 'site-restore', 'site-migrate']);

export interface SiteJobInformers {
  siteJobs: Informer<SiteJob>;
  sites: Informer<FrappeSite>;
  benches: Informer<FrappeBench>;
  /** Read for the site's known destination (a `backup` without jobConfig.destination). */
  backups: Informer<SiteBackup>;
  jobs: Informer<JobObject>;
}

export interface SiteJobReconcilerDeps {
  client: KubeClient;
  informers: SiteJobInformers;
  events: EventRecorder;
  jobs: JobRunner;
  defaults: () => Promise<OperatorDefaults>;
}

export interface SiteJobSteps {
  site(): Promise<StepOutcome>;
  turn(): Promise<StepOutcome>;
  job(): Promise<StepOutcome>;
}

/** The steps of a SiteJob reconcile, in order. */
export const SITEJOB_STEPS: readonly Step<SiteJobSteps>[] = [
  { name: 'site', condition: 'SiteReady', run: (r) => r.site() },
  { name: 'turn', condition: 'Scheduled', run: (r) => r.turn() },
  { name: 'job', condition: 'Complete', run: (r) => r.job() },
];

/** Phases a SiteJob never leaves. */
export const FINAL_PHASES: ReadonlySet<string> = new Set(['Succeeded', 'Failed']);

const condition = (site: FrappeSite, type: string) =>
  site.status?.conditions?.find((c) => c.type === type);

/** Oldest first: creation time, then name. */
const older = (a: SiteJob, b: SiteJob): boolean => {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  return ta === tb ? (a.metadata.name ?? '') < (b.metadata.name ?? '') : ta < tb;
};

export class SiteJobReconciler {
  readonly #deps: SiteJobReconcilerDeps;

  constructor(deps: SiteJobReconcilerDeps) {
    this.#deps = deps;
  }

  async reconcile(req: Request, rc: ReconcileContext): Promise<Result> {
    const sj = this.#deps.informers.siteJobs.get(req.namespace, req.name);
    if (sj === undefined || sj.metadata.deletionTimestamp !== undefined) return undefined;
    if (FINAL_PHASES.has(sj.status?.phase ?? '')) return undefined;
    const run = new SiteJobRun(this.#deps, sj, await this.#sitePlan(sj), rc.logger);
    let walk: Walk;
    try {
      walk = await walkSteps(SITEJOB_STEPS, run, isNamespaceTerminating);
    } catch (err) {
      rc.logger.info({ err }, 'namespace is terminating');
      return undefined;
    }
    const status = siteJobStatus(sj, walk, run.record(walk));
    await writeStatus(this.#deps.client, this.#deps.events, sj, status, transitions, rc.logger);
    if (walk.error !== undefined) throw walk.error.error;
    return walk.requeueAfter === undefined ? undefined : { requeueAfter: walk.requeueAfter };
  }

  /** The site's plan (its bench's pod settings and image), when site and bench exist. */
  async #sitePlan(sj: SiteJob): Promise<SitePlan | undefined> {
    const { sites, benches } = this.#deps.informers;
    const ns = sj.metadata.namespace ?? '';
    const site = sites.get(ns, sj.spec.siteRef.name);
    if (site === undefined) return undefined;
    const bench = benches.get(ns, site.spec.benchRef.name);
    return resolveSite(siteWithDefaults(site), {
      defaults: await this.#deps.defaults(),
      bench: bench === undefined ? undefined : benchWithDefaults(bench),
      pinnedMariaDB: undefined,
    });
  }
}

/** One reconcile of one SiteJob. */
class SiteJobRun implements SiteJobSteps {
  readonly #deps: SiteJobReconcilerDeps;
  readonly #sj: Stored<SiteJob>;
  readonly #site: SitePlan | undefined;
  readonly #log: Logger;
  #record: JobRecord = { phase: 'Pending' };

  constructor(
    deps: SiteJobReconcilerDeps,
    sj: Stored<SiteJob>,
    site: SitePlan | undefined,
    log: Logger,
  ) {
    this.#deps = deps;
    this.#sj = sj;
    this.#site = site;
    this.#log = log;
  }

  /** The record for the status; a Pending one carries what the walk waits for. */
  record(walk: Walk): JobRecord {
    const b = walk.blocker;
    if (this.#record.phase === 'Pending' && b !== undefined && 'outcome' in b) {
      return { ...this.#record, message: b.outcome.message };
    }
    return this.#record;
  }

  #ownJob(): JobObject | undefined {
    return this.#deps.informers.jobs.get(this.#sj.metadata.namespace, siteJobJobName(this.#sj));
  }

  site(): Promise<StepOutcome> {
    const name = `FrappeSite ${this.#sj.metadata.namespace}/${this.#sj.spec.siteRef.name}`;
    const site = this.#site?.site;
    if (site === undefined) return Promise.resolve(wait('SiteNotFound', `${name} does not exist`));
    if (this.#ownJob() !== undefined) return Promise.resolve(done('SiteReady', `${name} is ready`));
    const init = condition(site, 'Initialized');
    if (init?.status !== 'True') {
      return Promise.resolve(
        wait(
          'SiteNotInitialized',
          `${name} is not initialised yet${init === undefined ? '' : ` (${init.reason}: ${init.message})`}`,
        ),
      );
    }
    const bench = condition(site, 'BenchReady');
    if (bench?.status !== 'True' || this.#site?.pod === undefined) {
      return Promise.resolve(
        wait(
          'BenchNotReady',
          `the bench of ${name} is not Ready${bench === undefined ? '' : ` (${bench.message})`}`,
        ),
      );
    }
    return Promise.resolve(done('SiteReady', `${name} is initialised and its bench Ready`));
  }

  turn(): Promise<StepOutcome> {
    if (this.#ownJob() !== undefined)
      return Promise.resolve(done('Started', 'its Job has started'));
    const sj = this.#sj;
    const ns = sj.metadata.namespace;
    const siteName = sj.spec.siteRef.name;
    const busy = this.#deps.informers.jobs
      .list(ns)
      .find(
        (j) =>
          j.metadata.labels?.site === siteName &&
          SITE_JOB_COMPONENTS.has(j.metadata.labels.component ?? '') &&
          !jobFinished(j),
      );
    if (busy !== undefined) {
      return Promise.resolve(
        wait(
          'WaitingForSite',
          `waits for Job ${busy.metadata.name} of FrappeSite ${siteName} to finish`,
        ),
      );
    }
    const ahead = this.#deps.informers.siteJobs
      .byIndex(SITEJOBS_BY_SITE, siteKey(sj))
      .filter((o) => o.metadata.uid !== sj.metadata.uid && !FINAL_PHASES.has(o.status?.phase ?? ''))
      .filter((o) => older(o, sj))
      .sort((a, b) => (older(a, b) ? -1 : 1));
    const first = ahead[0];
    if (first !== undefined) {
      return Promise.resolve(
        wait(
          'WaitingForSiteJob',
          `waits for SiteJob ${first.metadata.name}, created earlier for FrappeSite ${siteName} (one at a time, oldest first)`,
        ),
      );
    }
    return Promise.resolve(done('Scheduled', `its turn on FrappeSite ${siteName}`));
  }

  /** Where a `backup` goes: jobConfig.destination, else the site's known destination. */
  #backupTarget(site: SitePlan): BackupTarget | undefined {
    if (this.#sj.spec.jobType !== 'backup') return undefined;
    const dest =
      this.#sj.spec.jobConfig?.destination ??
      knownDestination(this.#deps.informers.backups.list(site.namespace), site.name)?.spec
        .destination;
    return dest === undefined
      ? undefined
      : backupTarget(dest, site.namespace, site.name, site.benchName);
  }

  async job(): Promise<StepOutcome> {
    const site = this.#site;
    if (site?.pod === undefined) throw new Error('job step before the site step');
    const target = this.#backupTarget(site);
    if (target !== undefined && site.operatorImage === undefined) {
      const message =
        'the operator does not know its own image (the backup agent uploads the set): set FRAPPE_OPERATOR_IMAGE';
      return stop('OperatorImageUnknown', message);
    }
    const req = siteJobRequest(this.#sj, site, site.pod, {
      target,
      operatorImage: site.operatorImage,
    });
    const jobName = req.job.metadata.name ?? '';
    const phase = await this.#deps.jobs.run(req, this.#log);
    if (phase.phase === 'Absent' || phase.phase === 'Stale') {
      this.#record = { phase: 'Pending', jobName };
      return wait('Creating', `Job ${jobName} is being created`);
    }
    const times = {
      ...(jobTime(phase.job, 'startTime') === undefined
        ? {}
        : { startTime: jobTime(phase.job, 'startTime') }),
      ...(jobTime(phase.job, 'completionTime') === undefined
        ? {}
        : { completionTime: jobTime(phase.job, 'completionTime') }),
    };
    if (phase.phase === 'Running') {
      this.#record = { phase: 'Running', jobName, ...times, message: `Job ${jobName} is running` };
      return wait('JobRunning', `Job ${jobName} is running`);
    }
    if (phase.phase === 'Succeeded') {
      const report = phase.report.ok ? phase.report.value : undefined;
      const backup =
        this.#sj.spec.jobType === 'backup' && report?.location !== undefined
          ? {
              location: report.location,
              ...(report.sizeBytes === undefined ? {} : { sizeBytes: report.sizeBytes }),
            }
          : undefined;
      const message = `Job ${jobName} succeeded`;
      this.#record = {
        phase: 'Succeeded',
        jobName,
        ...times,
        message,
        ...(backup === undefined ? {} : { backup }),
      };
      return done('Succeeded', message);
    }
    const message = failureText(jobName, phase);
    this.#record = {
      phase: 'Failed',
      jobName,
      ...times,
      completionTime: times.completionTime ?? toMetaTime(new Date()),
      message,
    };
    return stop('JobFailed', `${message}; a SiteJob never runs again: create a new one`);
  }
}
