// The FrappeBench controller on a manager: the benches, the kinds of child it writes (selected
// by the operator's managed-by label; a child edited or deleted by hand brings its bench back,
// so it is repaired), the FrappeSites for the dependents check, and the operator defaults it
// reads; and the bench gauges of ./metrics.ts. Register `setupBenchController` with the manager
// (src/cli.ts CONTROLLERS).
import type { FrappeBench, FrappeSite } from '../../api/v1alpha1/index.ts';
import { API_VERSION, KIND } from '../../api/v1alpha1/names.ts';
import type { OperatorConfigHolder } from '../../config/holder.ts';
import type { ConfigKey } from '../../config/operator-config.ts';
import type { KubeObject } from '../../kube/client.ts';
import { ControllerBuilder } from '../../runtime/builder.ts';
import type { Controller, Request } from '../../runtime/controller.ts';
import { JobRunner } from '../../runtime/jobs.ts';
import type { Manager } from '../../runtime/manager.ts';
import { operatorDefaults } from '../shared/defaults.ts';
import { MANAGED_SELECTOR } from '../shared/labels.ts';
import { childName } from '../shared/naming.ts';
import { KINDS, type PersistentVolumeClaim, type Secret } from '../shared/objects.ts';
import { benchOfSite, indexSitesByBench } from '../shared/site-index.ts';
import { KEDA_API_VERSION, type KedaObject } from './autoscaling.ts';
import { exportBenchMetrics } from './metrics.ts';
import { BenchReconciler, type BenchInformers, type KedaInformers } from './reconcile.ts';

export { BENCH_FINALIZER, BenchReconciler } from './reconcile.ts';

export const CONTROLLER_NAME = 'frappebench';
/** Settings whose change moves what children look like: every bench is reconciled again. */
const DEFAULT_KEYS: readonly ConfigKey[] = [
  'defaultFrappeImage',
  'defaultRedisImage',
  'defaultRedisExporterImage',
  'defaultStatsdExporterImage',
];

/** The sites PVC has no ownerReference; its `bench` label names the bench. */
const benchOfLabel = (obj: KubeObject): Request[] => {
  const bench = obj.metadata.labels?.bench;
  return bench === undefined ? [] : [{ namespace: obj.metadata.namespace ?? '', name: bench }];
};

const REDIS_SECRET_INDEX = 'redis-password-secret';

/** The Secret holding a bench's Redis password, as `namespace/name` (none without a password). */
function redisSecretOfBench(bench: FrappeBench): string[] {
  const ns = bench.metadata.namespace ?? '';
  const redis = bench.spec.redisConfig;
  const name =
    redis?.external === true
      ? redis.connectionSecretRef?.name
      : redis?.auth?.enabled === true
        ? (redis.auth.secretName ?? childName(bench.metadata.name ?? '', 'redis-auth'))
        : undefined;
  return name === undefined ? [] : [`${ns}/${name}`];
}

export function setupBenchController(manager: Manager, config: OperatorConfigHolder): Controller {
  const { client, cache, events, logger } = manager;
  const b = new ControllerBuilder<FrappeBench>(cache, {
    name: CONTROLLER_NAME,
    apiVersion: API_VERSION,
    kind: KIND.FrappeBench,
    ownedSelector: MANAGED_SELECTOR,
    logger,
  });
  b.primary.addIndexer(REDIS_SECRET_INDEX, redisSecretOfBench);
  const benchesOfSecret = (secret: Secret): Request[] =>
    b.primary
      .byIndex(
        REDIS_SECRET_INDEX,
        `${secret.metadata.namespace ?? ''}/${secret.metadata.name ?? ''}`,
      )
      .map((bench) => ({ namespace: bench.metadata.namespace, name: bench.metadata.name }));
  const informers: BenchInformers = {
    benches: b.primary,
    // The sites of the bench's namespace count towards status.siteCount and hold up deletion:
    // only a site's arrival and departure matter (its benchRef is immutable), not its updates.
    sites: b.watches<FrappeSite>({ apiVersion: API_VERSION, kind: KIND.FrappeSite }, () => []),
    claims: b.watches<PersistentVolumeClaim>(KINDS.PersistentVolumeClaim, benchOfLabel, {
      labelSelector: MANAGED_SELECTOR,
    }),
    statefulSets: b.owns(KINDS.StatefulSet),
    services: b.owns(KINDS.Service),
    jobs: b.owns(KINDS.Job),
    deployments: b.owns(KINDS.Deployment),
    pdbs: b.owns(KINDS.PodDisruptionBudget),
    hpas: b.owns(KINDS.HorizontalPodAutoscaler),
    // Only whether the generated Redis password Secret exists: never its value.
    secrets: b.owns(KINDS.Secret, { metadataOnly: true }),
    configMaps: b.owns(KINDS.ConfigMap),
    // Every Secret's metadata (the informer the site controller also uses): the Redis password
    // Secret a bench names may be created, rotated or refreshed by someone else.
    allSecrets: b.watches<Secret>(KINDS.Secret, benchesOfSecret, { metadataOnly: true }),
  };
  indexSitesByBench(informers.sites);

  let keda: KedaInformers | undefined;
  const jobs = new JobRunner(client, informers.jobs);
  // What is remembered per bench goes with it.
  informers.benches.addEventHandler({
    delete: (bench) => {
      jobs.forgetOwner(bench.metadata.uid);
    },
  });
  const reconciler = new BenchReconciler({
    client,
    informers,
    events,
    jobs,
    defaults: () => operatorDefaults(config, client),
    keda: () =>
      // Created only once discovery lists KEDA: an informer on a missing kind never syncs.
      (keda ??= {
        scaledObjects: b.owns<KedaObject>({ apiVersion: KEDA_API_VERSION, kind: 'ScaledObject' }),
        triggerAuthentications: b.owns<KedaObject>({
          apiVersion: KEDA_API_VERSION,
          kind: 'TriggerAuthentication',
        }),
      }),
  });
  const controller = b.complete((req, rc) => reconciler.reconcile(req, rc), {
    maxConcurrentReconciles: config.config.maxConcurrentReconciles,
  });
  // frappe_operator_bench_phase and frappe_operator_benches, read from the cache at each scrape.
  exportBenchMetrics({ list: () => informers.benches.list(), controller });
  const siteCame = (site: FrappeSite): void => {
    for (const r of benchOfSite(site)) controller.enqueue(r);
  };
  informers.sites.addEventHandler({ add: siteCame, delete: siteCame });

  config.subscribe((c, changed) => {
    if (changed.includes('maxConcurrentReconciles')) {
      controller.setMaxConcurrentReconciles(c.maxConcurrentReconciles);
    }
    if (changed.some((k) => DEFAULT_KEYS.includes(k))) {
      for (const bench of informers.benches.list()) controller.enqueue(bench.metadata);
    }
  });
  return controller;
}
