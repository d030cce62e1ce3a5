// The FrappeSite reconcile (API.md §2.2, §3.3): the site from the cache, defaulted and resolved
// once into a plan (plan.ts) with its bench; then the step table below — bench → secrets →
// database → restore | init → ingress → migrate — walked by the runtime's step runner. Each step
// applies its children with server-side apply (generated Secrets are created once, never
// re-applied) and judges what it found; long operations are Jobs on the Job runner (jobs.ts).
// The status is written only when it changed, with events for its transitions (status.ts).
// A site being deleted goes through deletion.ts instead.
import { IMAGE_ANNOTATION, JOB_TYPE_ANNOTATION } from '../shared/annotations.ts';
import type { FrappeSite } from '../../api/v1alpha1/index.ts';
import { isAlreadyExists } from '../../kube/client.ts';
import type { Stored } from '../../kube/informer.ts';
import { toMetaTime } from '../../kube/time.ts';
import type { Logger } from '../../kube/logger.ts';
import { applyChild, pruneChildren } from '../../runtime/apply.ts';
import type { ReconcileContext, Request, Result } from '../../runtime/controller.ts';
import { isNamespaceTerminating } from '../../runtime/errors.ts';
import { ensureFinalizer } from '../../runtime/finalizers.ts';
import {
  inputsHash,
  jobFinished,
  jobSucceeded,
  jobTime,
  type JobPhase,
} from '../../runtime/jobs.ts';
import { writeStatus } from '../../runtime/status.ts';
import {
  done,
  stop,
  wait,
  walkSteps,
  type Step,
  type StepOutcome,
  type Walk,
} from '../../runtime/steps.ts';
import { controllerRef } from '../shared/meta.ts';
import { KINDS, type Secret } from '../shared/objects.ts';
import { withDefaults as benchWithDefaults } from '../bench/plan.ts';
import {
  admitsNamespace,
  ALLOWED_NAMESPACES_ANNOTATION,
  dedicatedMariaDB,
  externalEndpoint,
  MARIADB_API_VERSION,
  mariadbEndpoint,
  readyOf,
  type MariaDBObject,
} from './database.ts';
import { SITE_FINALIZER, SiteDeletion } from './deletion.ts';
import { applyDatabaseObjects, cacheOf, type SiteReconcilerDeps } from './deps.ts';
import { ingressName, siteIngress } from './ingress.ts';
import {
  ADMIN_VERSION_ANNOTATION,
  adminPasswordRequest,
  initInputs,
  migrateRequest,
  restoreRequest,
  siteInitRequest,
  type DatabaseEndpoint,
  type SiteReport,
} from './jobs.ts';
import { siteChild } from './names.ts';
import { resolveSite, withDefaults, type SitePlan } from './plan.ts';
import { generatedSecrets, secretObject } from './secrets.ts';
import { siteStatus, transitions, type SiteRecords } from './status.ts';

/** How long to look again for what no watch of ours reports. */
const RECHECK_MS = 60_000;
const SLOT_RECHECK_MS = 30_000;
const SYNC_RECHECK_MS = 2_000;

/** What each step does, on one reconcile's state. */
export interface SiteSteps {
  readonly restoring: boolean;
  bench(): Promise<StepOutcome>;
  secrets(): Promise<StepOutcome>;
  database(): Promise<StepOutcome>;
  restore(): Promise<StepOutcome>;
  init(): Promise<StepOutcome>;
  ingress(): Promise<StepOutcome>;
  migrate(): Promise<StepOutcome>;
}

/** The steps of a site reconcile, in order: the one list of them. */
export const SITE_STEPS: readonly Step<SiteSteps>[] = [
  { name: 'bench', condition: 'BenchReady', run: (r) => r.bench() },
  { name: 'secrets', condition: 'SecretsReady', run: (r) => r.secrets() },
  { name: 'database', condition: 'DatabaseReady', run: (r) => r.database() },
  {
    name: 'restore',
    condition: 'Restored',
    applies: (r) => r.restoring,
    run: (r) => r.restore(),
  },
  { name: 'init', condition: 'Initialized', run: (r) => r.init() },
  { name: 'ingress', condition: 'IngressReady', run: (r) => r.ingress() },
  { name: 'migrate', condition: 'Migrated', run: (r) => r.migrate() },
];

