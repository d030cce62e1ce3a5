// What `frappe-operator render` prints: the children the operator would create for each
// FrappeBench, FrappeSite, SiteBackup and SiteJob of the input, once every step of their reconcile
// is done. Nothing is built here: each kind goes through its controller's own defaulting
// (`withDefaults`), plan (`resolveBench`, `resolveSite`, `resolveBackup`) and pure builders. What
// the reconcilers read from the cluster comes from the input instead:
//
// - the bench of a site, the site of a SiteBackup or SiteJob: their manifests in the input (an
//   error names the one to add);
// - a bench-init that succeeded for the current inputs (the converged state), no Deployment yet
//   taken over by an autoscaler, KEDA installed unless told otherwise;
// - an external database's host, port and database: `dbConfig`, else the plain keys of the
//   connection Secret when the input has it; a shared MariaDB's address: its MariaDB object when
//   the input has it, else `<name>.<namespace>.svc.cluster.local:3306`;
// - status is the operator's: the input's is ignored (a site is rendered as when first made).
//
// Secrets: a generated value is never made or printed; every Secret shows its keys with
// GENERATED_VALUE. Values only the cluster knows (the Redis password's hash, the admin Secret's
// resourceVersion, owner uids) are shown as placeholders in parentheses.
import type { FrappeBench, FrappeSite, SiteBackup, SiteJob } from '../api/v1alpha1/index.ts';
import type { KubeObject } from '../kube/client.ts';
import type { Stored } from '../kube/informer.ts';
import { desiredJob } from '../runtime/jobs.ts';
import { benchChildren, childObjects } from '../controllers/bench/children.ts';
import type { BenchContext } from '../controllers/bench/context.ts';
import { KEDA_API_VERSION } from '../controllers/bench/autoscaling.ts';
import {
  resolveBench,
  withDefaults as benchWithDefaults,
  type BenchPlan,
} from '../controllers/bench/plan.ts';
import { redisAuthSecret, redisPlan } from '../controllers/bench/redis.ts';
import { backupCronJob, oneShotRequest, type ReadySite } from '../controllers/backup/children.ts';
import { backupTarget, matchSite } from '../controllers/backup/destination.ts';
import { resolveBackup, withDefaults as backupWithDefaults } from '../controllers/backup/plan.ts';
import type { OperatorDefaults } from '../controllers/shared/defaults.ts';
import { InvalidSpecError } from '../controllers/shared/invalid-spec.ts';
import type { Secret } from '../controllers/shared/objects.ts';
import {
  dedicatedMariaDB,
  databaseObjects,
  externalEndpoint,
  MARIADB_API_VERSION,
  mariadbEndpoint,
  type MariaDBObject,
} from '../controllers/site/database.ts';
import { siteIngress } from '../controllers/site/ingress.ts';
import {
  restoreRequest,
  siteInitRequest,
  type DatabaseEndpoint,
} from '../controllers/site/jobs.ts';
import { resolveSite, withDefaults as siteWithDefaults } from '../controllers/site/plan.ts';
import { secretContents } from '../controllers/site/secret-keys.ts';
import { generatedSecrets, secretObject } from '../controllers/site/secrets.ts';
import { siteJobRequest } from '../controllers/sitejob/command.ts';

/** What every Secret value is printed as. */
export const GENERATED_VALUE = '(secret value: generated in the cluster, never shown)';
/** The Redis password's hash (pod template, bench-init inputs, TriggerAuthentication). */
export const REDIS_PASSWORD_HASH = '(hash of the Redis password: known in the cluster only)';
/** The uid of an owner the input gives none: the API server assigns it. */
export const UID_PLACEHOLDER = '(uid: assigned by the API server)';
const adminVersion = (secret: string): string => `(resourceVersion of Secret ${secret})`;

/** Input the operator cannot build from: exit code 2, one line per problem. */
export class RenderError extends Error {
  readonly lines: readonly string[];
  constructor(lines: readonly string[]) {
    super(lines.join('\n'));
    this.name = 'RenderError';
    this.lines = lines;
  }
}

