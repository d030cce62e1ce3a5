// One runner for every Job the operator owns (mariadb-operator's generic batch reconciler, in
// small). A long operation — bench-init, site-init, restore, migrate, backup, a SiteJob — is a
// Job with a deterministic name, owned by its custom resource, labelled with the hash of its
// inputs. Reconcilers never wait inside a reconcile: they ask the runner where the Job stands
// and the Job's watch brings them back.
//
//   - `jobPhase(job, inputsHash, report)` (pure): Absent | Running | Succeeded(report) |
//     Failed(reason, message) | Stale (the Job is for other inputs, or being deleted).
//   - `JobRunner.run(request)`: creates the Job when absent, deletes a stale one (its deletion
//     event brings the owner back to create the new one), and reads the report of a finished
//     Job from the termination message of the named container — only in pods whose
//     `controller-uid` label is that Job's uid, so a pod of an older Job of the same name never
//     speaks for it. Reports are read once per Job and forgotten when the Job is deleted.
//   - Retry policy: the Job controller retries pods with its own exponential backoff up to
//     `backoffLimit`. A Failed Job then stays failed (no hot loop) until its inputs change — the
//     owner's `vyogo.tech/retry` annotation is one of them, so changing it runs the Job again at
//     once — or, with a `retry` backoff in the request, until the backoff of its attempt has
//     passed since it failed (first, 2 × first, … up to max): the runner then replaces it with
//     the next attempt (annotation `vyogo.tech/attempt`). The attempt count lives in the Job and
//     in memory between the deletion and the next create; a restart in between starts again at 1.
import { createHash } from 'node:crypto';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import type { Informer, Stored } from '../kube/informer.ts';
import type { Logger } from '../kube/logger.ts';
import { redactText } from './redact.ts';
import { toMetaTime } from '../kube/time.ts';
import { applyObject } from './apply.ts';

const INPUTS_HASH_ANNOTATION = 'vyogo.tech/inputs-hash';
/** Changing this annotation of the owner runs its failed Jobs again. */
const RETRY_ANNOTATION = 'vyogo.tech/retry';
/** Which attempt of the request a Job is (1 when absent). */
const ATTEMPT_ANNOTATION = 'vyogo.tech/attempt';
/** The label the Job controller puts on its pods: the Job's uid. */
const CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';

interface JobCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string | Date;
}

/** What the runner reads of a Job. */
export interface JobObject extends KubeObject {
  status?: { conditions?: JobCondition[] };
}

interface TerminatedState {
  message?: string;
  finishedAt?: string | Date;
}

/** What the runner reads of a pod. */
interface PodObject extends KubeObject {
  status?: { containerStatuses?: { name: string; state?: { terminated?: TerminatedState } }[] };
}

/** What a Job's container said in its termination message, parsed by its owner. */
export type Report<R> = { ok: true; value: R } | { ok: false; reason: string; message: string };

export type JobPhase<R> =
  | { phase: 'Absent' }
  | { phase: 'Running'; job: JobObject }
  | { phase: 'Succeeded'; job: JobObject; report: Report<R> }
  | {
      phase: 'Failed';
      job: JobObject;
      reason: string;
      message: string;
      /** With a retry backoff: the next attempt is due in this many ms (0: now). */
      retryInMs?: number;
    }
  | { phase: 'Stale'; job: JobObject };

/** The reason of a report that could not be read. */
const NO_REPORT = 'NoReport';

/**
 * A termination message in the operator's report convention: a JSON object, `{error, message}`
 * for a failure, else the success value `value` reads from it. `who` names the container in the
 * failure a missing or unreadable message gives.
 */
export function parseReport<R>(
  message: string | undefined,
  who: string,
  value: (parsed: Record<string, unknown>) => R,
): Report<R> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message ?? '') as unknown;
  } catch (e) {
    return {
      ok: false,
      reason: NO_REPORT,
      message: `${who} left no readable result (${String(e)})`,
    };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, reason: NO_REPORT, message: `${who} left no readable result` };
  }
  const r = parsed as Record<string, unknown>;
  if (typeof r.error === 'string') {
    return {
      ok: false,
      reason: r.error,
      // The text of a program in the pod: scrubbed before it reaches status and events.
      message: redactText(typeof r.message === 'string' ? r.message : r.error),
    };
  }
  return { ok: true, value: value(r) };
}

const finished = (job: JobObject, type: 'Complete' | 'Failed'): JobCondition | undefined =>
  job.status?.conditions?.find((c) => c.type === type && c.status === 'True');

/** The Job's `status.startTime` or `completionTime` as metav1.Time, if set. */
export function jobTime(job: JobObject, field: 'startTime' | 'completionTime'): string | undefined {
  const v = (job.status as Record<string, unknown> | undefined)?.[field];
  return typeof v === 'string' ? v : v instanceof Date ? toMetaTime(v) : undefined;
}

