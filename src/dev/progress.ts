// Reading a FrappeBench's and a FrappeSite's status the way the playground and the benchmark
// judge progress: the Ready condition at the object's generation, whether a bench has settled at
// the capacity its spec declares, and a one-line summary of each for progress output.
import {
  COMPONENTS,
  type AUTOSCALED_COMPONENTS,
  type FrappeBench,
  type FrappeSite,
} from '../api/v1alpha1/index.ts';

type Autoscaled = (typeof AUTOSCALED_COMPONENTS)[number];

/** What the readers below need of a FrappeBench or a FrappeSite. */
interface WithConditions {
  metadata: { name?: string; generation?: number };
  status?: {
    phase?: string;
    conditions?: {
      type: string;
      status: string;
      reason: string;
      message: string;
      observedGeneration?: number;
    }[];
  };
}

function condition(obj: WithConditions | undefined, type: string) {
  return obj?.status?.conditions?.find((c) => c.type === type);
}

/** Ready=True for the object's current generation. */
function readyAtGeneration(obj: WithConditions | undefined): boolean {
  const ready = condition(obj, 'Ready');
  return (
    ready?.status === 'True' &&
    (ready.observedGeneration ?? 0) >= (obj?.metadata.generation ?? Number.POSITIVE_INFINITY)
  );
}

const MARK: Record<string, string> = { True: '✓', False: '✗', Unknown: '?' };

/**
 * `name: phase · Ready=… reason[: message] · the other conditions ✓/✗ · extra`: Ready's message
 * only with `withMessage` (a site's says what it waits for; a bench's replicas say more).
 */
function statusLine(obj: WithConditions, withMessage: boolean, extra: string): string {
  const conditions = obj.status?.conditions ?? [];
  const ready = condition(obj, 'Ready');
  const others = conditions
    .filter((c) => c.type !== 'Ready')
    .map((c) => `${c.type}${MARK[c.status] ?? c.status}`)
    .join(' ');
  return [
    `${obj.metadata.name ?? ''}: ${obj.status?.phase ?? 'no status yet'}`,
    ready === undefined
      ? undefined
      : `Ready=${ready.status} ${ready.reason}${withMessage ? `: ${ready.message}` : ''}`,
    others === '' ? undefined : others,
    extra === '' ? undefined : extra,
  ]
    .filter((p) => p !== undefined)
    .join(' · ');
}

/** Ready=True for the bench's current generation. */
export const benchReady = (bench: FrappeBench | undefined): boolean => readyAtGeneration(bench);

/**
 * Ready for the current generation, phase Ready (no rollout in progress), every component running
 * the replicas its Deployment asks for, and every component the spec autoscales with an HPA at
 * least at its minReplicas: the capacity the spec declares. The first Ready=True comes earlier:
 * a new Deployment starts with one replica, and kcm's HPA scales it up to minReplicas seconds
 * later (Ready drops while the new pods start).
 */
export function benchSettled(bench: FrappeBench | undefined): boolean {
  if (bench === undefined || !benchReady(bench) || bench.status?.phase !== 'Ready') return false;
  const scaling = bench.status.componentScaling ?? {};
  return COMPONENTS.every((c) => {
    const s = scaling[c];
    if (s === undefined || s.currentReplicas !== s.desiredReplicas) return false;
    const a = bench.spec.componentAutoscaling?.[c as Autoscaled];
    if (a?.enabled !== true || (a.provider ?? 'hpa') !== 'hpa') return true;
    return s.desiredReplicas >= (a.minReplicas ?? 1);
  });
}

/** One line: phase, Ready with its reason, the other conditions, replicas per component. */
export function benchLine(bench: FrappeBench): string {
  const replicas = Object.entries(bench.status?.componentScaling ?? {})
    .map(([c, s]) => `${c} ${String(s.currentReplicas)}/${String(s.desiredReplicas)}`)
    .join(', ');
  return statusLine(bench, false, replicas === '' ? '' : `replicas ${replicas}`);
}

/** Ready=True for the site's current generation. */
export const siteReady = (site: FrappeSite | undefined): boolean => readyAtGeneration(site);

/** One line: phase, Ready with its reason and message (what the site waits for), conditions. */
export const siteLine = (site: FrappeSite): string => statusLine(site, true, '');
