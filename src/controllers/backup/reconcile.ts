// The SiteBackup reconcile (API.md §2.3, §3.4, §3.5). The step table:
//
//   site → destination → schedule → lastBackup → retention (applies with a retention policy)
//
// - site (SiteReady): the FrappeSite it names (siteRef, or `site` matched by siteName, then name;
//   two matches stop with AmbiguousSite), initialised, with its bench's pod settings.
// - destination (DestinationReady): where the sets go; an S3 credentials Secret must exist.
// - schedule (Scheduled): the CronJob `<backup>-backup` (applied: a patch of the schedule,
//   retention or destination changes it in place), or the one-shot Job of that name, run once;
//   the other of the two is removed.
// - lastBackup (LastBackupSucceeded): the newest run. A failed scheduled run holds Ready until a
//   later run succeeds; a failed one-shot stops (it never runs again by itself).
// - retention (RetentionApplied): in the operator through the S3 API when the destination has a
//   credentials Secret (after each new success, on a policy change, at least every 6 h), else
//   what the agent reported after its upload.
//
// Runs are read from the Jobs that exist (the CronJob's and the one-shot's), their reports from
// the `upload` container's termination message, and kept in `recentBackups` after the Jobs go.
import type { FrappeBench, FrappeSite, SiteBackup } from '../../api/v1alpha1/index.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { Informer, Stored } from '../../kube/informer.ts';
import type { Logger } from '../../kube/logger.ts';
import { toMetaTime } from '../../kube/time.ts';
import { applyChild, controllerOf, pruneChildren } from '../../runtime/apply.ts';
import type { ReconcileContext, Request, Result } from '../../runtime/controller.ts';
import { isNamespaceTerminating } from '../../runtime/errors.ts';
import { hasFinalizer, removeFinalizer } from '../../runtime/finalizers.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import {
  jobFinished,
  jobSucceeded,
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
import type { CronJob, Secret } from '../shared/objects.ts';
import { resolveSite, withDefaults as siteWithDefaults } from '../site/plan.ts';
import { backupCronJob, oneShotRequest, type ReadySite } from './children.ts';
import { matchSite } from './destination.ts';
import { resolveBackup, withDefaults, type BackupPlan } from './plan.ts';
import { parseBackupReport, reportContainer } from './pod.ts';
import {
  applyRetention,
  RETENTION_INTERVAL_MS,
  retentionDue,
  type RetentionOutcome,
} from './retention.ts';
import {
  mergeRuns,
  runOf,
  siteBackupStatus,
  transitions,
  type BackupRecord,
  type ObservedRun,
} from './status.ts';

export interface BackupInformers {
  backups: Informer<SiteBackup>;
  sites: Informer<FrappeSite>;
  benches: Informer<FrappeBench>;
  cronJobs: Informer<CronJob>;
  jobs: Informer<JobObject>;
  /** Secrets' metadata: a credentials Secret may appear later. */
  secrets: Informer<Secret>;
}

export interface BackupReconcilerDeps {
  client: KubeClient;
  informers: BackupInformers;
  events: EventRecorder;
  jobs: JobRunner;
  defaults: () => Promise<OperatorDefaults>;
  now?: () => Date;
}

export interface BackupSteps {
  site(): Promise<StepOutcome>;
  destination(): Promise<StepOutcome>;
  schedule(): Promise<StepOutcome>;
  lastBackup(): Promise<StepOutcome>;
  hasRetention(): boolean;
  retention(): Promise<StepOutcome>;
}

/** The steps of a SiteBackup reconcile, in order. */
export const SITEBACKUP_STEPS: readonly Step<BackupSteps>[] = [
  { name: 'site', condition: 'SiteReady', run: (r) => r.site() },
  { name: 'destination', condition: 'DestinationReady', run: (r) => r.destination() },
  { name: 'schedule', condition: 'Scheduled', run: (r) => r.schedule() },
  { name: 'lastBackup', condition: 'LastBackupSucceeded', run: (r) => r.lastBackup() },
  {
    name: 'retention',
    condition: 'RetentionApplied',
    applies: (r) => r.hasRetention(),
    run: (r) => r.retention(),
  },
];

