// A reconcile as one table of named steps (mariadb-operator's phase list, CloudNativePG's "stop
// here, come back" result). Each controller lists its steps once:
//
//   { name, condition, run(state) → Done | Wait | Stop }
//
//   - Done: the step's work is in place, the walk goes on. It carries the step's condition:
//     True by default, or False/Unknown while what it made is not usable yet (a PVC waiting for
//     its first consumer, a rollout) — `holdsReady` says whether that keeps Ready False.
//   - Wait{reason, message, requeueAfter?}: something is not there yet (a Job running, a Secret
//     not synced): stop here, come back on a watch event or after `requeueAfter`.
//   - Stop{reason, message}: a terminal problem that no retry fixes; stop until the object or
//     what it depends on changes.
//   - A thrown error is transient: the walk stops there, the step's condition says what failed,
//     and the caller rethrows it so the controller retries with backoff — unless the caller's
//     `terminal` judges it one no retry fixes (the API server refusing a child as invalid): then
//     it is the step's Stop.
//
// The walk stops at the first step that is not Done. A step not reached keeps its previous
// condition (nothing new is known about it), or says it waits for the blocking step. Ready is a
// policy chain over the walk in table order (cert-manager's readiness chain): the first step
// that stopped the walk or holds Ready names itself and its reason in Ready's message.
import {
  setCondition,
  type Condition,
  type ConditionInput,
  type ConditionStatus,
} from './conditions.ts';
import { errorMessage } from './errors.ts';

export interface Done {
  kind: 'Done';
  status: ConditionStatus;
  reason: string;
  message: string;
  /** A False/Unknown Done keeps Ready False (default: whenever status is not True). */
  holdsReady: boolean;
  /** Look again after this long even if no watch event comes (e.g. a kind not watched). */
  requeueAfter?: number;
}

export interface Wait {
  kind: 'Wait';
  reason: string;
  message: string;
  requeueAfter?: number;
}

export interface Stop {
  kind: 'Stop';
  reason: string;
  message: string;
}

export type StepOutcome = Done | Wait | Stop;

export interface DoneOptions {
  status?: ConditionStatus;
  holdsReady?: boolean;
  requeueAfter?: number;
}

export function done(reason: string, message: string, opts: DoneOptions = {}): Done {
  const status = opts.status ?? 'True';
  return {
    kind: 'Done',
    status,
    reason,
    message,
    holdsReady: opts.holdsReady ?? status !== 'True',
    ...(opts.requeueAfter === undefined ? {} : { requeueAfter: opts.requeueAfter }),
  };
}

export const wait = (reason: string, message: string, requeueAfter?: number): Wait => ({
  kind: 'Wait',
  reason,
  message,
  ...(requeueAfter === undefined ? {} : { requeueAfter }),
});

export const stop = (reason: string, message: string): Stop => ({ kind: 'Stop', reason, message });

/** One entry of a controller's step table. */
export interface Step<S> {
  /** lowerCamelCase; named in Ready and in `<Name>Error` reasons. */
  name: string;
  /** The condition type this step owns. */
  condition: string;
  /** Whether the step belongs to this object's walk (default: always); skipped, it has no condition. */
  applies?(state: S): boolean;
  run(state: S): Promise<StepOutcome>;
}

/** What became of one step in a walk. */
export type StepReport =
  | { step: string; condition: string; outcome: StepOutcome }
  | { step: string; condition: string; error: unknown }
  | { step: string; condition: string; notReached: true }
  | { step: string; condition: string; skipped: true };

export interface Walk {
  /** Every step of the table, in order. */
  reports: StepReport[];
  /** The step that stopped the walk: Wait, Stop or an error. */
  blocker: StepReport | undefined;
  /** The error a step threw (transient: the caller rethrows it after writing status). */
  error: { step: string; error: unknown } | undefined;
  /** The soonest `requeueAfter` any outcome asked for. */
  requeueAfter: number | undefined;
}

const capitalise = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** The reason a step that threw reports: `<Step>Error`. */
export const errorReason = (step: string): string => `${capitalise(step)}Error`;

/**
 * Run `table` in order against `state`, stopping at the first step that is not Done. `abort`
 * tells errors that end the walk without being a failure of the step (e.g. the namespace is
 * terminating): they propagate to the caller untouched. `terminal` turns an error no retry can
 * fix (a spec the API server refuses to build) into the step's Stop: a condition, no retry.
 */