export class SiteReconciler {
  readonly #deps: SiteReconcilerDeps;
  readonly #deletion: SiteDeletion;

  constructor(deps: SiteReconcilerDeps) {
    this.#deps = deps;
    this.#deletion = new SiteDeletion(deps);
  }

  async reconcile(req: Request, rc: ReconcileContext): Promise<Result> {
    const cached = this.#deps.informers.sites.get(req.namespace, req.name);
    if (cached === undefined) return undefined;
    const plan = await this.#plan(cached);
    if (cached.metadata.deletionTimestamp !== undefined)
      return this.#deletion.delete(plan, rc.logger);
    await ensureFinalizer(this.#deps.client, cached, SITE_FINALIZER);
    const run = new SiteReconcile(this.#deps, plan, rc.logger);
    let walk: Walk;
    try {
      walk = await walkSteps(SITE_STEPS, run, isNamespaceTerminating);
    } catch (err) {
      rc.logger.info({ err }, 'namespace is terminating: not re-creating children');
      return undefined;
    }
    if (walk.error !== undefined) {
      rc.logger.warn({ err: walk.error.error, step: walk.error.step }, 'reconcile step failed');
    }
    const site = plan.site;
    const status = siteStatus(site, walk, run.records());
    await writeStatus(this.#deps.client, this.#deps.events, site, status, transitions, rc.logger);
    if (walk.error !== undefined) throw walk.error.error;
    return walk.requeueAfter === undefined ? undefined : { requeueAfter: walk.requeueAfter };
  }

  async #plan(cached: Stored<FrappeSite>): Promise<SitePlan> {
    const { informers } = this.#deps;
    const site = withDefaults(cached);
    const bench = informers.benches.get(site.metadata.namespace, site.spec.benchRef.name);
    const watched = await this.#deps.client.hasResource(MARIADB_API_VERSION, 'Database');
    const database = (watched ? this.#deps.mariadb() : undefined)?.databases.get(
      site.metadata.namespace,
      siteChild(site.metadata.name, 'db'),
    );
    const ref = database?.spec?.mariaDbRef as { name?: string; namespace?: string } | undefined;
    return resolveSite(site, {
      defaults: await this.#deps.defaults(),
      bench: bench === undefined ? undefined : benchWithDefaults(bench),
      pinnedMariaDB:
        ref?.name === undefined
          ? undefined
          : { name: ref.name, namespace: ref.namespace ?? site.metadata.namespace },
    });
  }
}

const retryNote = (phase: { retryInMs?: number }): string =>
  phase.retryInMs === undefined || phase.retryInMs <= 0
    ? 'change the FrappeSite annotation vyogo.tech/retry to run it again now'
    : `retried in ${String(Math.ceil(phase.retryInMs / 60_000))} min, or at once when the FrappeSite annotation vyogo.tech/retry changes`;

/** One reconcile of one site: the plan, the steps of the table, and what they recorded. */
class SiteReconcile implements SiteSteps {
  readonly #deps: SiteReconcilerDeps;
  readonly #plan: SitePlan;
  readonly #log: Logger;
  readonly #ns: string;
  readonly #records: SiteRecords;
  #db: DatabaseEndpoint | undefined;
  /** resourceVersion of the admin password Secret. */
  #adminVersion = '';

  constructor(deps: SiteReconcilerDeps, plan: SitePlan, log: Logger) {
    this.#deps = deps;
    this.#plan = plan;
    this.#log = log;
    this.#ns = plan.namespace;
    const s = plan.site.status;
    this.#records = {
      url: plan.url,
      domain: plan.domain,
      domainSource: plan.domainSource,
      database: s?.database,
      installedApps: s?.installedApps,
      migratedImage: s?.migratedImage,
      initInputsHash: s?.initInputsHash,
      restore: s?.restore,
      adminPasswordSecretVersion: s?.adminPasswordSecretVersion,
      work: undefined,
      migration: undefined,
      adminPassword: undefined,
    };
  }

  get restoring(): boolean {
    return this.#plan.spec.restoreFrom !== undefined || this.#records.restore !== undefined;
  }

  records(): SiteRecords {
    return this.#records;
  }

  get #initialized(): boolean {
    return (
      this.#records.initInputsHash !== undefined ||
      this.#records.restore?.completionTime !== undefined
    );
  }

