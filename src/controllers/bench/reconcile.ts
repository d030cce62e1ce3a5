// The FrappeBench reconcile (API.md §3.1–3.2): the bench from the cache, defaulted and resolved
// once into a plan (plan.ts); the desired children from the pure builders (children.ts); then
// the step table below — storage → redis → init → components → autoscaling — walked by the
// runtime's step runner, each step applying its children with server-side apply, pruning the
// ones no longer wanted and judging what it made (status.ts). The status is written only when it
// changed, with events for its transitions. bench-init runs on the Job runner. A spec that cannot
// be built (shared/invalid-spec.ts) is status and a Warning event, never a retry loop.
//
// Deletion (finalizer `vyogo.tech/bench-finalizer`) waits while a FrappeSite of its namespace
// runs on the bench (a cross-namespace benchRef never counts); then the children go by garbage
// collection and the sites PVC follows `storageRetentionPolicy` (deleted only when it carries
// the operator's labels: a foreign claim of that name is never ours to delete). In a terminating namespace the finalizer is released at once.
import { createHash, randomBytes } from 'node:crypto';
import type { FrappeBench, FrappeSite } from '../../api/v1alpha1/index.ts';
import { isAlreadyExists, type KubeClient, type KubeObject } from '../../kube/client.ts';
import type { Informer, Stored } from '../../kube/informer.ts';
import { jsonEqual } from '../../kube/json.ts';
import type { Logger } from '../../kube/logger.ts';
import { applyChild, FIELD_MANAGER, pruneChildren, type ObjectCache } from '../../runtime/apply.ts';
import type { ReconcileContext, Request, Result } from '../../runtime/controller.ts';
import { isNamespaceTerminating } from '../../runtime/errors.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import { ensureFinalizer, hasFinalizer, removeFinalizer } from '../../runtime/finalizers.ts';
import type { JobObject, JobRunner } from '../../runtime/jobs.ts';
import { writeStatus } from '../../runtime/status.ts';
import {
  stop,
  walkSteps,
  wait,
  type Step,
  type StepOutcome,
  type Walk,
} from '../../runtime/steps.ts';
import {
  KINDS,
  type ConfigMap,
  type Deployment,
  type HorizontalPodAutoscaler,
  type PersistentVolumeClaim,
  type PodDisruptionBudget,
  type Secret,
  type Service,
  type StatefulSet,
} from '../shared/objects.ts';
import { sitesClaimName } from '../shared/pod.ts';
import { parseQuantity } from '../shared/quantity.ts';
import { sitesOfBench } from '../shared/site-index.ts';
import { autoscalingSettings, KEDA_API_VERSION, type KedaObject } from './autoscaling.ts';
import { benchChildren, type BenchChildren } from './children.ts';
import {
  DEPLOYMENT_COMPONENTS,
  type BenchContext,
  type DeploymentComponent,
  type DeploymentState,
  type RedisPasswordState,
} from './context.ts';
import type { OperatorDefaults } from '../shared/defaults.ts';
import { InvalidSpecError, invalidSpecOutcome } from '../shared/invalid-spec.ts';
import { initJobName, type InitApps } from './init.ts';
import { benchChild, benchLabels, resolveBench, withDefaults, type BenchPlan } from './plan.ts';
import { statsdMappingName } from './statsd.ts';
import {
  redisAuthSecret,
  redisName,
  redisPasswordProblem,
  redisPlan,
  REDIS_ROLES,
} from './redis.ts';
import {
  autoscalingOutcome,
  benchStatus,
  componentsOutcome,
  initOutcome,
  invalidSpecStatus,
  redisOutcome,
  storageOutcome,
  terminatingStatus,
  transitions,
  type InitState,
  type Observed,
} from './status.ts';

export const BENCH_FINALIZER = 'vyogo.tech/bench-finalizer';

/** KEDA's kinds, watched only once discovery lists them. */
export interface KedaInformers {
  scaledObjects: Informer<KedaObject>;
  triggerAuthentications: Informer<KedaObject>;
}

