// The site resolved once: the FrappeSite with its schema defaults applied, its bench and the
// operator defaults, turned into the effective settings every builder takes — names, the domain
// and URL, TLS and Ingress settings, the Secrets, the database, the pod settings and image of
// its Jobs, their sizes and the bench's migration policy. Builders read the plan and never
// derive a setting again.
import type { FrappeBench, FrappeSite } from '../../api/v1alpha1/index.ts';
import { FrappeBenchDefaults, FrappeSiteDefaults } from '../../api/v1alpha1/defaulting.ts';
import type { Stored } from '../../kube/informer.ts';
import { benchPodSettings } from '../bench/plan.ts';
import { resolveImage } from '../shared/image.ts';
import type { ResourceRequirements } from '../shared/k8s.ts';
import { standardLabels, type Component, type Labels } from '../shared/labels.ts';
import type { PodSettings } from '../shared/pod.ts';
import { jobResources, mergeResources, type JobKind } from '../shared/resources.ts';
import { DEFAULT_RESOURCES } from '../../api/v1alpha1/resources.ts';
import type { MariaDBRef, SiteContext } from './context.ts';
import { databaseName, siteChild, siteJobName } from './names.ts';

export type DomainSource = 'explicit' | 'bench-suffix' | 'sitename-default';

export interface SecretKey {
  name: string;
  key: string;
}

/** A Secret the site reads: the user's, or one the operator generates when absent. */
export interface SiteSecret extends SecretKey {
  generated: boolean;
}

/** The dedicated MariaDB of a site (mode dedicated). */
export interface DedicatedMariaDB {
  image: string;
  storageSize: string;
  storageClassName: string | undefined;
  resources: ResourceRequirements;
  /** Generated Secret `<site>-mariadb-root` (key `password`): the tenant's own root. */
  rootSecret: string;
}

export interface DatabasePlan {
  provider: 'mariadb' | 'external';
  mode: 'shared' | 'dedicated';
  /** The database (and, for the MariaDB provider, the DB user's) name. */
  name: string;
  /** The DB user; undefined for an external database: the Secret's `username` key holds it. */
  user: string | undefined;
  /** Known host; undefined: from the MariaDB object (shared) or the connection Secret. */
  host: string | undefined;
  /** Known port; undefined: the MariaDB object's or the Secret's, else 3306. */
  port: number | undefined;
  /** The MariaDB the Database, User and Grant refer to (MariaDB provider). */
  mariadb: MariaDBRef | undefined;
  /** Where the DB user's password is: `<site>-db-password` (generated) or the connection Secret. */
  password: SiteSecret;
  /** External: the connection Secret (keys username, password, optional host, port, database). */
  connectionSecret: string | undefined;
  /** MariaDB Operator `cleanupPolicy` of Database, User and Grant (from `deletionPolicy`). */
  cleanupPolicy: 'Skip' | 'Delete';
  dedicated: DedicatedMariaDB | undefined;
  /** A combination of site and bench settings no database can be made of. */
  invalid: string | undefined;
}

export interface TlsPlan {
  secretName: string;
  /** cert-manager ClusterIssuer; undefined: none. */
  issuer: string | undefined;
}

export interface SitePlan {
  /** The site with its schema defaults applied: owner of every child. */
  site: Stored<FrappeSite>;
  spec: FrappeSite['spec'];
  name: string;
  namespace: string;
  siteName: string;
  benchName: string;
  /** The bench (defaults applied); undefined when missing or in another namespace. */
  bench: Stored<FrappeBench> | undefined;
  /** `benchRef.namespace` names another namespace (unsupported). */
  crossNamespaceBench: boolean;
  domain: string;
  domainSource: DomainSource;
  /** Effective TLS (`tls`, `ingress.tls` or `enforceHTTPS`); undefined: plain HTTP. */
  tls: TlsPlan | undefined;
  url: string;
  ingress: { enabled: boolean; className: string | undefined; annotations: Record<string, string> };
  apps: string[];
  admin: SiteSecret;
  encryption: SiteSecret;
  database: DatabasePlan;
  /** Settings of the site's Jobs, with the image the bench's Deployments run; undefined without a bench. */
  pod: PodSettings | undefined;
  /** The bench's `status.image`: what the site is migrated to. */
  benchImage: string | undefined;
  /** The operator's image (restore download). */
  operatorImage: string | undefined;
  resources: Record<
    'siteInit' | 'restore' | 'migrate' | 'siteJob' | 'backup' | 'default' | 'agent',
    ResourceRequirements
  >;
  migration: { policy: 'Auto' | 'Manual'; maxConcurrent: number };
}

