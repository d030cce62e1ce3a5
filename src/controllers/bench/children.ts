// Every child a bench should have, per reconcile step, from the pure builders — what the
// reconciler applies and what the snapshot tests render.
import type { FrappeBench } from '../../api/v1alpha1/index.ts';
import type {
  Deployment,
  HorizontalPodAutoscaler,
  Job,
  PersistentVolumeClaim,
  PodDisruptionBudget,
  Service,
  StatefulSet,
} from '../shared/objects.ts';
import {
  autoscalingObjects,
  scalingPlans,
  type KedaObject,
  type ScalingPlan,
} from './autoscaling.ts';
import { componentObjects } from './components.ts';
import type { BenchContext, DeploymentComponent } from './context.ts';
import { benchInitJob } from './init.ts';
import { disruptionBudgets } from './pdb.ts';
import { redisObjects } from './redis.ts';
import { sitesClaim } from './storage.ts';

export interface BenchChildren {
  storage: PersistentVolumeClaim;
  redis: (StatefulSet | Service)[];
  init: Job;
  /** Deployments and Services; empty until a bench-init has succeeded. */
  components: (Deployment | Service)[];
  disruptionBudgets: PodDisruptionBudget[];
  autoscaling: (HorizontalPodAutoscaler | KedaObject)[];
  plans: Record<DeploymentComponent, ScalingPlan>;
}

export function benchChildren(bench: FrappeBench, ctx: BenchContext): BenchChildren {
  const plans = scalingPlans(bench, ctx);
  const running = ctx.initialized !== undefined;
  return {
    storage: sitesClaim(bench, ctx),
    redis: redisObjects(bench, ctx),
    init: benchInitJob(bench, ctx),
    components: running ? componentObjects(bench, ctx, plans) : [],
    disruptionBudgets: running ? disruptionBudgets(bench, plans) : [],
    autoscaling: running ? autoscalingObjects(bench, plans) : [],
    plans,
  };
}