export interface BenchInformers {
  benches: Informer<FrappeBench>;
  /** Indexed by the bench they run on (shared/site-index.ts). */
  sites: Informer<FrappeSite>;
  claims: Informer<PersistentVolumeClaim>;
  statefulSets: Informer<StatefulSet>;
  services: Informer<Service>;
  jobs: Informer<JobObject>;
  deployments: Informer<Deployment>;
  pdbs: Informer<PodDisruptionBudget>;
  hpas: Informer<HorizontalPodAutoscaler>;
  /** Secrets the operator created (the generated Redis password), metadata only. */
  secrets: Informer<Secret>;
  /** The bench-init ConfigMaps. */
  configMaps: Informer<ConfigMap>;
  /**
   * Every Secret of the watched namespaces, metadata only (shared with the site controller):
   * a Redis password Secret the user names, or an ExternalSecret refreshes, changes its
   * resourceVersion here, and only then is it read.
   */
  allSecrets: Informer<Secret>;
}

export interface BenchReconcilerDeps {
  client: KubeClient;
  informers: BenchInformers;
  events: EventRecorder;
  jobs: JobRunner;
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

/** What each step does, on one reconcile's state. */
export interface BenchSteps {
  storage(): Promise<StepOutcome>;
  redis(): Promise<StepOutcome>;
  init(): Promise<StepOutcome>;
  components(): Promise<StepOutcome>;
  autoscaling(): Promise<StepOutcome>;
}

/** The steps of a bench reconcile, in order: the one list of them. */
export const BENCH_STEPS: readonly Step<BenchSteps>[] = [
  { name: 'storage', condition: 'StorageReady', run: (r) => r.storage() },
  { name: 'redis', condition: 'RedisReady', run: (r) => r.redis() },
  { name: 'init', condition: 'Initialized', run: (r) => r.init() },
  { name: 'components', condition: 'ComponentsReady', run: (r) => r.components() },
  { name: 'autoscaling', condition: 'AutoscalingReady', run: (r) => r.autoscaling() },
];

export class BenchReconciler {
  readonly #deps: BenchReconcilerDeps;
  /** Deployment uid → another manager owns spec.replicas (sticky while autoscaled). */
  readonly #handedOver = new Map<string, { resourceVersion: string; owned: boolean }>();
  /** Secret uid and key → the Redis password's hash (never the value) at a resourceVersion. */
  readonly #passwords = new Map<string, { resourceVersion: string; state: RedisPasswordState }>();

  constructor(deps: BenchReconcilerDeps) {
    this.#deps = deps;
    deps.informers.deployments.addEventHandler({
      delete: (d) => this.#handedOver.delete(d.metadata.uid),
    });
    deps.informers.allSecrets.addEventHandler({
      delete: (secret) => {
        for (const key of this.#passwords.keys()) {
          if (key.startsWith(`${secret.metadata.uid}/`)) this.#passwords.delete(key);
        }
      },
    });
  }