/** Whether `job` has completed. */
export const jobSucceeded = (job: JobObject): boolean => finished(job, 'Complete') !== undefined;

/** Whether `job` has completed or failed. */
export const jobFinished = (job: JobObject): boolean =>
  finished(job, 'Complete') !== undefined || finished(job, 'Failed') !== undefined;

const jobInputsHash = (job: KubeObject | undefined): string | undefined =>
  job?.metadata.annotations?.[INPUTS_HASH_ANNOTATION];

/**
 * Where `job` stands for `inputsHash`. `report` is what the Job's pod reported, read only once
 * the Job has finished; a failed Job's own report (reason and message) wins over the Job
 * controller's condition.
 */
export function jobPhase<R>(
  job: JobObject | undefined,
  inputsHash: string,
  report: Report<R> | undefined,
): JobPhase<R> {
  if (job === undefined) return { phase: 'Absent' };
  if (job.metadata.deletionTimestamp !== undefined || jobInputsHash(job) !== inputsHash) {
    return { phase: 'Stale', job };
  }
  if (finished(job, 'Complete') !== undefined) {
    return {
      phase: 'Succeeded',
      job,
      report: report ?? { ok: false, reason: NO_REPORT, message: 'the Job left no report' },
    };
  }
  if (finished(job, 'Failed') === undefined) return { phase: 'Running', job };
  return { phase: 'Failed', job, ...jobFailure(job, report) };
}

/** `Job <name> failed: <reason>[: <message>]`, for status messages and events. */
export const failureText = (name: string, f: { reason: string; message: string }): string =>
  `Job ${name} failed: ${f.reason}${f.message === '' || f.message === f.reason ? '' : `: ${f.message}`}`;

/**
 * Why failed `job` failed: its own report's account wins; a missing one leaves the Job
 * controller's reason and message (e.g. BackoffLimitExceeded, DeadlineExceeded).
 */
export function jobFailure<R>(
  job: JobObject,
  report: Report<R> | undefined,
): { reason: string; message: string } {
  if (report !== undefined && !report.ok && report.reason !== NO_REPORT) {
    return { reason: report.reason, message: report.message };
  }
  const failed = finished(job, 'Failed');
  return {
    reason: failed?.reason ?? 'JobFailed',
    message: failed?.message ?? `Job ${job.metadata.name ?? ''} failed`,
  };
}

/** A Job an owner wants, and how to read what it reports. */
export interface JobRequest<R, J extends JobObject = JobObject> {
  owner: KubeObject;
  /** The desired Job: deterministic name, owner reference; the runner adds the inputs hash. */
  job: J;
  /** Everything that, when changed, makes the Job run again (hashed with the retry annotation). */
  inputs: unknown;
  /** The container whose termination message is the report. */
  container: string;
  parseReport(message: string | undefined): Report<R>;
  /** Run a failed Job again after a backoff; without it a failed Job waits for new inputs. */
  retry?: RetryBackoff;
}

/** Backoff between attempts: `firstMs` after the first failure, doubling up to `maxMs`. */
export interface RetryBackoff {
  firstMs: number;
  maxMs: number;
}

const attemptOf = (job: KubeObject): number => {
  const n = Number(job.metadata.annotations?.[ATTEMPT_ANNOTATION] ?? '1');
  return Number.isInteger(n) && n >= 1 ? n : 1;
};

/** How long after its failure a Job of `attempt` is run again. */
export const retryDelayMs = (attempt: number, backoff: RetryBackoff): number =>
  Math.min(backoff.firstMs * 2 ** Math.min(attempt - 1, 30), backoff.maxMs);

/** When the failed `job`'s next attempt is due, in ms from `now` (0 or less: due). */
export function retryInMs(job: JobObject, backoff: RetryBackoff, now: number): number {
  const failedAt = finished(job, 'Failed')?.lastTransitionTime;
  const at = failedAt === undefined ? now : new Date(failedAt).getTime();
  return at + retryDelayMs(attemptOf(job), backoff) - now;
}

/** The hash of a request's inputs and its owner's retry annotation. */
export function inputsHash(inputs: unknown, owner: KubeObject): string {
  const retry = owner.metadata.annotations?.[RETRY_ANNOTATION] ?? null;
  return createHash('sha256').update(JSON.stringify({ inputs, retry })).digest('hex').slice(0, 16);
}

/** The request's Job with its inputs hash (and, past the first, its attempt) annotated. */
export function desiredJob<R, J extends JobObject>(req: JobRequest<R, J>, attempt = 1): J {
  const job = req.job;
  return {
    ...job,
    metadata: {
      ...job.metadata,
      annotations: {
        ...job.metadata.annotations,
        [INPUTS_HASH_ANNOTATION]: inputsHash(req.inputs, req.owner),
        ...(attempt > 1 ? { [ATTEMPT_ANNOTATION]: String(attempt) } : {}),
      },
    },
  };
}

