// The FrappeBench reconcile (design §2, API.md §3.1–3.2): read the bench and its children from
// the informer caches, compute the desired children with the pure builders, and walk the named
// steps storage → redis → init → components → autoscaling, applying every child with
// server-side apply and pruning the ones no longer wanted; then write the status, only when it
// changed, and record events for its transitions. A step that throws stops the walk, names itself
// in Ready and Degraded, and is retried with backoff.
//
// Deletion (finalizer `vyogo.tech/bench-finalizer`) waits while any FrappeSite in any namespace
// references the bench; then the children go by garbage collection and the sites PVC follows
// `storageRetentionPolicy`. In a terminating namespace the finalizer is released at once.
import { randomBytes } from 'node:crypto';
import type { FrappeBench, FrappeSite } from '../../api/v1alpha1/index.ts';
import {
  isAlreadyExists,
  KubeApiError,
  type KubeClient,
  type KubeObject,
} from '../../kube/client.ts';
import type { Informer } from '../../kube/informer.ts';
import type { Logger } from '../../kube/logger.ts';
import { applyObject, FIELD_MANAGER } from '../../runtime/apply.ts';
import type { ReconcileContext, Request, Result } from '../../runtime/controller.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import { ensureFinalizer, hasFinalizer, removeFinalizer } from '../../runtime/finalizers.ts';
import { updateStatus } from '../../runtime/status.ts';
import { jsonEqual } from '../../kube/json.ts';
import { isControlledBy } from '../shared/meta.ts';
import {
  KINDS,
  type Deployment,
  type HorizontalPodAutoscaler,
  type Job,
  type PersistentVolumeClaim,
  type Pod,
  type PodDisruptionBudget,
  type Secret,
  type Service,
  type StatefulSet,
} from '../shared/objects.ts';
import { sitesClaimName } from '../shared/pod.ts';
import {
  autoscalingSettings,
  KEDA_API_VERSION,
  type KedaObject,
  type ScalingPlan,
} from './autoscaling.ts';
import { benchChildren, type BenchChildren } from './children.ts';
import {
  benchChild,
  benchId,
  benchImage,
  benchName,
  DEPLOYMENT_COMPONENTS,
  type BenchContext,
  type DeploymentComponent,
  type DeploymentState,
  type OperatorDefaults,
} from './context.ts';
import {
  IMAGE_ANNOTATION,
  INPUTS_HASH_ANNOTATION,
  initInputsHash,
  initJobName,
  parseInitReport,
  requiredApps,
  type InitReport,
} from './init.ts';
import {
  generatesRedisSecret,
  redisAuthSecret,
  redisAuthSecretName,
  redisName,
  REDIS_ROLES,
} from './redis.ts';
import {
  benchStatus,
  STEPS,
  terminatingStatus,
  transitions,
  type InitState,
  type Observed,
  type Step,
} from './status.ts';
import { initRecord } from './storage.ts';

export const BENCH_FINALIZER = 'vyogo.tech/bench-finalizer';

/** Index of FrappeSites by the bench they reference: `<namespace>/<bench>`. */
export const SITES_BY_BENCH = 'bench';
/** The bench a site references (`benchRef.namespace` defaults to the site's namespace). */
export const benchOfSite = (site: FrappeSite): Request => ({
  namespace: site.spec.benchRef.namespace ?? site.metadata.namespace ?? '',
  name: site.spec.benchRef.name,
});
export const siteBenchKey = (site: FrappeSite): string[] => {
  const bench = benchOfSite(site);
  return [`${bench.namespace}/${bench.name}`];
};

/** KEDA's kinds, watched only once discovery lists them. */
export interface KedaInformers {
  scaledObjects: Informer<KedaObject>;
  triggerAuthentications: Informer<KedaObject>;
}

export interface BenchInformers {
  benches: Informer<FrappeBench>;
  /** All namespaces, indexed with SITES_BY_BENCH. */
  sites: Informer<FrappeSite>;
  claims: Informer<PersistentVolumeClaim>;
  statefulSets: Informer<StatefulSet>;
  services: Informer<Service>;
  jobs: Informer<Job>;
  deployments: Informer<Deployment>;
  pdbs: Informer<PodDisruptionBudget>;
  hpas: Informer<HorizontalPodAutoscaler>;
  /** Secrets the operator created (the generated Redis password). */
  secrets: Informer<Secret>;
}