const DEFAULT_MARIADB = 'frappe-mariadb';
const DEFAULT_DB_STORAGE = '10Gi';
const MARIADB_PORT = 3306;

/** The site with its schema defaults applied (once per reconcile). */
export const withDefaults = (site: Stored<FrappeSite>): Stored<FrappeSite> =>
  FrappeSiteDefaults.apply(site) as Stored<FrappeSite>;

/** Standard labels of a site child. */
export const siteLabels = (
  plan: Pick<SitePlan, 'benchName' | 'name'>,
  component: Component,
): Labels => standardLabels(plan.benchName, component, plan.name);

/** A Job name of the site (`<site>-<purpose>`, or `<site>-site-<purpose>`, API.md §1.3). */
export const jobName = (plan: Pick<SitePlan, 'benchName' | 'name'>, purpose: string): string =>
  siteJobName(plan.name, plan.benchName, purpose);

function resolveDomain(
  spec: FrappeSite['spec'],
  bench: Stored<FrappeBench> | undefined,
): { domain: string; source: DomainSource } {
  if (spec.domain !== undefined) return { domain: spec.domain, source: 'explicit' };
  const suffix = bench?.spec.domainConfig?.suffix;
  if (suffix !== undefined && suffix !== '' && !spec.siteName.includes('.')) {
    const dotted = suffix.startsWith('.') ? suffix : `.${suffix}`;
    return { domain: `${spec.siteName}${dotted}`, source: 'bench-suffix' };
  }
  return { domain: spec.siteName, source: 'sitename-default' };
}

type DbConfig = NonNullable<FrappeSite['spec']['dbConfig']>;

/** The fields of a dbConfig that apply to each kind of database (API.md §6 D3–D6). */
const APPLICABLE: Record<'external' | 'shared' | 'dedicated', readonly (keyof DbConfig)[]> = {
  external: ['connectionSecretRef', 'host', 'port'],
  shared: ['mariadbRef'],
  dedicated: ['image', 'storageSize', 'storageClassName', 'resources'],
};

/** The site's dbConfig over the bench's, field by field, pinned by status.database. */
function resolveDatabase(
  site: Stored<FrappeSite>,
  bench: Stored<FrappeBench> | undefined,
  ctx: SiteContext,
): DatabasePlan {
  const own: DbConfig = site.spec.dbConfig ?? {};
  const inherited: DbConfig = bench?.spec.dbConfig ?? {};
  // The site's own choice of provider or mode decides; bench defaults fill only the rest: the
  // fields that apply to the kind of database the site chose (a shared bench's mariadbRef
  // serves a site that says provider mariadb; an external bench's host a site with its own
  // connection Secret).
  const decides = own.provider ?? own.mode ?? own.mariadbRef ?? own.connectionSecretRef;
  const db: DbConfig = decides === undefined ? { ...inherited, ...own } : { ...own };
  if (decides !== undefined) {
    const kind =
      (own.provider ?? (own.connectionSecretRef === undefined ? 'mariadb' : 'external')) ===
      'external'
        ? 'external'
        : (own.mode ?? 'shared');
    for (const k of APPLICABLE[kind]) {
      if (db[k] === undefined && inherited[k] !== undefined) {
        Object.assign(db, { [k]: inherited[k] });
      }
    }
  }
  const pinned = site.status?.database;
  const provider =
    (pinned?.provider as DatabasePlan['provider'] | undefined) ??
    db.provider ??
    (db.connectionSecretRef === undefined ? 'mariadb' : 'external');
  const mode = (pinned?.mode as DatabasePlan['mode'] | undefined) ?? db.mode ?? 'shared';
  const { namespace, name } = site.metadata;
  const dbName = pinned?.name ?? databaseName(namespace, name, site.spec.siteName);
  const cleanupPolicy = site.spec.deletionPolicy === 'Delete' ? 'Delete' : 'Skip';
  const base = {
    provider,
    mode,
    name: dbName,
    cleanupPolicy,
    dedicated: undefined,
    invalid: undefined,
  } as const;
  if (provider === 'external') {
    const secret = db.connectionSecretRef?.name;
    const port = db.port === undefined ? undefined : Number(db.port);
    return {
      ...base,
      mode: 'shared',
      user: undefined,
      host: db.host,
      port,
      mariadb: undefined,
      password: { name: secret ?? '', key: 'password', generated: false },
      connectionSecret: secret,
      invalid:
        secret === undefined
          ? 'provider external needs dbConfig.connectionSecretRef (on the site or its bench)'
          : mode === 'dedicated'
            ? 'dbConfig.mode dedicated is only supported with provider mariadb'
            : undefined,
    };
  }
  const password = { name: siteChild(name, 'db-password'), key: 'password', generated: true };
  const user = pinned?.user ?? dbName;
  if (mode === 'dedicated') {
    const mariadb = siteChild(name, 'mariadb');
    return {
      ...base,
      user,
      host: `${mariadb}.${namespace}.svc.cluster.local`,
      port: MARIADB_PORT,
      mariadb: { name: mariadb, namespace },
      password,
      connectionSecret: undefined,
      dedicated: {
        image: db.image ?? ctx.defaults.mariadbImage,
        storageSize: String(db.storageSize ?? DEFAULT_DB_STORAGE),
        storageClassName: db.storageClassName,
        resources: mergeResources(db.resources, DEFAULT_RESOURCES.mariadb),
        rootSecret: siteChild(name, 'mariadb-root'),
      },
    };
  }
  const ref = ctx.pinnedMariaDB ?? {
    name: db.mariadbRef?.name ?? DEFAULT_MARIADB,
    namespace: db.mariadbRef?.namespace ?? namespace,
  };
  return {
    ...base,
    user,
    host: undefined,
    port: undefined,
    mariadb: ref,
    password,
    connectionSecret: undefined,
  };
}

