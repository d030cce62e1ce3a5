// metav1.Condition helpers with the upstream semantics (apimachinery's meta.SetStatusCondition):
// setting a condition replaces the one of the same type, and `lastTransitionTime` changes only
// when `status` changes — so a reconcile that finds nothing new produces an identical status
// and writes nothing. Pure functions: they return new arrays and never mutate their input.
import { toMetaTime } from '../kube/time.ts';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  /** CamelCase. */
  reason: string;
  /** What happened and what to do. */
  message: string;
  observedGeneration?: number;
  /** RFC 3339, second precision (as the API server stores metav1.Time). */
  lastTransitionTime: string;
}

export type ConditionInput = Omit<Condition, 'lastTransitionTime'>;

export function getCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === 'True';
}

/** `conditions` with `input` set; its transition time is `now` only if its status changed. */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  input: ConditionInput,
  now: Date = new Date(),
): Condition[] {
  const existing = getCondition(conditions, input.type);
  const lastTransitionTime =
    existing !== undefined && existing.status === input.status
      ? existing.lastTransitionTime
      : toMetaTime(now);
  const next: Condition = { ...input, lastTransitionTime };
  return existing === undefined
    ? [...(conditions ?? []), next]
    : (conditions ?? []).map((c) => (c === existing ? next : c));
}

/** A condition input of status True. */
export const trueCondition = (type: string, reason: string, message: string) =>
  ({ type, status: 'True', reason, message }) as const;

/** A condition input of status False. */
export const falseCondition = (type: string, reason: string, message: string) =>
  ({ type, status: 'False', reason, message }) as const;