export class JobRunner {
  readonly #client: KubeClient;
  readonly #jobs: Informer<JobObject>;
  /** Job uid → its report (a finished Job's outcome never changes). */
  readonly #reports = new Map<string, Report<unknown>>();
  /**
   * namespace/name → the attempt the next Job of that name is, and its owner's uid (between the
   * delete of a failed Job and the create of the next; `forgetOwner` drops it if the owner goes).
   */
  readonly #nextAttempt = new Map<string, { attempt: number; owner: string }>();
  readonly #now: () => number;

  constructor(client: KubeClient, jobs: Informer<JobObject>, now: () => number = Date.now) {
    this.#client = client;
    this.#jobs = jobs;
    this.#now = now;
    jobs.addEventHandler({
      delete: (job) => {
        this.#reports.delete(job.metadata.uid);
      },
    });
  }

  /** Where the request's Job stands, from the cache (and its pods' report once finished). */
  async phase<R>(req: JobRequest<R>): Promise<JobPhase<R>> {
    const { namespace = '', name = '' } = req.job.metadata;
    const job = this.#jobs.get(namespace, name);
    const hash = inputsHash(req.inputs, req.owner);
    const current = jobPhase<R>(job, hash, undefined);
    if (job === undefined || (current.phase !== 'Succeeded' && current.phase !== 'Failed')) {
      return current;
    }
    return jobPhase(job, hash, await this.report(job, req.container, (m) => req.parseReport(m)));
  }

  /**
   * `phase`, after creating an absent Job, deleting a stale one, or deleting a failed one whose
   * retry is due (its deletion event brings the owner back to create the next attempt).
   */
  async run<R>(req: JobRequest<R>, log: Logger): Promise<JobPhase<R>> {
    const current = await this.phase(req);
    const key = `${req.job.metadata.namespace ?? ''}/${req.job.metadata.name ?? ''}`;
    if (current.phase === 'Absent') {
      const attempt = this.#nextAttempt.get(key)?.attempt ?? 1;
      const job = await applyObject(this.#client, desiredJob(req, attempt));
      this.#nextAttempt.delete(key);
      log.info({ job: job.metadata.name, attempt }, 'created Job');
      return { phase: 'Running', job };
    }
    if (current.phase === 'Stale' && current.job.metadata.deletionTimestamp === undefined) {
      log.info({ job: current.job.metadata.name }, 'inputs changed: replacing the Job');
      await this.#deleteJob(current.job);
    }
    if (current.phase === 'Failed' && req.retry !== undefined) {
      const due = retryInMs(current.job, req.retry, this.#now());
      if (due > 0) return { ...current, retryInMs: due };
      const attempt = attemptOf(current.job) + 1;
      log.info({ job: current.job.metadata.name, attempt }, 'retrying the failed Job');
      this.#nextAttempt.set(key, { attempt, owner: req.owner.metadata.uid ?? '' });
      await this.#deleteJob(current.job);
      return { ...current, retryInMs: 0 };
    }
    return current;
  }

  /** Forget what is remembered for the Jobs of the owner with `uid` (it was deleted). */
  forgetOwner(uid: string): void {
    for (const [key, next] of this.#nextAttempt) {
      if (next.owner === uid) this.#nextAttempt.delete(key);
    }
  }

  async #deleteJob(job: JobObject): Promise<void> {
    const { apiVersion, kind, metadata } = job;
    await this.#client.delete(apiVersion, kind, metadata.namespace, metadata.name ?? '', {
      propagationPolicy: 'Background',
    });
  }

  /**
   * What finished `job` reported in `container`'s termination message — also for Jobs the
   * runner did not create (a CronJob's). Read once per Job, from its own pods only.
   */
  async report<R>(
    job: Stored<JobObject>,
    container: string,
    parse: (message: string | undefined) => Report<R>,
  ): Promise<Report<R>> {
    const uid = job.metadata.uid;
    const known = this.#reports.get(uid) as Report<R> | undefined;
    if (known !== undefined) return known;
    const pods = await this.#client.list<PodObject>('v1', 'Pod', {
      namespace: job.metadata.namespace,
      labelSelector: `${CONTROLLER_UID_LABEL}=${uid}`,
    });
    const terminated = pods.items
      .flatMap((p) => p.status?.containerStatuses ?? [])
      .filter((s) => s.name === container)
      .flatMap((s) => (s.state?.terminated === undefined ? [] : [s.state.terminated]))
      .sort((a, b) => String(a.finishedAt ?? '').localeCompare(String(b.finishedAt ?? '')));
    const report = parse(terminated.at(-1)?.message);
    this.#reports.set(uid, report);
    return report;
  }
}