  /**
   * The Redis password of `bench`, hashed: the Secret is read (a GET: the cache holds metadata
   * only) when its resourceVersion is new, and only its hash is kept.
   */
  async #redisPassword(
    bench: Stored<FrappeBench>,
    defaults: OperatorDefaults,
  ): Promise<RedisPasswordState | undefined> {
    const { namespace, name } = bench.metadata;
    const ref = redisPlan(bench.spec, name, namespace, defaults).password;
    if (ref === undefined) return undefined;
    const missing = (what: string): RedisPasswordState => ({
      state: 'Missing',
      message: `waiting for ${what} with the Redis password (key ${ref.key})`,
    });
    const meta = this.#deps.informers.allSecrets.get(namespace, ref.secretName);
    if (meta === undefined) return missing(`Secret ${ref.secretName}`);
    const memoKey = `${meta.metadata.uid}/${ref.key}`;
    const known = this.#passwords.get(memoKey);
    if (known?.resourceVersion === meta.metadata.resourceVersion) return known.state;
    const secret = await this.#deps.client.get<Secret>('v1', 'Secret', namespace, ref.secretName);
    if (secret === undefined) return missing(`Secret ${ref.secretName}`);
    const encoded = secret.data?.[ref.key];
    let state: RedisPasswordState;
    if (encoded === undefined) {
      state = missing(`key ${ref.key} of Secret ${ref.secretName}`);
    } else {
      const value = Buffer.from(encoded, 'base64');
      const problem = redisPasswordProblem(value);
      state =
        problem === undefined
          ? { state: 'Ok', hash: createHash('sha256').update(value).digest('hex').slice(0, 16) }
          : {
              state: 'Invalid',
              message: `the Redis password in key ${ref.key} of Secret ${ref.secretName} ${problem}: Redis cannot use it; write a password without line breaks into the Secret`,
            };
      value.fill(0);
    }
    this.#passwords.set(memoKey, {
      resourceVersion: secret.metadata.resourceVersion ?? '',
      state,
    });
    return state;
  }

  async reconcile(req: Request, rc: ReconcileContext): Promise<Result> {
    const cached = this.#deps.informers.benches.get(req.namespace, req.name);
    if (cached === undefined) return undefined;
    if (cached.metadata.deletionTimestamp !== undefined) return this.#delete(cached, rc.logger);
    const bench = await ensureFinalizer(this.#deps.client, cached, BENCH_FINALIZER);
    const defaulted = withDefaults(bench);
    let run: BenchReconcile;
    try {
      run = new BenchReconcile(
        this.#deps,
        resolveBench(defaulted, await this.#context(defaulted)),
        rc.logger,
      );
    } catch (err) {
      if (!(err instanceof InvalidSpecError)) throw err;
      const status = invalidSpecStatus(bench, err.reason, err.message);
      await writeStatus(
        this.#deps.client,
        this.#deps.events,
        bench,
        status,
        transitions,
        rc.logger,
      );
      // Terminal: logged and counted, not retried until the bench changes.
      throw err;
    }
    let walk: Walk;
    try {
      walk = await walkSteps(BENCH_STEPS, run, isNamespaceTerminating, (err) =>
        invalidSpecOutcome(err),
      );
    } catch (err) {
      // Only a terminating namespace ends the walk so: the namespace controller deletes the
      // bench next, and nothing here can be created now.
      rc.logger.info({ err }, 'namespace is terminating: not re-creating children');
      return undefined;
    }
    if (walk.error !== undefined) {
      rc.logger.warn({ err: walk.error.error, step: walk.error.step }, 'reconcile step failed');
    }
    const status = benchStatus(bench, walk, run.observe());
    await writeStatus(this.#deps.client, this.#deps.events, bench, status, transitions, rc.logger);
    if (walk.error !== undefined) throw walk.error.error;
    return walk.requeueAfter === undefined ? undefined : { requeueAfter: walk.requeueAfter };
  }

  /** What the builders need besides the bench: defaults, discovery, the Deployments' state. */
  async #context(bench: Stored<FrappeBench>): Promise<BenchContext> {
    const { client, informers } = this.#deps;
    const ns = bench.metadata.namespace;
    const [defaults, kedaAvailable] = await Promise.all([
      this.#deps.defaults(),
      client.hasResource(KEDA_API_VERSION, 'ScaledObject'),
    ]);
    const redisPassword = await this.#redisPassword(bench, defaults);
    const deployments: Partial<Record<DeploymentComponent, DeploymentState>> = {};
    for (const c of DEPLOYMENT_COMPONENTS) {
      const d = informers.deployments.get(ns, benchChild(bench.metadata, c));
      if (d === undefined) continue;
      const s = c === 'scheduler' ? undefined : autoscalingSettings(bench.spec, c);
      const autoscaled = s !== undefined && s.enabled && (s.provider === 'hpa' || kedaAvailable);
      deployments[c] = {
        replicas: d.spec.replicas,
        autoscalerOwnsReplicas: await this.#replicasHandedOver(d, autoscaled),
        versionLabel: d.spec.template.metadata?.labels?.['app.kubernetes.io/version'],
      };
    }
    const recorded = bench.status?.initializedImage;
    return {
      defaults,
      kedaAvailable,
      deployments,
      initRecord:
        recorded === undefined
          ? undefined
          : { image: recorded, inputsHash: bench.status?.initializedInputsHash },
      initJob: informers.jobs.get(ns, initJobName(bench.metadata)),
      ...(redisPassword === undefined ? {} : { redisPassword }),
    };
  }

  /** Whether an autoscaler has written `spec.replicas` of `d` (read from its managedFields). */
  async #replicasHandedOver(d: Stored<Deployment>, autoscaled: boolean): Promise<boolean> {
    const uid = d.metadata.uid;
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
      d.metadata.name,
    );
    const owned = ((live?.metadata.managedFields ?? []) as ManagedFieldsEntry[]).some(
      (e) => e.manager !== FIELD_MANAGER && e.fieldsV1?.['f:spec']?.['f:replicas'] !== undefined,
    );
    this.#handedOver.set(uid, { resourceVersion: live?.metadata.resourceVersion ?? '', owned });
    return owned;
  }

  async #delete(cached: Stored<FrappeBench>, log: Logger): Promise<Result> {
    const { client, informers, events } = this.#deps;
    if (!hasFinalizer(cached, BENCH_FINALIZER)) return undefined;
    let bench: FrappeBench = cached;
    const { namespace, name } = cached.metadata;
    const ns = await client.get<KubeObject>('v1', 'Namespace', undefined, namespace);
    if (ns !== undefined && ns.metadata.deletionTimestamp === undefined) {
      const sites = sitesOfBench(informers.sites, namespace, name);
      // The finalizer patch below must carry the resourceVersion this write produced.
      bench = await writeStatus(
        client,
        events,
        bench,
        terminatingStatus(bench, sites),
        transitions,
        log,
      );
      if (sites.length > 0) {
        log.info({ sites: sites.length }, 'deletion waits for the sites on this bench');
        return undefined;
      }
      if (bench.spec.storageRetentionPolicy === 'Delete') await this.#deleteClaim(bench, log);
    }
    await removeFinalizer(client, bench, BENCH_FINALIZER);
    return undefined;
  }

  /**
   * Delete the sites PVC under `storageRetentionPolicy: Delete` — only when it is ours: it carries
   * every label the operator gives it (a claim of that name made by someone else, or relabelled,
   * is kept, and a Warning event says so). The uid precondition keeps a claim re-created
   * meanwhile.
   */
  async #deleteClaim(bench: FrappeBench, log: Logger): Promise<void> {
    const { namespace = '', name = '' } = bench.metadata;
    const claimName = sitesClaimName(name);
    const { apiVersion, kind } = KINDS.PersistentVolumeClaim;
    // The cache holds only claims with the managed-by label; any other is looked up.
    const claim =
      this.#deps.informers.claims.get(namespace, claimName) ??
      (await this.#deps.client.get<PersistentVolumeClaim>(apiVersion, kind, namespace, claimName));
    if (claim === undefined) return;
    if (!isSitesClaimOf(claim, name)) {
      const note = `PersistentVolumeClaim ${claimName} lacks the operator's labels of bench ${name}: it is not the bench's sites volume and is kept despite storageRetentionPolicy Delete`;
      log.warn({ claim: claimName }, note);
      await this.#deps.events.record(bench, {
        type: 'Warning',
        reason: 'ForeignVolumeKept',
        action: 'Delete',
        note,
      });
      return;
    }
    await this.#deps.client.delete(apiVersion, kind, namespace, claimName, {
      preconditions: { uid: claim.metadata.uid ?? '' },
    });
    log.info({}, 'deleted the sites PVC (storageRetentionPolicy Delete)');
  }
}