/** The reference operator's finalizer, which SiteBackups no longer carry. */
export const LEGACY_FINALIZER = 'vyogo.tech/finalizer';

const condition = (site: FrappeSite, type: string) =>
  site.status?.conditions?.find((c) => c.type === type);

/** The SiteBackup that controls `obj`, by its controller reference of kind `kind`. */
export const controllerName = (obj: JobObject | CronJob, kind: string): string | undefined => {
  const ref = controllerOf(obj);
  return ref?.kind === kind ? ref.name : undefined;
};

export class SiteBackupReconciler {
  readonly #deps: BackupReconcilerDeps;
  /** SiteBackup uid → when its last retention pass failed (retried after 5 min). */
  readonly #retentionFailedAt = new Map<string, number>();

  constructor(deps: BackupReconcilerDeps) {
    this.#deps = deps;
  }

  /** Forget what is remembered of a deleted SiteBackup. */
  forget(uid: string): void {
    this.#retentionFailedAt.delete(uid);
  }

  async reconcile(req: Request, rc: ReconcileContext): Promise<Result> {
    const stored = this.#deps.informers.backups.get(req.namespace, req.name);
    if (stored === undefined) return undefined;
    // Also on a SiteBackup being deleted, which the reference's finalizer would hold forever.
    if (hasFinalizer(stored, LEGACY_FINALIZER)) {
      await removeFinalizer(this.#deps.client, stored, LEGACY_FINALIZER);
      return undefined; // the update brings it back
    }
    if (stored.metadata.deletionTimestamp !== undefined) return undefined;
    const plan = await this.#plan(withDefaults(stored));
    const run = new BackupReconcile(this.#deps, plan, this.#retentionFailedAt, rc.logger);
    let walk: Walk;
    try {
      walk = await walkSteps(SITEBACKUP_STEPS, run, isNamespaceTerminating);
    } catch (err) {
      rc.logger.info({ err }, 'namespace is terminating');
      return undefined;
    }
    const status = siteBackupStatus(stored, walk, run.record(), this.#now());
    await writeStatus(this.#deps.client, this.#deps.events, stored, status, transitions, rc.logger);
    if (walk.error !== undefined) throw walk.error.error;
    return walk.requeueAfter === undefined ? undefined : { requeueAfter: walk.requeueAfter };
  }

  #now(): Date {
    return this.#deps.now?.() ?? new Date();
  }

  async #plan(backup: Stored<SiteBackup>): Promise<BackupPlan> {
    const { sites, benches } = this.#deps.informers;
    const ns = backup.metadata.namespace;
    const match = matchSite(backup, sites.list(ns));
    if (!('found' in match)) return resolveBackup(backup, match, undefined);
    const site = match.found as Stored<FrappeSite>;
    const bench = benches.get(ns, site.spec.benchRef.name);
    const sitePlan = resolveSite(siteWithDefaults(site), {
      defaults: await this.#deps.defaults(),
      bench: bench === undefined ? undefined : benchWithDefaults(bench),
      pinnedMariaDB: undefined,
    });
    return resolveBackup(backup, match, sitePlan);
  }
}

/** One reconcile of one SiteBackup. */
class BackupReconcile implements BackupSteps {
  readonly #deps: BackupReconcilerDeps;
  readonly #plan: BackupPlan;
  readonly #failedAt: Map<string, number>;
  readonly #log: Logger;
  #site: ReadySite | undefined;
  #cronJob: CronJob | undefined;
  #observed: ObservedRun[] = [];
  #retention: BackupRecord['retention'];

  constructor(
    deps: BackupReconcilerDeps,
    plan: BackupPlan,
    failedAt: Map<string, number>,
    log: Logger,
  ) {
    this.#deps = deps;
    this.#plan = plan;
    this.#failedAt = failedAt;
    this.#log = log;
  }

  get #uid(): string {
    return this.#plan.backup.metadata.uid;
  }

  record(): BackupRecord {
    const cron = this.#cronJob ?? this.#liveCronJob();
    const last = cron?.status?.lastScheduleTime;
    return {
      site: 'found' in this.#plan.match ? this.#plan.match.found.metadata.name : undefined,
      cronJobName: this.#plan.schedule === undefined ? undefined : this.#plan.childName,
      lastScheduleTime: typeof last === 'string' ? last : undefined,
      runs: this.#observed.map(runOf),
      scheduled: this.#plan.schedule !== undefined,
      suspended: this.#plan.suspend,
      retention: this.#retention,
    };
  }

  #liveCronJob(): Stored<CronJob> | undefined {
    const cron = this.#deps.informers.cronJobs.get(this.#plan.namespace, this.#plan.childName);
    return cron !== undefined && controllerName(cron, 'SiteBackup') === this.#plan.name
      ? cron
      : undefined;
  }

