// PodDisruptionBudgets `<bench>-gunicorn`, `-nginx`, `-socketio` (API.md §3.2, §1.4): only while
// `podDisruptionBudget.enabled` (default true) and the component runs at least 2 replicas by
// design — a PDB over a single replica would block every drain.
import { selectorLabels } from '../shared/labels.ts';
import { childMeta } from '../shared/meta.ts';
import { KINDS, type PodDisruptionBudget } from '../shared/objects.ts';
import { benchChild, benchLabels, type BenchPlan } from './plan.ts';

export const PDB_COMPONENTS = ['gunicorn', 'nginx', 'socketio'] as const;

export function disruptionBudgets(plan: BenchPlan): PodDisruptionBudget[] {
  // Defaulted by the schema (`{}` → enabled, maxUnavailable 1).
  const config = plan.spec.podDisruptionBudget;
  if (config?.enabled === false) return [];
  return PDB_COMPONENTS.filter((c) => plan.scaling[c].minReplicas >= 2).map((component) => ({
    ...KINDS.PodDisruptionBudget,
    metadata: childMeta(plan.bench, benchChild(plan, component), benchLabels(plan, component)),
    spec: {
      ...(config?.maxUnavailable === undefined ? {} : { maxUnavailable: config.maxUnavailable }),
      selector: { matchLabels: selectorLabels(plan.name, component) },
    },
  }));
}
