// Every child a bench should have, per reconcile step, from the pure builders on the resolved
// plan — what the reconciler applies and what the snapshot tests render.
import type { KubeObject } from '../../kube/client.ts';
import { desiredJob, type JobRequest } from '../../runtime/jobs.ts';
import type {
  ConfigMap,
  Deployment,
  HorizontalPodAutoscaler,
  Job,
  PersistentVolumeClaim,
  PodDisruptionBudget,
  Service,
  StatefulSet,
} from '../shared/objects.ts';
import { autoscalingObjects, type KedaObject } from './autoscaling.ts';
import { componentObjects } from './components.ts';
import { benchInitRequest, initConfigMap, type InitApps } from './init.ts';
import { disruptionBudgets } from './pdb.ts';
import type { BenchPlan } from './plan.ts';
import { redisObjects } from './redis.ts';
import { statsdMappingConfigMap } from './statsd.ts';
import { sitesClaim } from './storage.ts';

export interface BenchChildren {
  storage: PersistentVolumeClaim;
  redis: (StatefulSet | Service)[];
  /** The bench-init Job, for the Job runner, and the ConfigMap it reads. */
  init: JobRequest<InitApps, Job>;
  initConfig: ConfigMap;
  /** Deployments and Services; empty until a bench-init has succeeded. */
  components: (Deployment | Service)[];
  /** The statsd-exporter mapping of gunicorn's metrics (./statsd.ts); none when disabled. */
  statsdMapping: ConfigMap[];
  disruptionBudgets: PodDisruptionBudget[];
  autoscaling: (HorizontalPodAutoscaler | KedaObject)[];
}

export function benchChildren(plan: BenchPlan): BenchChildren {
  const running = plan.initialized !== undefined;
  return {
    storage: sitesClaim(plan),
    redis: redisObjects(plan),
    init: benchInitRequest(plan),
    initConfig: initConfigMap(plan),
    components: running ? componentObjects(plan) : [],
    statsdMapping:
      running && plan.statsdExporterImage !== undefined ? [statsdMappingConfigMap(plan)] : [],
    disruptionBudgets: running ? disruptionBudgets(plan) : [],
    autoscaling: running ? autoscalingObjects(plan) : [],
  };
}

/** Every child of `c`, in apply order, the bench-init Job as the Job runner creates it. */
export function childObjects(c: BenchChildren): KubeObject[] {
  return [
    c.storage,
    ...c.redis,
    c.initConfig,
    desiredJob(c.init),
    ...c.statsdMapping,
    ...c.components,
    ...c.disruptionBudgets,
    ...c.autoscaling,
  ];
}
