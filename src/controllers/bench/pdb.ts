// PodDisruptionBudgets `<bench>-gunicorn`, `-nginx`, `-socketio` (API.md §3.2, §1.4): only while
// `podDisruptionBudget.enabled` (default true) and the component runs at least 2 replicas by
// design — a PDB over a single replica would block every drain.
import type { FrappeBench } from '../../api/v1alpha1/index.ts';
import { selectorLabels } from '../shared/labels.ts';
import { childMeta } from '../shared/meta.ts';
import { KINDS, type PodDisruptionBudget } from '../shared/objects.ts';
import type { ScalingPlan } from './autoscaling.ts';
import { benchChild, benchLabels, benchName, type DeploymentComponent } from './context.ts';

export const PDB_COMPONENTS = ['gunicorn', 'nginx', 'socketio'] as const;

export function disruptionBudgets(
  bench: FrappeBench,
  plans: Record<DeploymentComponent, ScalingPlan>,
): PodDisruptionBudget[] {
  const config = bench.spec.podDisruptionBudget;
  if (config?.enabled === false) return [];
  return PDB_COMPONENTS.filter((c) => plans[c].minReplicas >= 2).map((component) => ({
    ...KINDS.PodDisruptionBudget,
    metadata: childMeta(bench, benchChild(bench, component), benchLabels(bench, component)),
    spec: {
      maxUnavailable: config?.maxUnavailable ?? 1,
      selector: { matchLabels: selectorLabels(benchName(bench), component) },
    },
  }));
}