/** Resolve `site` (defaults applied) and the gathered context into the plan. */
export function resolveSite(site: Stored<FrappeSite>, ctx: SiteContext): SitePlan {
  const spec = site.spec;
  const { name, namespace } = site.metadata;
  const refNamespace = spec.benchRef.namespace;
  const crossNamespaceBench = refNamespace !== undefined && refNamespace !== namespace;
  const bench = crossNamespaceBench ? undefined : ctx.bench;
  const { domain, source } = resolveDomain(spec, bench);
  const tlsSpec = spec.tls ?? spec.ingress?.tls;
  const tlsEnabled = tlsSpec?.enabled === true || ctx.defaults.enforceHTTPS;
  const issuer = tlsSpec?.issuer ?? ctx.defaults.clusterIssuer;
  const tls = tlsEnabled
    ? {
        secretName: tlsSpec?.secretName ?? siteChild(name, 'tls'),
        issuer: issuer === '' ? undefined : issuer,
      }
    : undefined;
  const className = spec.ingress?.className ?? ctx.defaults.ingressClassName;
  const jobSizes = bench?.spec.jobResources;
  const size = (kind: JobKind): ResourceRequirements => jobResources(jobSizes, kind);
  const image =
    bench === undefined
      ? undefined
      : (bench.status?.initializedImage ?? resolveImage(bench.spec, ctx.defaults.frappeImage));
  const admin = spec.adminPasswordSecretRef;
  const encryption = spec.encryptionKeySecretRef;
  const migration =
    bench === undefined
      ? undefined
      : FrappeBenchDefaults.fill(bench.spec.siteMigration, 'spec', 'siteMigration');
  return {
    site,
    spec,
    name,
    namespace,
    siteName: spec.siteName,
    benchName: spec.benchRef.name,
    bench,
    crossNamespaceBench,
    domain,
    domainSource: source,
    tls,
    url: `${tls === undefined ? 'http' : 'https'}://${domain}`,
    ingress: {
      // Filled from the schema's default.
      enabled: spec.ingress?.enabled !== false,
      className: className === '' ? undefined : className,
      annotations: spec.ingress?.annotations ?? {},
    },
    apps: [...(spec.apps ?? [])],
    admin:
      admin === undefined
        ? { name: siteChild(name, 'admin'), key: 'password', generated: true }
        : { name: admin.name, key: admin.key ?? 'password', generated: false },
    encryption:
      encryption === undefined
        ? { name: siteChild(name, 'encryption-key'), key: 'encryption_key', generated: true }
        : { name: encryption.name, key: encryption.key ?? 'encryption_key', generated: false },
    database: resolveDatabase(site, bench, ctx),
    pod:
      bench === undefined || image === undefined
        ? undefined
        : { ...benchPodSettings(bench, ctx.defaults), image },
    benchImage: bench?.status?.image,
    operatorImage: ctx.defaults.operatorImage,
    resources: {
      siteInit: size('siteInit'),
      restore: size('restore'),
      migrate: size('migrate'),
      siteJob: size('siteJob'),
      backup: size('backup'),
      default: size('default'),
      agent: size('agent'),
    },
    migration: {
      // Filled from the schema's defaults (a site without a bench migrates nothing).
      policy: migration?.policy === 'Manual' ? 'Manual' : 'Auto',
      maxConcurrent: migration?.maxConcurrent ?? 1,
    },
  };
}
