// The FrappeBench controller on a manager: its informers (the benches, every FrappeSite for the
// dependents check, and the kinds of child it writes, selected by the operator's managed-by
// label), its watches (a child edited or deleted by hand brings its bench back, so it is
// repaired), and the operator defaults it reads. Register `setupBenchController` with the
// manager (src/cli.ts CONTROLLERS).
import { API_VERSION, KIND, type FrappeBench, type FrappeSite } from '../../api/v1alpha1/index.ts';
import type { OperatorConfigHolder } from '../../config/holder.ts';
import type { ConfigKey } from '../../config/operator-config.ts';
import type { KubeClient, KubeObject } from '../../kube/client.ts';
import { Controller, type Request } from '../../runtime/controller.ts';
import type { Manager } from '../../runtime/manager.ts';
import { KINDS } from '../shared/objects.ts';
import { KEDA_API_VERSION, type KedaObject } from './autoscaling.ts';
import type { OperatorDefaults } from './context.ts';
import {
  BenchReconciler,
  benchOfSite,
  siteBenchKey,
  SITES_BY_BENCH,
  type BenchInformers,
  type KedaInformers,
} from './reconcile.ts';

export { BENCH_FINALIZER, BenchReconciler } from './reconcile.ts';

export const CONTROLLER_NAME = 'frappebench';
/** Every object the operator creates carries this label; its informers select on it. */
const MANAGED_SELECTOR = 'app.kubernetes.io/managed-by=frappe-operator';
/** Settings whose change moves what children look like: every bench is reconciled again. */
const DEFAULT_KEYS: readonly ConfigKey[] = [
  'defaultFrappeImage',
  'defaultRedisImage',
  'defaultRedisExporterImage',
];

/** The defaults in force; OpenShift is detected by discovery unless FRAPPE_IS_OPENSHIFT says. */
export async function operatorDefaults(
  holder: OperatorConfigHolder,
  client: KubeClient,
): Promise<OperatorDefaults> {
  const c = holder.config;
  return {
    frappeImage: c.defaultFrappeImage,
    redisImage: c.defaultRedisImage,
    redisExporterImage: c.defaultRedisExporterImage,
    security: {
      uid: c.defaultUID,
      gid: c.defaultGID,
      fsGroup: c.defaultFSGroup,
      uidSet: holder.sourceOf('defaultUID') === 'env',
      gidSet: holder.sourceOf('defaultGID') === 'env',
      fsGroupSet: holder.sourceOf('defaultFSGroup') === 'env',
    },
    isOpenShift:
      c.isOpenShift ??
      (await client.hasResource('security.openshift.io/v1', 'SecurityContextConstraints')),
  };
}

const benchOfLabel = (obj: KubeObject): Request[] => {
  const bench = obj.metadata.labels?.bench;
  return bench === undefined ? [] : [{ namespace: obj.metadata.namespace ?? '', name: bench }];
};

export interface BenchControllerOptions {
  /** Reconcile the benches of this namespace only (default: all namespaces). */
  namespace?: string;
}

export function setupBenchController(
  manager: Manager,
  opts: BenchControllerOptions = {},
): Controller {
  const { client, cache, config, events, logger } = manager;
  const ns = opts.namespace === undefined ? {} : { namespace: opts.namespace };
  const MANAGED = { ...ns, labelSelector: MANAGED_SELECTOR };
  const informers: BenchInformers = {
    benches: cache.informer<FrappeBench>(API_VERSION, KIND.FrappeBench, ns),
    // Sites of every namespace may reference the bench (deletion waits for them all).
    sites: cache.informer<FrappeSite>(API_VERSION, KIND.FrappeSite),
    claims: cache.informer(
      KINDS.PersistentVolumeClaim.apiVersion,
      KINDS.PersistentVolumeClaim.kind,
      MANAGED,
    ),
    statefulSets: cache.informer(KINDS.StatefulSet.apiVersion, KINDS.StatefulSet.kind, MANAGED),
    services: cache.informer(KINDS.Service.apiVersion, KINDS.Service.kind, MANAGED),
    jobs: cache.informer(KINDS.Job.apiVersion, KINDS.Job.kind, MANAGED),
    deployments: cache.informer(KINDS.Deployment.apiVersion, KINDS.Deployment.kind, MANAGED),
    pdbs: cache.informer(
      KINDS.PodDisruptionBudget.apiVersion,
      KINDS.PodDisruptionBudget.kind,
      MANAGED,
    ),
    hpas: cache.informer(
      KINDS.HorizontalPodAutoscaler.apiVersion,
      KINDS.HorizontalPodAutoscaler.kind,
      MANAGED,
    ),
    secrets: cache.informer(KINDS.Secret.apiVersion, KINDS.Secret.kind, MANAGED),
  };
  informers.sites.addIndexer(SITES_BY_BENCH, siteBenchKey);

  let keda: KedaInformers | undefined;
  const reconciler: BenchReconciler = new BenchReconciler({
    client,
    informers,
    events,
    defaults: () => operatorDefaults(config, client),
    keda: () => {
      if (keda === undefined) {
        // Created only once discovery lists KEDA: an informer on a missing kind never syncs.
        keda = {
          scaledObjects: cache.informer<KedaObject>(KEDA_API_VERSION, 'ScaledObject', MANAGED),
          triggerAuthentications: cache.informer<KedaObject>(
            KEDA_API_VERSION,
            'TriggerAuthentication',
            MANAGED,
          ),
        };
        controller.watchOwned(keda.scaledObjects, KIND.FrappeBench);
        controller.watchOwned(keda.triggerAuthentications, KIND.FrappeBench);
      }
      return keda;
    },
  });
  const controller = new Controller({
    name: CONTROLLER_NAME,
    reconcile: (req, rc) => reconciler.reconcile(req, rc),
    maxConcurrentReconciles: config.config.maxConcurrentReconciles,
    logger,
  });

  controller.watchPrimary(informers.benches);
  controller.watchOwned(informers.statefulSets, KIND.FrappeBench);
  controller.watchOwned(informers.services, KIND.FrappeBench);
  controller.watchOwned(informers.jobs, KIND.FrappeBench);
  controller.watchOwned(informers.deployments, KIND.FrappeBench);
  controller.watchOwned(informers.pdbs, KIND.FrappeBench);
  controller.watchOwned(informers.hpas, KIND.FrappeBench);
  controller.watchOwned(informers.secrets, KIND.FrappeBench);
  // The sites PVC has no ownerReference; its `bench` label names the bench.
  controller.watchMapped(informers.claims, benchOfLabel);
  // Sites count towards status.siteCount and hold up deletion.
  controller.watchMapped(informers.sites, (site) => [benchOfSite(site)]);

  config.subscribe((c, changed) => {
    if (changed.includes('maxConcurrentReconciles')) {
      controller.setMaxConcurrentReconciles(c.maxConcurrentReconciles);
    }
    if (changed.some((k) => DEFAULT_KEYS.includes(k))) {
      for (const b of informers.benches.list()) {
        controller.enqueue({ namespace: b.metadata.namespace ?? '', name: b.metadata.name ?? '' });
      }
    }
  });
  return controller;
}