export interface BenchReconcilerDeps {
  client: KubeClient;
  informers: BenchInformers;
  events: EventRecorder;
  /** The operator defaults in force (OpenShift detection included). */
  defaults: () => Promise<OperatorDefaults>;
  /** KEDA's informers, created (and watched) on first call. */
  keda: () => KedaInformers;
}

/** How long to wait before looking again for something outside our watches. */
const PROVIDER_RECHECK_MS = 60_000;
const SYNC_RECHECK_MS = 2_000;

interface ManagedFieldsEntry {
  manager?: string;
  fieldsV1?: { 'f:spec'?: { 'f:replicas'?: unknown } };
}

/** The part of an informer the steps read. */
interface ObjectCache {
  get(namespace: string, name: string): KubeObject | undefined;
  list(namespace: string): KubeObject[];
}

/** A create refused because the namespace is being deleted (cause NamespaceTerminating). */
function isNamespaceTerminating(err: unknown): boolean {
  const details = (err instanceof KubeApiError ? err.details : undefined) as
    { causes?: { reason?: string }[] } | undefined;
  // metav1.StatusCause's type is serialised as `reason`.
  return (details?.causes ?? []).some((c) => c.reason === 'NamespaceTerminating');
}

const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class BenchReconciler {
  readonly #deps: BenchReconcilerDeps;
  /** Deployment uid → another manager owns spec.replicas (sticky while autoscaled). */
  readonly #handedOver = new Map<string, { resourceVersion: string; owned: boolean }>();
  /** bench-init Job uid → what it reported (its outcome never changes). */
  readonly #reports = new Map<string, InitReport>();

  constructor(deps: BenchReconcilerDeps) {
    this.#deps = deps;
  }

  async reconcile(req: Request, rc: ReconcileContext): Promise<Result> {
    const cached = this.#deps.informers.benches.get(req.namespace, req.name);
    if (cached === undefined) return undefined;
    if (cached.metadata.deletionTimestamp !== undefined) return this.#delete(cached, rc.logger);
    const bench = await ensureFinalizer(this.#deps.client, cached, BENCH_FINALIZER);
    return new BenchReconcile(this.#deps, bench, rc.logger, this).run();
  }

  /** Whether an autoscaler has written `spec.replicas` of `d` (read from its managedFields). */
  async replicasHandedOver(d: Deployment, autoscaled: boolean): Promise<boolean> {
    const uid = d.metadata.uid ?? '';
    if (!autoscaled) {
      this.#handedOver.delete(uid);
      return false;
    }
    const known = this.#handedOver.get(uid);
    if (
      known !== undefined &&
      (known.owned || known.resourceVersion === d.metadata.resourceVersion)
    ) {
      return known.owned;
    }
    // The cache strips managedFields; this read happens only while a switch is pending.
    const live = await this.#deps.client.get<Deployment>(
      KINDS.Deployment.apiVersion,
      KINDS.Deployment.kind,
      d.metadata.namespace,
      d.metadata.name ?? '',
    );
    const owned = ((live?.metadata.managedFields ?? []) as ManagedFieldsEntry[]).some(
      (e) => e.manager !== FIELD_MANAGER && e.fieldsV1?.['f:spec']?.['f:replicas'] !== undefined,
    );
    this.#handedOver.set(uid, { resourceVersion: live?.metadata.resourceVersion ?? '', owned });
    return owned;
  }

  /** What a finished bench-init Job reported in its termination message (read once per Job). */
  async initReport(job: Job): Promise<InitReport> {
    const uid = job.metadata.uid ?? '';
    const known = this.#reports.get(uid);
    if (known !== undefined) return known;
    const pods = await this.#deps.client.list<Pod>(KINDS.Pod.apiVersion, KINDS.Pod.kind, {
      namespace: job.metadata.namespace,
      labelSelector: `batch.kubernetes.io/job-name=${job.metadata.name ?? ''}`,
    });
    const terminated = pods.items
      .flatMap((p) => p.status?.containerStatuses ?? [])
      .filter((s) => s.name === 'bench-init')
      .map((s) => s.state?.terminated)
      .filter((t) => t !== undefined)
      .sort((a, b) => (a.finishedAt ?? '').localeCompare(b.finishedAt ?? ''));
    const report = parseInitReport(terminated.at(-1)?.message);
    this.#reports.set(uid, report);
    return report;
  }

  async #delete(cached: FrappeBench, log: Logger): Promise<Result> {
    const { client, informers, events } = this.#deps;
    if (!hasFinalizer(cached, BENCH_FINALIZER)) return undefined;
    let bench = cached;
    const namespace = bench.metadata.namespace ?? '';
    const ns = await client.get<KubeObject>('v1', 'Namespace', undefined, namespace);
    if (ns !== undefined && ns.metadata.deletionTimestamp === undefined) {
      const sites = informers.sites
        .byIndex(SITES_BY_BENCH, `${namespace}/${benchName(bench)}`)
        .map((s) => `${s.metadata.namespace ?? ''}/${s.metadata.name ?? ''}`)
        .sort();
      const status = terminatingStatus(bench, sites);
      if (!jsonEqual(bench.status, status)) {
        for (const e of transitions(bench.status, status)) await events.record(bench, e);
        // The finalizer patch below must carry the resourceVersion this write produced.
        bench = await updateStatus(client, bench, status);
      }
      if (sites.length > 0) {
        log.info({ sites: sites.length }, 'deletion waits for the sites on this bench');
        return undefined;
      }
      if (bench.spec.storageRetentionPolicy === 'Delete') {
        await client.delete(
          KINDS.PersistentVolumeClaim.apiVersion,
          KINDS.PersistentVolumeClaim.kind,
          namespace,
          sitesClaimName(benchName(bench)),
        );
        log.info({}, 'deleted the sites PVC (storageRetentionPolicy Delete)');
      }
    }
    await removeFinalizer(client, bench, BENCH_FINALIZER);
    return undefined;
  }
}

