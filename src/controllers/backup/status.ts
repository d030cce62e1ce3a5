// A SiteBackup's status (API.md §2.3), pure: the runs seen in its Jobs merged into the bounded
// `recentBackups` (newest first, at most 10; a run outlives its Job there), the newest success
// and its location, the step conditions (SiteReady, DestinationReady, Scheduled,
// LastBackupSucceeded, RetentionApplied), then Ready (configured and the last run not failed),
// Progressing (a run is active) and Degraded (the last run or retention failed), and the phase.
import type {
  BackupPhase,
  BackupRun,
  SiteBackup,
  SiteBackupStatus,
} from '../../api/v1alpha1/index.ts';
import {
  falseCondition,
  setCondition,
  trueCondition,
  type Condition,
} from '../../runtime/conditions.ts';
import { transitionEvents, type EventInput } from '../../runtime/events.ts';
import { errorMessage } from '../../runtime/errors.ts';
import {
  failureText,
  jobFailure,
  jobTime,
  type JobObject,
  type Report,
} from '../../runtime/jobs.ts';
import {
  errorReason,
  notReadyCondition,
  outcomeOf,
  stepConditions,
  type Walk,
} from '../../runtime/steps.ts';
import type { BackupReport } from './pod.ts';
import type { RetentionOutcome } from './retention.ts';

const MAX_RECENT = 10;

/** A Job of the SiteBackup as the reconcile saw it (the report only once it has finished). */
export interface ObservedRun {
  job: JobObject;
  state: BackupRun['state'];
  /** What `upload` reported (read once the Job has finished). */
  report?: Report<BackupReport>;
  /** Why a failed Job failed (its report's account, else the Job controller's). */
  failure?: { reason: string; message: string };
}

const failedAt = (job: JobObject): string | undefined => {
  const c = job.status?.conditions?.find((x) => x.type === 'Failed' && x.status === 'True');
  const t = c?.lastTransitionTime;
  return typeof t === 'string' ? t : t instanceof Date ? t.toISOString() : undefined;
};

function runMessage(o: ObservedRun, name: string, value: BackupReport | undefined): string {
  if (o.state === 'Running') return `Job ${name} is running`;
  if (o.state === 'Failed') {
    return failureText(name, o.failure ?? jobFailure(o.job, o.report));
  }
  const retention = value?.retention;
  return retention !== undefined && 'error' in retention
    ? `Job ${name} succeeded; the agent's retention failed (${retention.error}: ${retention.message})`
    : `Job ${name} succeeded`;
}

/** One run of `recentBackups` from what was seen of its Job. */
export function runOf(o: ObservedRun): BackupRun {
  const name = o.job.metadata.name ?? '';
  const startTime = jobTime(o.job, 'startTime') ?? o.job.metadata.creationTimestamp;
  const completionTime =
    jobTime(o.job, 'completionTime') ?? (o.state === 'Failed' ? failedAt(o.job) : undefined);
  const value = o.report?.ok === true ? o.report.value : undefined;
  return {
    jobName: name,
    ...(startTime === undefined ? {} : { startTime }),
    ...(completionTime === undefined ? {} : { completionTime }),
    state: o.state,
    ...(value?.location === undefined ? {} : { location: value.location }),
    ...(value?.sizeBytes === undefined ? {} : { sizeBytes: value.sizeBytes }),
    message: runMessage(o, name, value),
  };
}

const runTime = (r: BackupRun): string => r.startTime ?? r.completionTime ?? '';

/** `previous` with the observed runs replacing theirs by Job name: newest first, at most 10. */
export function mergeRuns(
  previous: readonly BackupRun[] | undefined,
  observed: readonly BackupRun[],
): BackupRun[] {
  const byName = new Map<string, BackupRun>();
  for (const r of previous ?? []) byName.set(r.jobName, r);
  for (const r of observed) byName.set(r.jobName, r);
  return [...byName.values()]
    .sort((a, b) => runTime(b).localeCompare(runTime(a)) || b.jobName.localeCompare(a.jobName))
    .slice(0, MAX_RECENT);
}

/** What the reconcile found besides the walk. */
export interface BackupRecord {
  site: string | undefined;
  cronJobName: string | undefined;
  lastScheduleTime: string | undefined;
  /** The runs of the Jobs that exist now. */
  runs: BackupRun[];
  scheduled: boolean;
  suspended: boolean;
  /** A retention pass run by this reconcile. */
  retention: { at: string; outcome: RetentionOutcome } | undefined;
}

/** The newest successful run: from the runs, else what status already says. */
function newestSuccess(
  runs: readonly BackupRun[],
  previous: SiteBackupStatus | undefined,
): { at: string; location: string | undefined } | undefined {
  const ok = runs
    .filter((r) => r.state === 'Succeeded' && r.completionTime !== undefined)
    .sort((a, b) => (b.completionTime ?? '').localeCompare(a.completionTime ?? ''))[0];
  const before = previous?.lastSuccessfulBackup;
  if (ok?.completionTime !== undefined && (before === undefined || ok.completionTime >= before)) {
    return { at: ok.completionTime, location: ok.location };
  }
  return before === undefined ? undefined : { at: before, location: previous?.lastBackupLocation };
}

