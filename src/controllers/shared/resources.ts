// Requests and limits of every container the operator creates (API.md §2.0, §3.2): the merge of a user's partial ResourceRequirements
// with them. Per resource, a missing request is min(default request, user limit) and a missing
// limit is max(default limit, user request), so every container ends up with a valid cpu and
// memory request and limit whatever subset the user gave.
import type { ResourceRequirements } from './k8s.ts';
import { DEFAULT_RESOURCES, type ResourceDefaults } from '../../api/v1alpha1/resources.ts';
import { canonicalQuantity, parseQuantity } from './quantity.ts';

type Quantity = string | number;

/** What a user may write: `requests` and `limits` of cpu, memory and ephemeral-storage. */
export interface UserResources {
  requests?: Partial<Record<string, Quantity>>;
  limits?: Partial<Record<string, Quantity>>;
}

/** Job kinds of `spec.jobResources`; `default` also sizes delete and password-reset Jobs. */
export type JobKind =
  'default' | 'benchInit' | 'siteInit' | 'restore' | 'migrate' | 'backup' | 'siteJob' | 'agent';

const pick = (a: Quantity, b: Quantity, larger: boolean): string => {
  const aWins = larger
    ? parseQuantity(a) >= parseQuantity(b)
    : parseQuantity(a) <= parseQuantity(b);
  return String(aWins ? a : b);
};

/** The user's requirements completed with `defaults` (cpu and memory always set). */
export function mergeResources(
  user: UserResources | undefined,
  defaults: ResourceDefaults,
): ResourceRequirements {
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  const names = new Set([
    'cpu',
    'memory',
    ...Object.keys(user?.requests ?? {}),
    ...Object.keys(user?.limits ?? {}),
  ]);
  for (const name of names) {
    const userRequest = user?.requests?.[name];
    const userLimit = user?.limits?.[name];
    const base = name === 'cpu' || name === 'memory' ? name : undefined;
    const defaultRequest = base === undefined ? undefined : defaults.requests[base];
    const defaultLimit = base === undefined ? undefined : defaults.limits[base];
    const request =
      userRequest ??
      (defaultRequest !== undefined && userLimit !== undefined
        ? pick(defaultRequest, userLimit, false)
        : defaultRequest);
    const limit =
      userLimit ??
      (defaultLimit !== undefined && userRequest !== undefined
        ? pick(defaultLimit, userRequest, true)
        : defaultLimit);
    if (request !== undefined) requests[name] = canonicalQuantity(request);
    if (limit !== undefined) limits[name] = canonicalQuantity(limit);
  }
  return { requests, limits };
}

/** Sizing of a Job: the kind's own entry, else `default`, merged with the kind's built-in size. */
export function jobResources(
  spec: Partial<Record<JobKind, UserResources>> | undefined,
  kind: JobKind,
): ResourceRequirements {
  return mergeResources(spec?.[kind] ?? spec?.default, DEFAULT_RESOURCES[kind]);
}