/** The input's objects: our four kinds (validated, defaulted, status dropped) and the rest. */
export interface RenderInput {
  benches: Stored<FrappeBench>[];
  sites: Stored<FrappeSite>[];
  backups: Stored<SiteBackup>[];
  siteJobs: Stored<SiteJob>[];
  /** Every other object (Secrets, MariaDB objects): what the reconcilers would read. */
  others: KubeObject[];
}

export interface RenderOptions {
  defaults: OperatorDefaults;
  /** Discovery would list KEDA's ScaledObject. */
  kedaAvailable: boolean;
}

/** One child and the object that owns it. */
export interface Rendered {
  owner: KubeObject;
  object: KubeObject;
}

const OWNER_ORDER = ['FrappeBench', 'FrappeSite', 'SiteBackup', 'SiteJob'];
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const keyOf = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;

function find<T extends KubeObject>(list: readonly T[], namespace: string, name: string) {
  return list.find((o) => o.metadata.namespace === namespace && o.metadata.name === name);
}

function findOther(input: RenderInput, apiVersion: string, kind: string, ns: string, name: string) {
  return find(
    input.others.filter((o) => o.apiVersion === apiVersion && o.kind === kind),
    ns,
    name,
  );
}

const missing = (who: string, what: string, ns: string): RenderError =>
  new RenderError([
    `${who} refers to ${what}, which is not in the input (namespace ${ns}): add its manifest with -f`,
  ]);

/** Every child of every owner of `input`: owner by owner, then kind, then name. */
export function render(input: RenderInput, options: RenderOptions): Rendered[] {
  const owners: KubeObject[] = [
    ...input.benches,
    ...input.sites,
    ...input.backups,
    ...input.siteJobs,
  ].sort(
    (a, b) =>
      OWNER_ORDER.indexOf(a.kind) - OWNER_ORDER.indexOf(b.kind) || compare(keyOf(a), keyOf(b)),
  );
  const problems: string[] = [];
  const out: Rendered[] = [];
  for (const owner of owners) {
    try {
      const children = childrenOf(owner, input, options).sort(
        (a, b) => compare(a.kind, b.kind) || compare(a.metadata.name ?? '', b.metadata.name ?? ''),
      );
      for (const object of children) out.push({ owner, object: redacted(object) });
    } catch (err) {
      if (!(err instanceof RenderError)) throw err;
      problems.push(...err.lines);
    }
  }
  if (problems.length > 0) throw new RenderError([...new Set(problems)]);
  return out;
}

function childrenOf(owner: KubeObject, input: RenderInput, o: RenderOptions): KubeObject[] {
  switch (owner.kind) {
    case 'FrappeBench':
      return benchObjects(owner as Stored<FrappeBench>, o);
    case 'FrappeSite':
      return siteObjects(owner as Stored<FrappeSite>, input, o);
    case 'SiteBackup':
      return backupObjects(owner as Stored<SiteBackup>, input, o);
    default:
      return siteJobObjects(owner as Stored<SiteJob>, input, o);
  }
}

/** The plan as the reconciler resolves it once bench-init succeeded for the current inputs. */
function convergedBench(bench: Stored<FrappeBench>, o: RenderOptions): BenchPlan {
  const { name, namespace } = bench.metadata;
  const password = redisPlan(bench.spec, name, namespace, o.defaults).password;
  const ctx: BenchContext = {
    defaults: o.defaults,
    kedaAvailable: o.kedaAvailable,
    deployments: {},
    initRecord: undefined,
    initJob: undefined,
    ...(password === undefined
      ? {}
      : { redisPassword: { state: 'Ok', hash: REDIS_PASSWORD_HASH } }),
  };
  try {
    const first = resolveBench(bench, ctx);
    return resolveBench(bench, {
      ...ctx,
      initRecord: { image: first.image, inputsHash: first.initHash },
    });
  } catch (err) {
    if (err instanceof InvalidSpecError) {
      throw new RenderError([`FrappeBench ${keyOf(bench)} cannot be built: ${err.message}`]);
    }
    throw err;
  }
}

