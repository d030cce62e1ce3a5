// A SiteJob's status (API.md §2.4): the step conditions (SiteReady, Scheduled, Complete), then
// Ready (True once the Job succeeded), Progressing (the Job runs), Degraded (it failed), the
// phase, and the Job's name, times, message and backup set. Pure.
import type { SiteJob, SiteJobStatus } from '../../api/v1alpha1/index.ts';
import {
  falseCondition,
  setCondition,
  trueCondition,
  type Condition,
} from '../../runtime/conditions.ts';
import { transitionEvents, type EventInput } from '../../runtime/events.ts';
import { errorMessage } from '../../runtime/errors.ts';
import { errorReason, notReadyCondition, stepConditions, type Walk } from '../../runtime/steps.ts';

/** What the job step saw of the Job. */
export interface JobRecord {
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  jobName?: string;
  startTime?: string;
  completionTime?: string;
  message?: string;
  backup?: { location?: string; sizeBytes?: number };
}

export function siteJobStatus(
  sj: SiteJob,
  walk: Walk,
  r: JobRecord,
  now: Date = new Date(),
): SiteJobStatus {
  const generation = sj.metadata.generation ?? 0;
  const notReady = notReadyCondition(walk);
  const failed = walk.error;
  const summary = [
    r.phase === 'Succeeded'
      ? trueCondition('Ready', 'Succeeded', r.message ?? 'the Job succeeded')
      : (notReady ?? falseCondition('Ready', 'NotFinished', 'the Job has not finished')),
    r.phase === 'Running'
      ? trueCondition('Progressing', 'JobRunning', r.message ?? 'the Job runs')
      : falseCondition('Progressing', r.phase, r.message ?? r.phase),
    r.phase === 'Failed'
      ? trueCondition('Degraded', 'JobFailed', r.message ?? 'the Job failed')
      : failed !== undefined
        ? trueCondition(
            'Degraded',
            errorReason(failed.step),
            `step ${failed.step} failed: ${errorMessage(failed.error)}`,
          )
        : falseCondition('Degraded', 'AsExpected', 'nothing is degraded'),
  ];
  let conditions = stepConditions(sj.status?.conditions, walk, generation, now);
  for (const c of summary) {
    conditions = setCondition(conditions, { ...c, observedGeneration: generation }, now);
  }
  return {
    phase: r.phase,
    observedGeneration: generation,
    conditions,
    ...(r.jobName === undefined ? {} : { jobName: r.jobName }),
    ...(r.startTime === undefined ? {} : { startTime: r.startTime }),
    ...(r.completionTime === undefined ? {} : { completionTime: r.completionTime }),
    ...(r.message === undefined ? {} : { message: r.message }),
    ...(r.backup === undefined ? {} : { backup: r.backup }),
  };
}

function eventFor(c: Condition): EventInput | undefined {
  const event = (type: EventInput['type'], reason: string): EventInput => ({
    type,
    reason,
    action: 'SiteJob',
    note: c.message,
  });
  if (c.type === 'Ready' && c.status === 'True') return event('Normal', 'Succeeded');
  if (c.type === 'Degraded' && c.status === 'True') return event('Warning', c.reason);
  if (c.type === 'Progressing' && c.status === 'True') return event('Normal', 'Started');
  return undefined;
}

export const transitions = (
  before: SiteJobStatus | undefined,
  after: SiteJobStatus,
): EventInput[] => transitionEvents(before?.conditions, after.conditions, eventFor);