  // ---- steps --------------------------------------------------------------------------------

  bench(): Promise<StepOutcome> {
    return Promise.resolve(this.#bench());
  }

  #bench(): StepOutcome {
    const plan = this.#plan;
    const ref = `FrappeBench ${plan.namespace}/${plan.benchName}`;
    if (plan.crossNamespaceBench) {
      return stop(
        'CrossNamespaceUnsupported',
        `benchRef.namespace ${plan.spec.benchRef.namespace ?? ''} is not supported: a site runs on a bench of its own namespace; create the site in that namespace`,
      );
    }
    const bench = plan.bench;
    if (bench === undefined) return wait('BenchNotFound', `${ref} does not exist`);
    const ready = bench.status?.conditions?.find((c) => c.type === 'Ready');
    const holds = (type: string) =>
      bench.status?.conditions?.find((c) => c.type === type)?.status === 'True';
    if (bench.status?.initializedImage !== undefined) {
      if (ready?.status === 'True') return done('BenchReady', `${ref} is Ready`);
      // A bench that serves but lacks something declared (e.g. KEDA for its autoscaling) can
      // still host sites: its image is initialised and every component is available.
      if (holds('Initialized') && holds('ComponentsReady')) {
        return done(
          'BenchServing',
          `${ref} serves its sites (Ready=False: ${ready?.reason ?? ''}: ${ready?.message ?? ''})`,
        );
      }
    }
    const why = `${ref} is not Ready${ready === undefined ? '' : ` (${ready.reason}: ${ready.message})`}`;
    // An initialised site keeps its ingress and records while its bench recovers.
    if (this.#initialized && plan.pod !== undefined) {
      return done('BenchNotReady', why, { status: 'False', holdsReady: true });
    }
    return wait('BenchNotReady', why);
  }

  async secrets(): Promise<StepOutcome> {
    const plan = this.#plan;
    for (const g of generatedSecrets(plan))
      await this.#ensureGenerated(g.name, () => secretObject(plan, g));
    const needed: { name: string; keys: string[]; what: string }[] = [];
    if (!plan.admin.generated) {
      needed.push({ name: plan.admin.name, keys: [plan.admin.key], what: 'the admin password' });
    }
    if (!plan.encryption.generated) {
      needed.push({
        name: plan.encryption.name,
        keys: [plan.encryption.key],
        what: 'the encryption key',
      });
    }
    const conn = plan.database.connectionSecret;
    if (conn !== undefined) {
      needed.push({ name: conn, keys: ['username', 'password'], what: 'the database connection' });
    }
    const s3 = plan.spec.restoreFrom?.credentialsSecret;
    if (s3 !== undefined && this.#records.restore?.completionTime === undefined) {
      needed.push({
        name: s3,
        keys: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'],
        what: 'the restore S3 credentials',
      });
    }
    for (const n of needed) {
      const secret = this.#deps.informers.secrets.get(this.#ns, n.name);
      if (secret === undefined) {
        return wait(
          'SecretNotFound',
          `waiting for Secret ${this.#ns}/${n.name} (key ${n.keys.join(', ')}: ${n.what}); create it, or wait for its ExternalSecret to sync`,
        );
      }
      const found = await this.#deps.secretKeys.read(secret);
      const missing = n.keys.filter((k) => !found.keys.has(k));
      if (missing.length > 0) {
        return wait(
          'SecretKeyMissing',
          `Secret ${this.#ns}/${n.name} has no key ${missing.join(', ')} (${n.what}); add it`,
        );
      }
    }
    this.#adminVersion =
      this.#deps.informers.secrets.get(this.#ns, plan.admin.name)?.metadata.resourceVersion ?? '';
    return done('SecretsAvailable', 'every Secret the site needs is present');
  }