function benchObjects(stored: Stored<FrappeBench>, o: RenderOptions): KubeObject[] {
  const plan = convergedBench(benchWithDefaults(stored), o);
  const generated = plan.redis.generatedSecretName;
  return [
    ...(generated === undefined ? [] : [redisAuthSecret(plan, generated, GENERATED_VALUE)]),
    // Without KEDA the reconciler applies only the HPAs.
    ...childObjects(benchChildren(plan)).filter(
      (obj) => o.kedaAvailable || obj.apiVersion !== KEDA_API_VERSION,
    ),
  ];
}

/** The site's plan with its bench from the input: what the reconciler resolves. */
function readySite(site: Stored<FrappeSite>, input: RenderInput, o: RenderOptions): ReadySite {
  const { namespace, name } = site.metadata;
  const ref = site.spec.benchRef;
  const who = `FrappeSite ${name}`;
  if (ref.namespace !== undefined && ref.namespace !== namespace) {
    throw new RenderError([
      `${who}: benchRef.namespace ${ref.namespace} is not supported: a site runs on a bench of its own namespace (${namespace})`,
    ]);
  }
  const bench = find(input.benches, namespace, ref.name);
  if (bench === undefined) throw missing(who, `FrappeBench ${ref.name}`, namespace);
  const plan = resolveSite(siteWithDefaults(site), {
    defaults: o.defaults,
    bench: benchWithDefaults(bench),
    pinnedMariaDB: undefined,
  });
  if (plan.database.invalid !== undefined) {
    throw new RenderError([`${who}: ${plan.database.invalid}`]);
  }
  if (plan.pod === undefined) throw new Error(`${who}: no pod settings with a bench`);
  return { ...plan, pod: plan.pod };
}

/** Where the site's Jobs connect, as the database step finds it. */
function databaseEndpoint(site: ReadySite, input: RenderInput): DatabaseEndpoint {
  const db = site.database;
  const ns = site.namespace;
  if (db.provider === 'external') {
    const name = db.connectionSecret ?? '';
    const secret: Secret | undefined = findOther(input, 'v1', 'Secret', ns, name);
    const endpoint = externalEndpoint(
      site,
      secret === undefined ? {} : secretContents(secretData(secret)).plain,
    );
    if (endpoint === undefined) {
      throw new RenderError([
        `FrappeSite ${site.name}: no database host: set dbConfig.host, or add Secret ${name} (with key host) to the input with -f`,
      ]);
    }
    return endpoint;
  }
  const ref = db.mariadb;
  if (ref === undefined) throw new Error(`FrappeSite ${site.name}: MariaDB plan without a MariaDB`);
  const mariadb: MariaDBObject = dedicatedMariaDB(site) ??
    findOther(input, MARIADB_API_VERSION, 'MariaDB', ref.namespace, ref.name) ?? {
      apiVersion: MARIADB_API_VERSION,
      kind: 'MariaDB',
      metadata: { name: ref.name, namespace: ref.namespace },
    };
  return { ...mariadbEndpoint(mariadb), name: db.name };
}

/** `data` of a Secret manifest with its `stringData` merged in, base64 as stored. */
function secretData(secret: Secret): Record<string, string> {
  const stringData = (secret as { stringData?: Record<string, unknown> }).stringData ?? {};
  return {
    ...secret.data,
    ...Object.fromEntries(
      Object.entries(stringData).map(([k, v]) => [k, Buffer.from(String(v)).toString('base64')]),
    ),
  };
}

function operatorImage(site: ReadySite, who: string): string {
  if (site.operatorImage === undefined) {
    throw new RenderError([
      `${who}: the operator's own image (the backup agent) is unknown: set FRAPPE_OPERATOR_IMAGE in --config`,
    ]);
  }
  return site.operatorImage;
}

