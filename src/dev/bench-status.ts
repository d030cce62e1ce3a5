// Reading a FrappeBench's status the way the playground and the benchmark judge progress: its
// Ready condition, whether it has settled at the capacity its spec declares, and a one-line
// summary for progress output.
import { COMPONENTS, type AUTOSCALED_COMPONENTS, type FrappeBench } from '../api/v1alpha1/index.ts';

type Autoscaled = (typeof AUTOSCALED_COMPONENTS)[number];

export function benchCondition(bench: FrappeBench | undefined, type: string) {
  return bench?.status?.conditions?.find((c) => c.type === type);
}

/** Ready=True for the bench's current generation. */
export function benchReady(bench: FrappeBench | undefined): boolean {
  const ready = benchCondition(bench, 'Ready');
  return (
    ready?.status === 'True' &&
    (ready.observedGeneration ?? 0) >= (bench?.metadata.generation ?? Number.POSITIVE_INFINITY)
  );
}

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

const MARK: Record<string, string> = { True: '✓', False: '✗', Unknown: '?' };

/** One line: phase, Ready with its reason, the other conditions, replicas per component. */
export function benchLine(bench: FrappeBench): string {
  const conditions = bench.status?.conditions ?? [];
  const ready = benchCondition(bench, 'Ready');
  const others = conditions
    .filter((c) => c.type !== 'Ready')
    .map((c) => `${c.type}${MARK[c.status] ?? c.status}`)
    .join(' ');
  const replicas = Object.entries(bench.status?.componentScaling ?? {})
    .map(([c, s]) => `${c} ${String(s.currentReplicas)}/${String(s.desiredReplicas)}`)
    .join(', ');
  return [
    `${bench.metadata.name ?? ''}: ${bench.status?.phase ?? 'no status yet'}`,
    ready === undefined ? undefined : `Ready=${ready.status} ${ready.reason}`,
    others === '' ? undefined : others,
    replicas === '' ? undefined : `replicas ${replicas}`,
  ]
    .filter((p) => p !== undefined)
    .join(' · ');
}