  /** Create the generated Secret `name` when absent; adopt a retained one of ours. */
  async #ensureGenerated(name: string, build: () => Secret): Promise<void> {
    const { client, informers } = this.#deps;
    const site = this.#plan.site;
    const live = informers.secrets.get(this.#ns, name);
    if (live === undefined) {
      try {
        await client.create(build());
        this.#log.info({ child: name }, 'generated Secret');
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
      return;
    }
    const refs = live.metadata.ownerReferences ?? [];
    const retainedOurs =
      refs.length === 0 &&
      live.metadata.labels?.site === site.metadata.name &&
      live.metadata.labels['app.kubernetes.io/managed-by'] === 'frappe-operator';
    if (retainedOurs) {
      await client.patch(
        KINDS.Secret.apiVersion,
        KINDS.Secret.kind,
        this.#ns,
        name,
        {
          metadata: {
            resourceVersion: live.metadata.resourceVersion,
            ownerReferences: [controllerRef(site)],
          },
        },
        'merge',
      );
      this.#log.info({ child: name }, 'adopted a retained Secret');
    }
  }

  async database(): Promise<StepOutcome> {
    const plan = this.#plan;
    const db = plan.database;
    if (db.invalid !== undefined) return stop('InvalidDatabaseConfig', db.invalid);
    if (db.provider === 'external') {
      const conn = db.connectionSecret ?? '';
      const secret = this.#deps.informers.secrets.get(this.#ns, conn);
      const found = secret === undefined ? { plain: {} } : await this.#deps.secretKeys.read(secret);
      const endpoint = externalEndpoint(plan, found.plain);
      if (endpoint === undefined) {
        return stop(
          'DatabaseHostMissing',
          `no database host: set dbConfig.host, or key host in Secret ${this.#ns}/${conn}`,
        );
      }
      this.#setDatabase(endpoint, conn);
      return done(
        'ExternalDatabase',
        `external database ${endpoint.name} at ${endpoint.host}:${String(endpoint.port)}`,
      );
    }
    if (!(await this.#deps.client.hasResource(MARIADB_API_VERSION, 'MariaDB'))) {
      return wait(
        'MariaDBOperatorNotInstalled',
        'the MariaDB Operator (k8s.mariadb.com/v1alpha1) is not installed: install it, or use dbConfig.provider external',
        RECHECK_MS,
      );
    }
    const informers = this.#deps.mariadb();
    const all = [informers.mariadbs, informers.databases, informers.users, informers.grants];
    if (!all.every((i) => i.hasSynced())) {
      return wait('CacheSyncing', 'waiting for the MariaDB informers to sync', SYNC_RECHECK_MS);
    }
    const ref = db.mariadb;
    if (ref === undefined || db.user === undefined)
      throw new Error('MariaDB plan without a MariaDB');
    const name = `MariaDB ${ref.namespace}/${ref.name}`;
    const dedicated = dedicatedMariaDB(plan);
    let mariadb: MariaDBObject | undefined;
    if (dedicated !== undefined) {
      mariadb = await applyChild(this.#deps.client, dedicated, informers.mariadbs);
    } else {
      mariadb = informers.mariadbs.get(ref.namespace, ref.name);
      if (mariadb === undefined) {
        return wait(
          'MariaDBNotFound',
          `${name} does not exist: create it, or set dbConfig.mariadbRef`,
          RECHECK_MS,
        );
      }
      if (!admitsNamespace(mariadb, this.#ns)) {
        return stop(
          'CrossNamespaceNotAllowed',
          `${name} does not admit sites of namespace ${this.#ns}: its owner must add ${this.#ns} to its annotation ${ALLOWED_NAMESPACES_ANNOTATION} (comma-separated, or *)`,
        );
      }
    }
    const applied = await applyDatabaseObjects(this.#deps.client, informers, plan, false);
    const endpoint = mariadbEndpoint(mariadb);
    this.#setDatabase({ ...endpoint, name: db.name }, db.password.name);
    for (const obj of [...(dedicated === undefined ? [] : [mariadb]), ...applied]) {
      const live = cacheOf(informers, obj.kind).get(this.#ns, obj.metadata.name ?? '');
      const ready = readyOf(live);
      if (ready?.status !== 'True') {
        const what = `${obj.kind} ${this.#ns}/${obj.metadata.name ?? ''}`;
        return wait(
          'DatabaseNotReady',
          ready === undefined
            ? `${what}: not reconciled by the MariaDB Operator yet`
            : `${what}: Ready=${ready.status} (reason ${ready.reason ?? ''}: ${ready.message ?? ''})`,
        );
      }
    }
    return done('DatabaseReady', `database ${db.name} on ${name}`);
  }

  #setDatabase(endpoint: DatabaseEndpoint, secretName: string): void {
    const db = this.#plan.database;
    this.#db = endpoint;
    this.#records.database = {
      provider: db.provider,
      mode: db.mode,
      host: endpoint.host,
      port: endpoint.port,
      name: endpoint.name,
      ...(db.user === undefined ? {} : { user: db.user }),
      secretName,
    };
  }

  async restore(): Promise<StepOutcome> {
    const plan = this.#plan;
    const r = this.#records.restore;
    if (r?.completionTime !== undefined) {
      return done('Restored', `restored from ${r.source ?? ''} by Job ${r.jobName ?? ''}`);
    }
    const pod = plan.pod;
    const db = this.#db;
    if (pod === undefined || db === undefined) throw new Error('restore before bench and database');
    if (plan.operatorImage === undefined) {
      return stop(
        'OperatorImageUnknown',
        'the operator does not know its own image (the backup agent): set FRAPPE_OPERATOR_IMAGE',
      );
    }
    const req = restoreRequest(plan, pod, db, plan.operatorImage, this.#adminVersion);
    const phase = await this.#deps.jobs.run(req, this.#log);
    const job = req.job.metadata.name ?? '';
    const source = plan.spec.restoreFrom?.backup ?? '';
    if (phase.phase === 'Succeeded') {
      this.#records.restore = {
        source,
        jobName: job,
        ...(jobTime(phase.job, 'startTime') === undefined
          ? {}
          : { startTime: jobTime(phase.job, 'startTime') }),
        completionTime: jobTime(phase.job, 'completionTime') ?? toMetaTime(new Date()),
      };
      this.#succeeded(phase);
      // The restore initialised the site for these inputs: apps added later get an update run.
      this.#records.initInputsHash = inputsHash(initInputs(plan, db), plan.site);
      return done('Restored', `restored from ${source} by Job ${job}`);
    }
    this.#records.restore = { source, jobName: job };
    return this.#notYet(phase, job, 'RestoreFailed', `restore from ${source}`);
  }

  /** Wait for a running, or report a failed, site-init or restore Job. */
  #notYet(
    phase: JobPhase<SiteReport>,
    job: string,
    failedReason: string,
    what: string,
  ): StepOutcome {
    if (phase.phase === 'Failed') {
      const message = `Job ${job} failed (${phase.reason}: ${phase.message}); ${retryNote(phase)}`;
      this.#records.work = { job, phase: 'Failed', message };
      const reason = phase.reason === 'AppNotInBench' ? phase.reason : failedReason;
      return wait(
        reason,
        message,
        phase.retryInMs === undefined || phase.retryInMs <= 0 ? undefined : phase.retryInMs,
      );
    }
    this.#records.work = { job, phase: 'Running', message: `Job ${job}: ${what}` };
    return wait('JobRunning', `Job ${job} is running: ${what}`);
  }

  /** Record what a succeeded site Job reports: installed apps, image, admin Secret version. */
  #succeeded(phase: Extract<JobPhase<SiteReport>, { phase: 'Succeeded' }>): void {
    const a = phase.job.metadata.annotations ?? {};
    const apps = phase.report.ok ? phase.report.value.installedApps : undefined;
    if (apps !== undefined) this.#records.installedApps = apps;
    const image = a[IMAGE_ANNOTATION];
    if (image !== undefined) this.#records.migratedImage = image;
    const version = a[ADMIN_VERSION_ANNOTATION];
    if (version !== undefined && version !== '') this.#records.adminPasswordSecretVersion = version;
  }

  async init(): Promise<StepOutcome> {
    const plan = this.#plan;
    const pod = plan.pod;
    const db = this.#db;
    if (pod === undefined || db === undefined) throw new Error('init before bench and database');
    const hash = inputsHash(initInputs(plan, db), plan.site);
    // A restored site was initialised by its restore (reached only once Restored is Done).
    if (this.restoring) this.#records.initInputsHash ??= hash;
    const available = plan.bench?.status?.apps?.map((a) => a.name);
    const absent = available === undefined ? [] : plan.apps.filter((a) => !available.includes(a));
    if (absent.length > 0) {
      return stop(
        'AppNotInBench',
        `app ${absent.join(', ')} is not in the bench image ${pod.image} (it has ${available?.join(', ') ?? ''}): build it into the image, or remove it from spec.apps`,
      );
    }
    const req = siteInitRequest(plan, pod, db, this.#adminVersion);
    const job = req.job.metadata.name ?? '';
    const runner = this.#deps.jobs;
    if (this.#records.initInputsHash === hash && (await runner.phase(req)).phase === 'Absent') {
      await this.#adminPassword(pod);
      return done('Initialized', `site ${plan.siteName} is initialised`);
    }
    const phase = await runner.run(req, this.#log);
    if (phase.phase === 'Succeeded') {
      this.#records.initInputsHash = hash;
      this.#succeeded(phase);
      await this.#adminPassword(pod);
      return done('Initialized', `site ${plan.siteName} is initialised by Job ${job}`);
    }
    // An update run (new apps, domain) of a site that serves already keeps it Ready.
    if (this.#records.initInputsHash !== undefined && phase.phase !== 'Failed') {
      this.#records.work = {
        job,
        phase: 'Running',
        message: `Job ${job}: updating the site (apps, domain)`,
      };
      return done('Updating', `Job ${job} updates the site (apps, domain)`, { status: 'True' });
    }
    return this.#notYet(
      phase,
      job,
      'InitFailed',
      this.#records.initInputsHash === undefined
        ? `creating site ${plan.siteName}`
        : 'updating the site',
    );
  }

  /** Reset the Administrator password when the admin Secret changed since it was last applied. */
  async #adminPassword(pod: NonNullable<SitePlan['pod']>): Promise<void> {
    const version = this.#adminVersion;
    if (version === '' || version === this.#records.adminPasswordSecretVersion) return;
    const req = adminPasswordRequest(this.#plan, pod, version);
    const phase = await this.#deps.jobs.run(req, this.#log);
    const job = req.job.metadata.name ?? '';
    if (phase.phase === 'Succeeded') {
      this.#records.adminPasswordSecretVersion = version;
    } else if (phase.phase === 'Failed') {
      this.#records.adminPassword = {
        job,
        phase: 'Failed',
        message: `Job ${job} could not reset the Administrator password (${phase.reason}: ${phase.message}); ${retryNote(phase)}`,
      };
    } else {
      this.#records.adminPassword = {
        job,
        phase: 'Running',
        message: `Job ${job} resets the Administrator password from Secret ${this.#plan.admin.name}`,
      };
    }
  }

  async ingress(): Promise<StepOutcome> {
    const plan = this.#plan;
    const { client, informers } = this.#deps;
    const want = siteIngress(plan);
    await pruneChildren(client, plan.site, informers.ingresses, want === undefined ? [] : [want]);
    if (want === undefined) {
      return done(
        'Disabled',
        'ingress.enabled is false: the Ingress is removed and no traffic reaches the site',
        {
          status: 'False',
          holdsReady: false,
        },
      );
    }
    await applyChild(client, want, informers.ingresses);
    return done(
      'IngressCreated',
      `Ingress ${ingressName(plan)} routes ${plan.url} to Service ${plan.benchName}-nginx:8080`,
    );
  }

  /** Whether a SiteJob `migrate` of this site succeeded with `image`. */
  #migratedBySiteJob(image: string): boolean {
    return this.#deps.informers.jobs
      .list(this.#ns)
      .some(
        (j) =>
          j.metadata.labels?.site === this.#plan.name &&
          j.metadata.labels.component === 'sitejob' &&
          j.metadata.annotations?.[JOB_TYPE_ANNOTATION] === 'migrate' &&
          j.metadata.annotations[IMAGE_ANNOTATION] === image &&
          jobSucceeded(j),
      );
  }

  async migrate(): Promise<StepOutcome> {
    const plan = this.#plan;
    const pod = plan.pod;
    if (pod === undefined) throw new Error('migrate before bench');
    const target = pod.image;
    const migrated = this.#records.migratedImage;
    const soft = { status: 'False', holdsReady: false } as const;
    const { client, informers } = this.#deps;
    const req = migrateRequest(plan, pod);
    // Migrate Jobs of earlier images are done with.
    await pruneChildren(
      client,
      plan.site,
      informers.jobs,
      [req.job],
      (j) => j.metadata.labels?.component === 'site-migrate',
    );
    // A SiteJob of type migrate (policy Manual, or by hand) that ran the bench's image.
    if (migrated !== target && this.#migratedBySiteJob(target)) {
      this.#records.migratedImage = target;
    }
    if (this.#records.migratedImage === target) {
      return plan.benchImage === undefined || plan.benchImage === target
        ? done('Migrated', `the site is migrated to ${target}`)
        : done(
            'WaitingForBench',
            `the bench initialises ${plan.benchImage}; the site is migrated to ${target}`,
            soft,
          );
    }
    if (plan.migration.policy === 'Manual') {
      return done(
        'MigrationPending',
        `the bench runs ${target} and the site was migrated to ${migrated ?? 'no image yet'}: run a SiteJob of type migrate (siteMigration.policy Manual)`,
        soft,
      );
    }
    const job = req.job.metadata.name ?? '';
    const runner = this.#deps.jobs;
    const current = await runner.phase(req);
    if (current.phase === 'Absent') {
      const running = informers.jobs
        .list(this.#ns)
        .filter(
          (j) =>
            j.metadata.labels?.bench === plan.benchName &&
            j.metadata.labels.component === 'site-migrate',
        )
        .filter((j) => !jobFinished(j))
        .map((j) => j.metadata.name);
      const key = `${this.#ns}/${plan.benchName}`;
      if (!this.#deps.migrations.tryClaim(key, job, running, plan.migration.maxConcurrent)) {
        return done(
          'WaitingForMigrationSlot',
          `${String(plan.migration.maxConcurrent)} migrations run on bench ${plan.benchName} (siteMigration.maxConcurrent); Job ${job} starts when one ends`,
          { ...soft, requeueAfter: SLOT_RECHECK_MS },
        );
      }
    }
    const phase = await runner.run(req, this.#log);
    if (phase.phase === 'Succeeded') {
      this.#succeeded(phase);
      this.#records.migratedImage = target;
      return done('Migrated', `the site is migrated to ${target} by Job ${job}`);
    }
    if (phase.phase === 'Failed') {
      const message = `Job ${job} failed (${phase.reason}: ${phase.message}); the site stays in maintenance mode: fix the cause, then change the FrappeSite annotation vyogo.tech/retry to migrate again`;
      this.#records.migration = { job, phase: 'Failed', message };
      return done('MigrationFailed', message, soft);
    }
    this.#records.migration = {
      job,
      phase: 'Running',
      message: `Job ${job} migrates the site to ${target} (in maintenance mode meanwhile)`,
    };
    return done('Migrating', `Job ${job} migrates the site to ${target}`, soft);
  }
}