  #oneShotJob(): Stored<JobObject> | undefined {
    const job = this.#deps.informers.jobs.get(this.#plan.namespace, this.#plan.childName);
    return job !== undefined && controllerName(job, 'SiteBackup') === this.#plan.name
      ? job
      : undefined;
  }

  site(): Promise<StepOutcome> {
    const m = this.#plan.match;
    const ns = this.#plan.namespace;
    if ('ambiguous' in m) {
      return Promise.resolve(
        stop(
          'AmbiguousSite',
          `site "${m.ambiguous}" matches the spec.siteName of FrappeSites ${m.candidates.join(', ')} in ${ns}: name one with siteRef in a new SiteBackup`,
        ),
      );
    }
    if ('missing' in m) {
      const how =
        this.#plan.backup.spec.siteRef === undefined
          ? `no FrappeSite in ${ns} has spec.siteName or name "${m.missing}"`
          : `FrappeSite ${ns}/${m.missing} does not exist`;
      return Promise.resolve(wait('SiteNotFound', how));
    }
    const site = this.#plan.site;
    const name = `FrappeSite ${ns}/${m.found.metadata.name ?? ''}`;
    if (site?.pod === undefined) {
      const bench = condition(m.found, 'BenchReady');
      return Promise.resolve(
        wait(
          'BenchNotReady',
          `the bench of ${name} is not ready${bench === undefined ? '' : ` (${bench.message})`}`,
        ),
      );
    }
    const started = this.#liveCronJob() !== undefined || this.#oneShotJob() !== undefined;
    const init = condition(m.found, 'Initialized');
    if (!started && init?.status !== 'True') {
      return Promise.resolve(
        wait(
          'SiteNotInitialized',
          `${name} is not initialised yet${init === undefined ? '' : ` (${init.reason}: ${init.message})`}`,
        ),
      );
    }
    if (this.#plan.target !== undefined && site.operatorImage === undefined) {
      return Promise.resolve(
        stop(
          'OperatorImageUnknown',
          'the operator does not know its own image (the backup agent uploads the sets): set FRAPPE_OPERATOR_IMAGE',
        ),
      );
    }
    this.#site = { ...site, pod: site.pod };
    return Promise.resolve(done('SiteReady', `${name} is initialised`));
  }

  destination(): Promise<StepOutcome> {
    const target = this.#plan.target;
    const siteName = this.#site?.siteName ?? '';
    if (target === undefined) {
      return Promise.resolve(
        done(
          'NoDestination',
          `backups stay in sites/${siteName}/private/backups on the bench volume, rotated by Frappe`,
        ),
      );
    }
    if (target.type === 's3' && target.s3.credentialsSecret !== undefined) {
      const secret = target.s3.credentialsSecret;
      if (this.#deps.informers.secrets.get(this.#plan.namespace, secret) === undefined) {
        return Promise.resolve(
          wait(
            'CredentialsSecretNotFound',
            `Secret ${this.#plan.namespace}/${secret} (destination.config.credentialsSecret) does not exist`,
          ),
        );
      }
    }
    return Promise.resolve(done('DestinationReady', `sets go to ${target.url}`));
  }

  async schedule(): Promise<StepOutcome> {
    const site = this.#site;
    if (site === undefined) throw new Error('schedule step before the site step');
    const { client, informers } = this.#deps;
    const plan = this.#plan;
    if (plan.schedule !== undefined) {
      this.#cronJob = await applyChild(client, backupCronJob(plan, site), informers.cronJobs);
      this.#observeCronRuns();
      await this.#readReports();
      return done(
        plan.suspend ? 'Suspended' : 'CronJobReady',
        `CronJob ${plan.childName} runs "${plan.schedule}" (${plan.timeZone})${plan.suspend ? ', suspended' : ''}`,
      );
    }
    // Removing the schedule deletes the CronJob (and its Jobs); runs stay in status.
    await pruneChildren(client, plan.backup, informers.cronJobs, []);
    const finished = plan.backup.status?.phase;
    if ((finished === 'Succeeded' || finished === 'Failed') && this.#oneShotJob() === undefined) {
      return done('Finished', `the one-shot backup has run (${finished})`);
    }
    const phase = await this.#deps.jobs.run(oneShotRequest(plan, site), this.#log);
    if (phase.phase === 'Absent' || phase.phase === 'Stale') {
      return wait('Creating', `Job ${plan.childName} is being created`);
    }
    this.#observed.push({
      job: phase.job,
      state: phase.phase,
      ...(phase.phase === 'Failed'
        ? { failure: { reason: phase.reason, message: phase.message } }
        : {}),
      ...(phase.phase === 'Succeeded' ? { report: phase.report } : {}),
    });
    return done('JobCreated', `Job ${plan.childName} takes one backup`);
  }

  /** The Jobs of the CronJob, as runs (reports read below, once finished). */
  #observeCronRuns(): void {
    const cron = this.#cronJob;
    if (cron === undefined) return;
    const jobs = this.#deps.informers.jobs
      .list(this.#plan.namespace)
      .filter((j) => controllerName(j, 'CronJob') === cron.metadata.name);
    for (const job of jobs) {
      this.#observed.push({
        job,
        state: jobSucceeded(job) ? 'Succeeded' : jobFinished(job) ? 'Failed' : 'Running',
      });
    }
  }

  async #readReports(): Promise<void> {
    const container = reportContainer(this.#plan.target);
    for (const o of this.#observed) {
      if (o.state === 'Running') continue;
      o.report = await this.#deps.jobs.report(
        o.job as Stored<JobObject>,
        container,
        parseBackupReport,
      );
    }
  }

  /** The runs as status will have them: newest first. */
  #runs() {
    return mergeRuns(this.#plan.backup.status?.recentBackups, this.#observed.map(runOf));
  }

  lastBackup(): Promise<StepOutcome> {
    const runs = this.#runs();
    const scheduled = this.#plan.schedule !== undefined;
    const last = scheduled ? runs.find((r) => r.state !== 'Running') : runs[0];
    if (last === undefined) {
      return Promise.resolve(
        done('NoBackupYet', 'no backup has run yet', { status: 'Unknown', holdsReady: false }),
      );
    }
    const message = last.message ?? '';
    if (last.state === 'Running') return Promise.resolve(wait('BackupRunning', message));
    if (last.state === 'Succeeded') {
      return Promise.resolve(
        done('Succeeded', last.location === undefined ? message : `${message}: ${last.location}`),
      );
    }
    if (!scheduled) {
      return Promise.resolve(
        stop(
          'BackupFailed',
          `${message}; a one-shot backup runs once: change the annotation vyogo.tech/retry to run it again`,
        ),
      );
    }
    return Promise.resolve(
      done('BackupFailed', `${message}; the next scheduled run may succeed`, { status: 'False' }),
    );
  }

  hasRetention(): boolean {
    return this.#plan.retentionBy !== undefined;
  }

  async retention(): Promise<StepOutcome> {
    const plan = this.#plan;
    if (plan.retentionBy === 'agent') return this.#agentRetention();
    const target = plan.target;
    if (target?.type !== 's3' || plan.retention === undefined) {
      throw new Error('operator retention needs an S3 destination and a policy');
    }
    const previous = plan.backup.status?.conditions?.find((c) => c.type === 'RetentionApplied');
    const now = (this.#deps.now?.() ?? new Date()).getTime();
    const newest = this.#runs().find((r) => r.state === 'Succeeded')?.completionTime;
    const due = retentionDue(
      {
        lastRun: plan.backup.status?.lastRetentionRun,
        newestSuccess: newest ?? plan.backup.status?.lastSuccessfulBackup,
        policyChanged: previous?.observedGeneration !== plan.backup.metadata.generation,
        failedAt: this.#failedAt.get(this.#uid) ?? (previous?.status === 'False' ? 0 : undefined),
      },
      now,
    );
    if (!('due' in due) && previous !== undefined) {
      return done(previous.reason, previous.message, {
        status: previous.status,
        holdsReady: false,
        requeueAfter: due.inMs,
      });
    }
    const outcome = await applyRetention(
      this.#deps.client,
      plan.namespace,
      plan.name,
      target,
      plan.retention,
      this.#log,
    );
    this.#retention = { at: toMetaTime(new Date(now)), outcome };
    return this.#retentionOutcome(outcome, now);
  }

  #retentionOutcome(outcome: RetentionOutcome, now: number): StepOutcome {
    if (!outcome.ok) {
      this.#failedAt.set(this.#uid, now);
      return done(
        'Failed',
        `retention failed (${outcome.code}): ${outcome.message}; tried again in 5 minutes`,
        { status: 'False', holdsReady: false, requeueAfter: 5 * 60_000 },
      );
    }
    this.#failedAt.delete(this.#uid);
    return done(
      'Pruned',
      `kept ${String(outcome.retained)} sets, deleted ${String(outcome.pruned)}`,
      { requeueAfter: RETENTION_INTERVAL_MS },
    );
  }

  /** What the agent reported of the retention it applied after the newest successful upload. */
  #agentRetention(): Promise<StepOutcome> {
    const completion = (o: ObservedRun): string => jobTime(o.job, 'completionTime') ?? '';
    const newest = this.#observed
      .filter((o) => o.state === 'Succeeded')
      .sort((a, b) => completion(b).localeCompare(completion(a)))[0];
    const r = newest?.report?.ok === true ? newest.report.value.retention : undefined;
    const previous = this.#plan.backup.status?.conditions?.find(
      (c) => c.type === 'RetentionApplied',
    );
    if (r === undefined || newest === undefined) {
      return Promise.resolve(
        previous === undefined
          ? done('NotYetApplied', 'the backup agent applies retention after each upload', {
              status: 'Unknown',
              holdsReady: false,
            })
          : done(previous.reason, previous.message, { status: previous.status, holdsReady: false }),
      );
    }
    const job = newest.job.metadata.name ?? '';
    if ('error' in r) {
      return Promise.resolve(
        done(
          'Failed',
          `the backup agent's retention after Job ${job} failed (${r.error}): ${r.message}`,
          {
            status: 'False',
            holdsReady: false,
          },
        ),
      );
    }
    return Promise.resolve(
      done(
        'Pruned',
        `kept ${String(r.retained)} sets, deleted ${String(r.pruned)} (applied by the backup agent after Job ${job})`,
      ),
    );
  }
}