function siteObjects(site: Stored<FrappeSite>, input: RenderInput, o: RenderOptions) {
  const plan = readySite(site, input, o);
  const db = databaseEndpoint(plan, input);
  const dedicated = dedicatedMariaDB(plan);
  const version = adminVersion(plan.admin.name);
  // A restored site is initialised by its restore; any other by site-init. Either records the
  // bench's image as migrated, so no migrate Job runs, and the admin Secret's version, so no
  // admin-password Job either.
  const job =
    plan.spec.restoreFrom === undefined
      ? siteInitRequest(plan, plan.pod, db, version)
      : restoreRequest(plan, plan.pod, db, operatorImage(plan, `FrappeSite ${plan.name}`), version);
  const ingress = siteIngress(plan);
  return [
    ...generatedSecrets(plan).map((g) =>
      secretObject(plan, { ...g, value: () => GENERATED_VALUE }),
    ),
    ...(dedicated === undefined ? [] : [dedicated]),
    ...databaseObjects(plan),
    desiredJob(job),
    ...(ingress === undefined ? [] : [ingress]),
  ];
}

function siteOf(who: string, input: RenderInput, ns: string, name: string): Stored<FrappeSite> {
  const site = find(input.sites, ns, name);
  if (site === undefined) throw missing(who, `FrappeSite ${name}`, ns);
  return site;
}

function backupObjects(stored: Stored<SiteBackup>, input: RenderInput, o: RenderOptions) {
  const backup = backupWithDefaults(stored);
  const { namespace, name } = backup.metadata;
  const who = `SiteBackup ${name}`;
  const match = matchSite(
    backup,
    input.sites.filter((s) => s.metadata.namespace === namespace),
  );
  if ('ambiguous' in match) {
    throw new RenderError([
      `${who}: site "${match.ambiguous}" matches the spec.siteName of FrappeSites ${match.candidates.join(', ')}: name one with siteRef`,
    ]);
  }
  if ('missing' in match) throw missing(who, `FrappeSite ${match.missing}`, namespace);
  const site = readySite(siteOf(who, input, namespace, match.found.metadata.name ?? ''), input, o);
  const plan = resolveBackup(backup, match, site);
  if (plan.target !== undefined) operatorImage(site, who);
  return plan.schedule === undefined
    ? [desiredJob(oneShotRequest(plan, site))]
    : [backupCronJob(plan, site)];
}

function siteJobObjects(sj: Stored<SiteJob>, input: RenderInput, o: RenderOptions) {
  const { namespace, name } = sj.metadata;
  const who = `SiteJob ${name}`;
  const site = readySite(siteOf(who, input, namespace, sj.spec.siteRef.name), input, o);
  // The cluster's known destination (the SiteBackup with the latest success) is status: offline
  // a backup goes where jobConfig.destination says, else to the site's volume.
  const dest = sj.spec.jobType === 'backup' ? sj.spec.jobConfig?.destination : undefined;
  const target =
    dest === undefined ? undefined : backupTarget(dest, namespace, site.name, site.benchName);
  return [
    desiredJob(
      siteJobRequest(sj, site, site.pod, {
        target,
        operatorImage: target === undefined ? site.operatorImage : operatorImage(site, who),
      }),
    ),
  ];
}

/** `obj` with every Secret value replaced by GENERATED_VALUE (keys kept, in `stringData`). */
export function redacted(obj: KubeObject): KubeObject {
  if (obj.kind !== 'Secret') return obj;
  const secret = obj as Secret & { stringData?: Record<string, string> };
  const keys = [...Object.keys(secret.data ?? {}), ...Object.keys(secret.stringData ?? {})];
  const rest: Record<string, unknown> = { ...secret };
  delete rest.data;
  delete rest.stringData;
  return {
    ...(rest as unknown as KubeObject),
    stringData: Object.fromEntries(keys.map((k) => [k, GENERATED_VALUE])),
  } as KubeObject;
}