/** Whether `claim` carries every label the operator puts on bench `bench`'s sites claim. */
export function isSitesClaimOf(claim: PersistentVolumeClaim, bench: string): boolean {
  const labels = claim.metadata.labels ?? {};
  return Object.entries(benchLabels({ name: bench }, 'bench-init')).every(
    ([k, v]) => labels[k] === v,
  );
}

/** One reconcile of one bench: the plan, the steps of the table, and what they observed. */
class BenchReconcile implements BenchSteps {
  readonly #deps: BenchReconcilerDeps;
  readonly #plan: BenchPlan;
  readonly #want: BenchChildren;
  readonly #log: Logger;
  readonly #ns: string;
  #init: InitState;
  #apps: { name: string; version?: string }[] | undefined;
  /** Deployments as this reconcile's apply left them (newer than the cache right after a patch). */
  readonly #applied = new Map<string, Deployment>();

  constructor(deps: BenchReconcilerDeps, plan: BenchPlan, log: Logger) {
    this.#deps = deps;
    this.#plan = plan;
    this.#want = benchChildren(plan);
    this.#log = log;
    this.#ns = plan.namespace;
    this.#init = { phase: 'Running', image: plan.image };
    this.#apps = plan.bench.status?.apps;
  }

  #apply<T extends KubeObject>(obj: T, cache: ObjectCache<T>): Promise<T> {
    return applyChild(this.#deps.client, obj, cache);
  }