/** One reconcile of one bench: its context, the steps, and what they observed. */
class BenchReconcile {
  readonly #deps: BenchReconcilerDeps;
  readonly #bench: FrappeBench;
  readonly #log: Logger;
  readonly #parent: BenchReconciler;
  readonly #ns: string;
  #requeueAfter: number | undefined;
  /** Deployments as this reconcile's apply left them (newer than the cache right after a patch). */
  readonly #applied = new Map<string, Deployment>();

  constructor(deps: BenchReconcilerDeps, bench: FrappeBench, log: Logger, parent: BenchReconciler) {
    this.#deps = deps;
    this.#bench = bench;
    this.#log = log;
    this.#parent = parent;
    this.#ns = bench.metadata.namespace ?? '';
  }

  async run(): Promise<Result> {
    const bench = this.#bench;
    const { ctx, init, job, apps } = await this.#context();
    const want = benchChildren(bench, ctx);
    const stepFns: Record<Step, () => Promise<void>> = {
      storage: () => this.#storage(want),
      redis: () => this.#redis(want),
      init: () => this.#init(want, init, job),
      components: () => this.#components(want),
      autoscaling: () => this.#autoscaling(want, ctx),
    };
    let failed: { step: Step; error: unknown } | undefined;
    for (const step of STEPS) {
      try {
        await stepFns[step]();
      } catch (error) {
        if (isNamespaceTerminating(error)) {
          // The namespace controller deletes the bench next; nothing here can be created now.
          this.#log.info({ step }, 'namespace is terminating: not re-creating children');
          return undefined;
        }
        failed = { step, error };
        this.#log.warn({ err: error, step }, 'reconcile step failed');
        break;
      }
    }
    const observed = await this.#observe(want, ctx, init, apps, failed);
    const status = benchStatus(bench, observed);
    if (!jsonEqual(bench.status, status)) {
      await updateStatus(this.#deps.client, bench, status);
      for (const e of transitions(bench.status, status)) {
        this.#log.info({ reason: e.reason }, e.note);
        await this.#deps.events.record(bench, e);
      }
    }
    if (failed !== undefined) throw failed.error;
    return this.#requeueAfter === undefined ? undefined : { requeueAfter: this.#requeueAfter };
  }

  #requeue(ms: number): void {
    this.#requeueAfter = Math.min(this.#requeueAfter ?? ms, ms);
  }