export async function walkSteps<S>(
  table: readonly Step<S>[],
  state: S,
  abort: (err: unknown) => boolean = () => false,
  terminal: (err: unknown) => Stop | undefined = () => undefined,
): Promise<Walk> {
  const reports: StepReport[] = [];
  let blocker: StepReport | undefined;
  let error: Walk['error'];
  let requeueAfter: number | undefined;
  for (const entry of table) {
    const { name: step, condition } = entry;
    if (entry.applies?.(state) === false) {
      reports.push({ step, condition, skipped: true });
      continue;
    }
    if (blocker !== undefined) {
      reports.push({ step, condition, notReached: true });
      continue;
    }
    let report: StepReport;
    try {
      const outcome = await entry.run(state);
      report = { step, condition, outcome };
      if (outcome.kind !== 'Stop' && outcome.requeueAfter !== undefined) {
        requeueAfter = Math.min(requeueAfter ?? outcome.requeueAfter, outcome.requeueAfter);
      }
      if (outcome.kind !== 'Done') blocker = report;
    } catch (err) {
      if (abort(err)) throw err;
      const stopped = terminal(err);
      if (stopped === undefined) {
        report = { step, condition, error: err };
        error = { step, error: err };
      } else {
        report = { step, condition, outcome: stopped };
      }
      blocker = report;
    }
    reports.push(report);
  }
  return { reports, blocker, error, requeueAfter };
}

/** A step's condition as its report gives it; undefined when the step was not reached. */
function reportCondition(r: StepReport): Omit<ConditionInput, 'observedGeneration'> | undefined {
  if ('error' in r) {
    return {
      type: r.condition,
      status: 'False',
      reason: errorReason(r.step),
      message: `step ${r.step} failed: ${errorMessage(r.error)}`,
    };
  }
  if ('notReached' in r || 'skipped' in r) return undefined;
  const o = r.outcome;
  return {
    type: r.condition,
    status: o.kind === 'Done' ? o.status : 'False',
    reason: o.reason,
    message: o.message,
  };
}

/** The outcome of the step owning `condition`, when it ran. */
export const outcomeOf = (walk: Walk, condition: string): StepOutcome | undefined => {
  const r = walk.reports.find((x) => x.condition === condition);
  return r !== undefined && 'outcome' in r ? r.outcome : undefined;
};

/** The first step, in table order, that stopped the walk or holds Ready (a policy chain). */
function readyBlocker(walk: Walk): StepReport | undefined {
  return walk.reports.find(
    (r) =>
      r === walk.blocker || ('outcome' in r && r.outcome.kind === 'Done' && r.outcome.holdsReady),
  );
}

/** Ready=False naming the blocking step and its reason; undefined when nothing blocks. */
export function notReadyCondition(
  walk: Walk,
): Omit<ConditionInput, 'observedGeneration'> | undefined {
  const blocker = readyBlocker(walk);
  const c = blocker === undefined ? undefined : reportCondition(blocker);
  if (blocker === undefined || c === undefined) return undefined;
  return {
    type: 'Ready',
    status: 'False',
    reason: c.reason,
    message: `step ${blocker.step}: ${c.message}`,
  };
}

/**
 * The conditions of every step after `walk`, set on `previous` (transition times kept when the
 * status did not change). A step not reached keeps its previous condition, or (when it has none)
 * says it waits for the blocking step.
 */
export function stepConditions(
  previous: readonly Condition[] | undefined,
  walk: Walk,
  generation: number,
  now: Date = new Date(),
): Condition[] {
  let conditions = [...(previous ?? [])];
  for (const r of walk.reports) {
    if ('skipped' in r) {
      conditions = conditions.filter((p) => p.type !== r.condition);
      continue;
    }
    const c = reportCondition(r);
    if (c !== undefined) {
      conditions = setCondition(conditions, { ...c, observedGeneration: generation }, now);
    } else if (!conditions.some((p) => p.type === r.condition) && walk.blocker !== undefined) {
      const by = walk.blocker.step;
      conditions = setCondition(
        conditions,
        {
          type: r.condition,
          status: 'False',
          reason: `WaitingFor${capitalise(by)}`,
          message: `waits for step ${by}`,
          observedGeneration: generation,
        },
        now,
      );
    }
  }
  return conditions;
}