function phaseOf(walk: Walk, r: BackupRecord, last: BackupRun | undefined): BackupPhase {
  if (outcomeOf(walk, 'SiteReady')?.kind !== 'Done') return 'Pending';
  if (last?.state === 'Running') return 'Running';
  if (r.scheduled) return r.suspended ? 'Suspended' : 'Scheduled';
  if (last === undefined) return 'Pending';
  return last.state;
}

export function siteBackupStatus(
  b: SiteBackup,
  walk: Walk,
  r: BackupRecord,
  now: Date = new Date(),
): SiteBackupStatus {
  const previous = b.status;
  const generation = b.metadata.generation ?? 0;
  const runs = mergeRuns(previous?.recentBackups, r.runs);
  const last = runs[0];
  const success = newestSuccess(runs, previous);
  const retention = r.retention;
  const retentionFailed = outcomeOf(walk, 'RetentionApplied');
  const lastFailed = last?.state === 'Failed';
  const notReady = notReadyCondition(walk);
  const failed = walk.error;
  const summary = [
    notReady ?? trueCondition('Ready', 'Configured', configuredMessage(r)),
    last?.state === 'Running'
      ? trueCondition('Progressing', 'BackupRunning', last.message ?? 'a backup runs')
      : falseCondition('Progressing', 'Idle', 'no backup is running'),
    failed !== undefined
      ? trueCondition(
          'Degraded',
          errorReason(failed.step),
          `step ${failed.step} failed: ${errorMessage(failed.error)}`,
        )
      : lastFailed
        ? trueCondition('Degraded', 'BackupFailed', last.message ?? 'the last backup failed')
        : retentionFailed?.kind === 'Done' && retentionFailed.status === 'False'
          ? trueCondition('Degraded', 'RetentionFailed', retentionFailed.message)
          : falseCondition('Degraded', 'AsExpected', 'nothing is degraded'),
  ];
  let conditions = stepConditions(previous?.conditions, walk, generation, now);
  for (const c of summary) {
    conditions = setCondition(conditions, { ...c, observedGeneration: generation }, now);
  }
  const keep = <K extends keyof SiteBackupStatus>(k: K, v: SiteBackupStatus[K] | undefined) =>
    v === undefined ? {} : { [k]: v };
  return {
    phase: phaseOf(walk, r, last),
    observedGeneration: generation,
    conditions,
    ...keep('site', r.site ?? previous?.site),
    ...keep('cronJobName', r.cronJobName),
    ...keep('lastBackupJob', last?.jobName ?? previous?.lastBackupJob),
    ...keep('lastScheduleTime', r.lastScheduleTime ?? previous?.lastScheduleTime),
    ...keep('lastSuccessfulBackup', success?.at),
    ...keep('lastBackupLocation', success?.location),
    ...(runs.length === 0 ? {} : { recentBackups: runs }),
    ...keep('lastRetentionRun', retention?.at ?? previous?.lastRetentionRun),
    ...(retention?.outcome.ok === true
      ? { retainedSets: retention.outcome.retained, prunedSets: retention.outcome.pruned }
      : {
          ...keep('retainedSets', previous?.retainedSets),
          ...keep('prunedSets', previous?.prunedSets),
        }),
  };
}

function configuredMessage(r: BackupRecord): string {
  if (!r.scheduled) return 'the backup has run';
  return r.suspended
    ? `CronJob ${r.cronJobName ?? ''} is suspended`
    : `CronJob ${r.cronJobName ?? ''} runs the backups`;
}

function eventFor(c: Condition): EventInput | undefined {
  // A failed run has its own event (runEvents); the others degrade on transitions.
  if (c.type === 'Degraded' && c.status === 'True' && c.reason !== 'BackupFailed') {
    return { type: 'Warning', reason: c.reason, action: 'Backup', note: c.message };
  }
  return undefined;
}

/** One event per run that finished since `before`: where its set went, or why it failed. */
function runEvents(before: SiteBackupStatus | undefined, after: SiteBackupStatus): EventInput[] {
  const prior = new Map((before?.recentBackups ?? []).map((r) => [r.jobName, r.state]));
  return (after.recentBackups ?? [])
    .filter((r) => r.state !== 'Running' && prior.get(r.jobName) !== r.state)
    .reverse()
    .map((r) =>
      r.state === 'Succeeded'
        ? {
            type: 'Normal',
            reason: 'BackupSucceeded',
            action: 'Backup',
            note:
              r.location === undefined ? (r.message ?? '') : `${r.message ?? ''}: ${r.location}`,
          }
        : { type: 'Warning', reason: 'BackupFailed', action: 'Backup', note: r.message ?? '' },
    );
}

export const transitions = (
  before: SiteBackupStatus | undefined,
  after: SiteBackupStatus,
): EventInput[] => [
  ...runEvents(before, after),
  ...transitionEvents(before?.conditions, after.conditions, eventFor),
];