  // ---- context ------------------------------------------------------------------------------

  async #context(): Promise<{
    ctx: BenchContext;
    init: InitState;
    job: Job | undefined;
    apps: { name: string; version?: string }[] | undefined;
  }> {
    const bench = this.#bench;
    const { client, informers } = this.#deps;
    const [defaults, kedaAvailable] = await Promise.all([
      this.#deps.defaults(),
      client.hasResource(KEDA_API_VERSION, 'ScaledObject'),
    ]);
    const deployments: Partial<Record<DeploymentComponent, DeploymentState>> = {};
    for (const c of DEPLOYMENT_COMPONENTS) {
      const d = informers.deployments.get(this.#ns, benchChild(bench, c));
      if (d === undefined) continue;
      const s = c === 'scheduler' ? undefined : autoscalingSettings(bench, c);
      const autoscaled = s !== undefined && s.enabled && (s.provider === 'hpa' || kedaAvailable);
      deployments[c] = {
        replicas: d.spec.replicas,
        autoscalerOwnsReplicas: await this.#parent.replicasHandedOver(d, autoscaled),
        versionLabel: d.spec.template.metadata?.labels?.['app.kubernetes.io/version'],
      };
    }
    const base: BenchContext = { defaults, kedaAvailable, deployments, initialized: undefined };
    const image = benchImage(bench, base);
    const hash = initInputsHash(bench, base);
    const record = initRecord(informers.claims.get(this.#ns, sitesClaimName(benchName(bench))));
    const job = informers.jobs.get(this.#ns, initJobName(bench));
    const current = job?.metadata.annotations?.[INPUTS_HASH_ANNOTATION] === hash ? job : undefined;
    const jobImage = current?.metadata.annotations?.[IMAGE_ANNOTATION] ?? image;
    const finished = (type: string) =>
      current?.status?.conditions?.some((c) => c.type === type && c.status === 'True') === true;

    let init: InitState;
    let initialized = record;
    let apps = bench.status?.apps;
    if (current !== undefined && finished('Complete')) {
      init = { phase: 'Succeeded', image: jobImage };
      initialized = { image: jobImage, inputsHash: hash };
      if (record?.inputsHash !== hash || apps === undefined) {
        const report = await this.#parent.initReport(current);
        // Unknown rather than the previous image's apps when the report is unreadable.
        apps = report.ok ? report.apps : undefined;
      }
    } else if (current !== undefined && finished('Failed')) {
      const report = await this.#parent.initReport(current);
      init = report.ok
        ? { phase: 'Failed', image: jobImage, reason: 'JobFailed', message: 'the Job failed' }
        : { phase: 'Failed', image: jobImage, reason: report.reason, message: report.message };
    } else if (current === undefined && record?.inputsHash === hash) {
      init = { phase: 'Succeeded', image: record.image };
    } else {
      init = { phase: 'Running', image };
    }
    return { ctx: { ...base, initialized }, init, job, apps };
  }

  // ---- steps --------------------------------------------------------------------------------

  /** Apply `obj` unless `cache` already has it; the object as the API server now has it. */
  async #apply(obj: KubeObject, cache: ObjectCache): Promise<KubeObject> {
    const live = cache.get(this.#ns, obj.metadata.name ?? '');
    return applyObject(this.#deps.client, obj, live);
  }

  /** Delete the bench's children of `informer` that `keep` does not name (and `filter` selects). */
  async #prune(
    informer: ObjectCache,
    keep: KubeObject[],
    filter: (obj: KubeObject) => boolean = () => true,
  ): Promise<void> {
    const names = new Set(keep.map((o) => o.metadata.name));
    for (const obj of informer.list(this.#ns)) {
      if (!isControlledBy(obj, this.#bench.metadata.uid) || names.has(obj.metadata.name)) continue;
      if (!filter(obj)) continue;
      this.#log.info(
        { kind: obj.kind, child: obj.metadata.name },
        'deleting a child no longer wanted',
      );
      await this.#deps.client.delete(obj.apiVersion, obj.kind, this.#ns, obj.metadata.name ?? '', {
        propagationPolicy: 'Background',
      });
    }
  }

  async #storage(want: BenchChildren): Promise<void> {
    await this.#apply(want.storage, this.#deps.informers.claims);
  }

  async #redis(want: BenchChildren): Promise<void> {
    const { client, informers } = this.#deps;
    const bench = this.#bench;
    if (
      generatesRedisSecret(bench) &&
      informers.secrets.get(this.#ns, redisAuthSecretName(bench)) === undefined
    ) {
      try {
        await client.create(redisAuthSecret(bench, randomBytes(24).toString('hex')));
        this.#log.info(
          { secret: redisAuthSecretName(bench) },
          'generated the Redis password Secret',
        );
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
    }
    for (const obj of want.redis) {
      if (obj.kind === 'StatefulSet') {
        const live = informers.statefulSets.get(this.#ns, obj.metadata.name ?? '');
        if (live !== undefined && immutablePartsDiffer(live, obj as StatefulSet)) {
          this.#log.info(
            { child: obj.metadata.name },
            're-creating a StatefulSet whose immutable parts changed',
          );
          await client.delete(obj.apiVersion, obj.kind, this.#ns, obj.metadata.name ?? '', {
            propagationPolicy: 'Background',
          });
          this.#requeue(SYNC_RECHECK_MS);
          continue;
        }
        await this.#apply(obj, informers.statefulSets);
      } else {
        await this.#apply(obj, informers.services);
      }
    }
    await this.#prune(informers.statefulSets, want.redis);
    const redisServices = redisServiceNames(bench);
    await this.#prune(informers.services, want.redis, (s) =>
      redisServices.has(s.metadata.name ?? ''),
    );
  }

  async #init(want: BenchChildren, init: InitState, job: Job | undefined): Promise<void> {
    const hash = want.init.metadata.annotations?.[INPUTS_HASH_ANNOTATION];
    if (init.phase !== 'Running') return;
    if (job !== undefined && job.metadata.annotations?.[INPUTS_HASH_ANNOTATION] !== hash) {
      if (job.metadata.deletionTimestamp === undefined) {
        this.#log.info({ job: job.metadata.name }, 'bench-init inputs changed: replacing the Job');
        await this.#deps.client.delete(
          job.apiVersion,
          job.kind,
          this.#ns,
          job.metadata.name ?? '',
          {
            propagationPolicy: 'Background',
          },
        );
      }
      // The Job's deletion event brings the bench back here to create the new one.
      return;
    }
    if (job === undefined) {
      await applyObject(this.#deps.client, want.init);
      this.#log.info({ image: init.image }, 'started bench-init');
    }
  }

  async #components(want: BenchChildren): Promise<void> {
    if (want.components.length === 0) return;
    const { informers } = this.#deps;
    for (const obj of want.components) {
      if (obj.kind === 'Deployment') {
        this.#applied.set(
          obj.metadata.name ?? '',
          (await this.#apply(obj, informers.deployments)) as Deployment,
        );
      } else {
        await this.#apply(obj, informers.services);
      }
    }
    for (const pdb of want.disruptionBudgets) {
      await this.#apply(pdb, informers.pdbs);
    }
    await this.#prune(informers.pdbs, want.disruptionBudgets);
    const redisServices = redisServiceNames(this.#bench);
    await this.#prune(
      informers.services,
      want.components,
      (s) => !redisServices.has(s.metadata.name ?? ''),
    );
  }

  async #autoscaling(want: BenchChildren, ctx: BenchContext): Promise<void> {
    if (want.components.length === 0) return;
    const { informers } = this.#deps;
    const hpas = want.autoscaling.filter((o) => o.kind === 'HorizontalPodAutoscaler');
    for (const hpa of hpas) await this.#apply(hpa, informers.hpas);
    await this.#prune(informers.hpas, hpas);
    if (
      Object.values(want.plans).some(
        (p: ScalingPlan) => p.provider === 'keda' && !p.providerManaged,
      )
    ) {
      this.#requeue(PROVIDER_RECHECK_MS);
    }
    if (!ctx.kedaAvailable) return;
    const keda = this.#deps.keda();
    if (!keda.scaledObjects.hasSynced() || !keda.triggerAuthentications.hasSynced()) {
      this.#requeue(SYNC_RECHECK_MS);
      return;
    }
    for (const obj of want.autoscaling) {
      if (obj.kind === 'ScaledObject') await this.#apply(obj, keda.scaledObjects);
      if (obj.kind === 'TriggerAuthentication') {
        await this.#apply(obj, keda.triggerAuthentications);
      }
    }
    await this.#prune(keda.scaledObjects, want.autoscaling);
    await this.#prune(keda.triggerAuthentications, want.autoscaling);
  }

  // ---- observation --------------------------------------------------------------------------

  async #observe(
    want: BenchChildren,
    ctx: BenchContext,
    init: InitState,
    apps: { name: string; version?: string }[] | undefined,
    failed: { step: Step; error: unknown } | undefined,
  ): Promise<Observed> {
    const bench = this.#bench;
    const { client, informers } = this.#deps;
    const deployments: Partial<Record<DeploymentComponent, Deployment>> = {};
    for (const c of DEPLOYMENT_COMPONENTS) {
      const name = benchChild(bench, c);
      const d = newerDeployment(informers.deployments.get(this.#ns, name), this.#applied.get(name));
      if (d !== undefined) deployments[c] = d;
    }
    const plans = want.plans;
    const providerMissing = DEPLOYMENT_COMPONENTS.filter(
      (c) => plans[c].mode === 'autoscaled' && !plans[c].providerManaged,
    );
    const withHpa = DEPLOYMENT_COMPONENTS.filter(
      (c) => plans[c].providerManaged && plans[c].provider === 'hpa',
    );
    const metricsApi =
      withHpa.length === 0 || (await client.hasResource('metrics.k8s.io/v1beta1', 'PodMetrics'));
    const claimName = sitesClaimName(benchName(bench));
    return {
      claim: informers.claims.get(this.#ns, claimName),
      claimName,
      redis:
        want.redis.length === 0
          ? undefined
          : REDIS_ROLES.map((r) => informers.statefulSets.get(this.#ns, redisName(bench, r))),
      init,
      image: benchImage(bench, ctx),
      initializedImage: ctx.initialized?.image,
      deployments,
      plans,
      providerMissing,
      metricsMissing: metricsApi ? [] : withHpa,
      requiredApps: requiredApps(bench),
      apps,
      siteCount: informers.sites.byIndex(SITES_BY_BENCH, `${this.#ns}/${benchName(bench)}`).length,
      benchId: benchId(bench),
      failedStep:
        failed === undefined
          ? undefined
          : { step: failed.step, message: errorMessage(failed.error) },
    };
  }
}

/** Names of the bench's Redis Services: the redis step prunes them, the components step not. */
const redisServiceNames = (bench: FrappeBench): Set<string> =>
  new Set(REDIS_ROLES.map((r) => redisName(bench, r)));

/** Selector or volumeClaimTemplates differ: the StatefulSet must be re-created (API.md §3.1). */
function immutablePartsDiffer(live: StatefulSet, desired: StatefulSet): boolean {
  const have = live.spec.volumeClaimTemplates ?? [];
  const want = desired.spec.volumeClaimTemplates ?? [];
  return (
    !jsonEqual(live.spec.selector.matchLabels, desired.spec.selector.matchLabels) ||
    have.length !== want.length ||
    want.some((t, i) => {
      const h = have[i];
      return (
        h === undefined ||
        h.metadata?.name !== t.metadata?.name ||
        h.spec?.resources?.requests?.storage !== t.spec?.resources?.requests?.storage ||
        (t.spec?.storageClassName !== undefined &&
          h.spec?.storageClassName !== t.spec.storageClassName)
      );
    })
  );
}

/**
 * The Deployment status should judge: the one this reconcile's apply returned when it is of a
 * later generation than the cache's (the cache has not seen the patch yet). Judging the cached,
 * pre-patch object would report the old generation rolled out before the new rollout started;
 * the applied one has observedGeneration < generation, so status says Progressing.
 */
export function newerDeployment(
  cached: Deployment | undefined,
  applied: Deployment | undefined,
): Deployment | undefined {
  if (applied === undefined) return cached;
  if (cached === undefined) return applied;
  return (applied.metadata.generation ?? 0) > (cached.metadata.generation ?? 0) ? applied : cached;
}