  /** Delete the bench's children of `cache` that `keep` does not name (and `select` selects). */
  async #prune(
    cache: ObjectCache,
    keep: readonly KubeObject[],
    select?: (obj: Stored<KubeObject>) => boolean,
  ): Promise<void> {
    const deleted = await pruneChildren(this.#deps.client, this.#plan.bench, cache, keep, select);
    for (const obj of deleted) {
      this.#log.info(
        { kind: obj.kind, child: obj.metadata.name },
        'deleted a child no longer wanted',
      );
    }
  }

  // ---- steps --------------------------------------------------------------------------------

  async storage(): Promise<StepOutcome> {
    const claim = await this.#apply(this.#want.storage, this.#deps.informers.claims);
    return storageOutcome(claim, claim.metadata.name ?? '');
  }

  async redis(): Promise<StepOutcome> {
    const { client, informers } = this.#deps;
    const plan = this.#plan;
    const secret = plan.redis.generatedSecretName;
    if (secret !== undefined && informers.secrets.get(this.#ns, secret) === undefined) {
      try {
        await client.create(redisAuthSecret(plan, secret, randomBytes(24).toString('hex')));
        this.#log.info({ child: secret }, 'generated the Redis password Secret');
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
    }
    const password = plan.redisPassword;
    if (password !== undefined && password.state !== 'Ok') {
      // Nothing is rolled out with a password Redis, bench-init and KEDA would not agree on;
      // the Secret's next change (a watch) brings the bench back.
      return password.state === 'Invalid'
        ? stop('InvalidRedisPassword', password.message)
        : wait('RedisPasswordMissing', password.message);
    }
    for (const obj of this.#want.redis) {
      if (obj.kind === 'StatefulSet') {
        const sts = obj as StatefulSet;
        const live = informers.statefulSets.get(this.#ns, sts.metadata.name ?? '');
        if (live !== undefined && immutablePartsDiffer(live, sts)) {
          this.#log.info(
            { child: sts.metadata.name },
            're-creating a StatefulSet whose immutable parts changed',
          );
          await client.delete(sts.apiVersion, sts.kind, this.#ns, live.metadata.name, {
            propagationPolicy: 'Background',
          });
          return wait(
            'Recreating',
            `StatefulSet ${live.metadata.name} is re-created: its volume claim template or selector changed`,
            SYNC_RECHECK_MS,
          );
        }
        await this.#apply(sts, informers.statefulSets);
      } else {
        await this.#apply(obj as Service, informers.services);
      }
    }
    await this.#prune(informers.statefulSets, this.#want.redis);
    const redisServices = redisServiceNames(plan);
    await this.#prune(informers.services, this.#want.redis, (s) =>
      redisServices.has(s.metadata.name),
    );
    return redisOutcome(
      plan.redis.builtIn
        ? REDIS_ROLES.map((r) => informers.statefulSets.get(this.#ns, redisName(plan, r)))
        : undefined,
    );
  }

  async init(): Promise<StepOutcome> {
    const plan = this.#plan;
    const req = this.#want.init;
    const configMaps = this.#deps.informers.configMaps;
    // The Job mounts this one; those of earlier content are no longer needed.
    await this.#apply(this.#want.initConfig, configMaps);
    await this.#prune(
      configMaps,
      [this.#want.initConfig],
      (c) => c.metadata.name !== statsdMappingName(this.#plan),
    );
    const runner = this.#deps.jobs;
    const hash = plan.initHash;
    // The Job is deleted a day after it finished; the status's record says it ran for these
    // inputs.
    if (plan.initialized?.inputsHash === hash && (await runner.phase(req)).phase === 'Absent') {
      this.#init = { phase: 'Succeeded', image: plan.initialized.image };
      return initOutcome(this.#init, plan.initialized.image);
    }
    const phase = await runner.run(req, this.#log);
    // Succeeded and Failed are for the current inputs, so for the image they name.
    const image = plan.image;
    this.#init =
      phase.phase === 'Succeeded'
        ? { phase: 'Succeeded', image }
        : phase.phase === 'Failed'
          ? { phase: 'Failed', image, reason: phase.reason, message: phase.message }
          : { phase: 'Running', image };
    if (phase.phase === 'Succeeded') {
      if (plan.bench.status?.initializedInputsHash !== hash || this.#apps === undefined) {
        // Unknown rather than the previous image's apps when the report is unreadable.
        this.#apps = phase.report.ok ? (phase.report.value satisfies InitApps) : undefined;
      }
    }
    return initOutcome(this.#init, plan.initialized?.image);
  }

  async components(): Promise<StepOutcome> {
    const { informers } = this.#deps;
    // The sidecar's mapping before the Deployment whose pods mount it; gone when disabled.
    for (const cm of this.#want.statsdMapping) await this.#apply(cm, informers.configMaps);
    await this.#prune(
      informers.configMaps,
      this.#want.statsdMapping,
      (c) => c.metadata.name === statsdMappingName(this.#plan),
    );
    for (const obj of this.#want.components) {
      if (obj.kind === 'Deployment') {
        const applied = await this.#apply(obj as Deployment, informers.deployments);
        this.#applied.set(applied.metadata.name ?? '', applied);
      } else {
        await this.#apply(obj as Service, informers.services);
      }
    }
    for (const pdb of this.#want.disruptionBudgets) await this.#apply(pdb, informers.pdbs);
    await this.#prune(informers.pdbs, this.#want.disruptionBudgets);
    const redisServices = redisServiceNames(this.#plan);
    await this.#prune(
      informers.services,
      this.#want.components,
      (s) => !redisServices.has(s.metadata.name),
    );
    return componentsOutcome(this.#deployments(), this.#plan.scaling);
  }

  async autoscaling(): Promise<StepOutcome> {
    const { client, informers } = this.#deps;
    const want = this.#want.autoscaling;
    /** The HPAs and ScaledObjects as the API server has them, by component. */
    const applied: Partial<Record<DeploymentComponent, KubeObject>> = {};
    const componentOf = (obj: KubeObject): DeploymentComponent =>
      obj.metadata.labels?.component as DeploymentComponent;
    const hpas = want.filter((o) => o.kind === 'HorizontalPodAutoscaler');
    for (const hpa of hpas) {
      applied[componentOf(hpa)] = await this.#apply(hpa as HorizontalPodAutoscaler, informers.hpas);
    }
    await this.#prune(informers.hpas, hpas);
    const scaling = this.#plan.scaling;
    // With KEDA installed its objects are applied, or pruned when no component wants them.
    if (this.#plan.kedaAvailable) {
      const keda = this.#deps.keda();
      if (!keda.scaledObjects.hasSynced() || !keda.triggerAuthentications.hasSynced()) {
        return wait('CacheSyncing', 'waiting for the KEDA informers to sync', SYNC_RECHECK_MS);
      }
      for (const obj of want) {
        if (obj.kind === 'ScaledObject') {
          applied[componentOf(obj)] = await this.#apply(obj, keda.scaledObjects);
        }
        if (obj.kind === 'TriggerAuthentication') {
          await this.#apply(obj, keda.triggerAuthentications);
        }
      }
      await this.#prune(keda.scaledObjects, want);
      await this.#prune(keda.triggerAuthentications, want);
    }
    const withHpa = DEPLOYMENT_COMPONENTS.filter(
      (c) => scaling[c].providerManaged && scaling[c].provider === 'hpa',
    );
    const metricsApi =
      withHpa.length === 0 || (await client.hasResource('metrics.k8s.io/v1beta1', 'PodMetrics'));
    return autoscalingOutcome(scaling, metricsApi ? [] : withHpa, PROVIDER_RECHECK_MS, applied);
  }

  // ---- observation --------------------------------------------------------------------------

  #deployments(): Partial<Record<DeploymentComponent, Deployment>> {
    const out: Partial<Record<DeploymentComponent, Deployment>> = {};
    for (const c of DEPLOYMENT_COMPONENTS) {
      const name = benchChild(this.#plan, c);
      const d = newerDeployment(
        this.#deps.informers.deployments.get(this.#ns, name),
        this.#applied.get(name),
      );
      if (d !== undefined) out[c] = d;
    }
    return out;
  }

  /** What the summary conditions need, after the walk. */
  observe(): Observed {
    const plan = this.#plan;
    return {
      init: this.#init,
      image: plan.image,
      initializedImage: plan.initialized?.image,
      initializedInputsHash: plan.initialized?.inputsHash,
      deployments: this.#deployments(),
      scaling: plan.scaling,
      requiredApps: plan.apps,
      apps: this.#apps,
      siteCount: sitesOfBench(this.#deps.informers.sites, plan.namespace, plan.name).length,
      benchId: plan.benchId,
    };
  }
}

/** Names of the bench's Redis Services: the redis step prunes them, the components step not. */
const redisServiceNames = (plan: BenchPlan): Set<string> =>
  new Set(REDIS_ROLES.map((r) => redisName(plan, r)));

const sameQuantity = (a: string | undefined, b: string | undefined): boolean =>
  a === undefined || b === undefined ? a === b : parseQuantity(a) === parseQuantity(b);

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
        !sameQuantity(h.spec?.resources?.requests?.storage, t.spec?.resources?.requests?.storage) ||
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
