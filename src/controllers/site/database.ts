// The site's database through the MariaDB Operator (API.md §3.3): Database `<site>-db`, User
// `<site>-user` and Grant `<site>-grant` (`k8s.mariadb.com/v1alpha1`) on the shared MariaDB or,
// in dedicated mode, on the site's own MariaDB `<site>-mariadb`; and where the Jobs connect:
// `<mariadb>.<ns>.svc.cluster.local:3306`, or the `<mariadb>-primary` Service when the MariaDB
// replicates (replication or Galera). A shared MariaDB of another namespace serves the site only
// when its owner consents: annotation `vyogo.tech/allowed-namespaces` (comma-separated, or `*`).
import type { KubeObject } from '../../kube/client.ts';
import { childMeta } from '../shared/meta.ts';
import { siteChild } from './names.ts';
import type { DatabaseEndpoint } from './jobs.ts';
import { siteLabels, type SitePlan } from './plan.ts';

export const MARIADB_API_VERSION = 'k8s.mariadb.com/v1alpha1';
export const ALLOWED_NAMESPACES_ANNOTATION = 'vyogo.tech/allowed-namespaces';
const MARIADB_PORT = 3306;

interface ReadyCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** A MariaDB Operator object: spec and status are the operator's. */
export interface MariaDBObject extends KubeObject {
  spec?: Record<string, unknown>;
  status?: { conditions?: ReadyCondition[] };
}

/**
 * Frappe's server settings (frappe_docker `overrides/compose.mariadb.yaml`): utf8mb4 with the
 * unicode collation, no client character-set handshake, compressed read-only InnoDB tables off.
 */
const FRAPPE_MY_CNF = `[mariadb]
character-set-server=utf8mb4
collation-server=utf8mb4_unicode_ci
skip-character-set-client-handshake
skip-innodb-read-only-compressed
`;
/** The mysql user of the official mariadb image. */
const MYSQL_UID = 999;

const mariadbKind = (kind: string) => ({ apiVersion: MARIADB_API_VERSION, kind });

/** Whether the MariaDB `mariadb` admits sites of `namespace` (same namespace always does). */
export function admitsNamespace(mariadb: KubeObject, namespace: string): boolean {
  if (mariadb.metadata.namespace === namespace) return true;
  const allowed = mariadb.metadata.annotations?.[ALLOWED_NAMESPACES_ANNOTATION] ?? '';
  return allowed
    .split(',')
    .map((s) => s.trim())
    .some((s) => s === '*' || s === namespace);
}

/** Host and port of a MariaDB object: its `-primary` Service when it replicates. */
export function mariadbEndpoint(mariadb: MariaDBObject): { host: string; port: number } {
  const spec = mariadb.spec ?? {};
  const enabled = (k: string) => (spec[k] as { enabled?: unknown } | undefined)?.enabled === true;
  const service = enabled('replication') || enabled('galera') ? '-primary' : '';
  const port = typeof spec.port === 'number' ? spec.port : MARIADB_PORT;
  const { name, namespace } = mariadb.metadata;
  return { host: `${name ?? ''}${service}.${namespace ?? ''}.svc.cluster.local`, port };
}

/** `Ready` of a MariaDB Operator object: undefined when the operator has not reported yet. */
export const readyOf = (obj: MariaDBObject | undefined): ReadyCondition | undefined =>
  obj?.status?.conditions?.find((c) => c.type === 'Ready');

/** The site's dedicated MariaDB (mode dedicated): one replica, restricted security contexts. */
export function dedicatedMariaDB(plan: SitePlan): MariaDBObject | undefined {
  const db = plan.database;
  const d = db.dedicated;
  if (d === undefined || db.mariadb === undefined) return undefined;
  return {
    ...mariadbKind('MariaDB'),
    metadata: childMeta(plan.site, db.mariadb.name, siteLabels(plan, 'site-init')),
    spec: {
      rootPasswordSecretKeyRef: { name: d.rootSecret, key: 'password' },
      image: d.image,
      replicas: 1,
      port: MARIADB_PORT,
      storage: {
        size: d.storageSize,
        ...(d.storageClassName === undefined ? {} : { storageClassName: d.storageClassName }),
      },
      myCnf: FRAPPE_MY_CNF,
      resources: d.resources,
      podSecurityContext: {
        runAsNonRoot: true,
        runAsUser: MYSQL_UID,
        runAsGroup: MYSQL_UID,
        fsGroup: MYSQL_UID,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      securityContext: {
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        runAsNonRoot: true,
        runAsUser: MYSQL_UID,
        runAsGroup: MYSQL_UID,
      },
    },
  };
}

/** Database, User and Grant of the site, in that order (MariaDB provider). */
export function databaseObjects(plan: SitePlan): MariaDBObject[] {
  const db = plan.database;
  if (db.mariadb === undefined || db.user === undefined) return [];
  const ref = { name: db.mariadb.name, namespace: db.mariadb.namespace };
  const labels = siteLabels(plan, 'site-init');
  const object = (kind: string, purpose: string, spec: Record<string, unknown>) => ({
    ...mariadbKind(kind),
    metadata: childMeta(plan.site, siteChild(plan.name, purpose), labels),
    spec: { mariaDbRef: ref, ...spec, cleanupPolicy: db.cleanupPolicy },
  });
  return [
    object('Database', 'db', {
      name: db.name,
      characterSet: 'utf8mb4',
      collate: 'utf8mb4_unicode_ci',
    }),
    object('User', 'user', {
      name: db.user,
      host: '%',
      passwordSecretKeyRef: { name: db.password.name, key: db.password.key },
      maxUserConnections: 100,
    }),
    object('Grant', 'grant', {
      privileges: ['ALL PRIVILEGES'],
      database: db.name,
      table: '*',
      username: db.user,
      host: '%',
      grantOption: false,
    }),
  ];
}

/** An external database's endpoint: dbConfig over the connection Secret's plain keys. */
export function externalEndpoint(
  plan: SitePlan,
  plain: Partial<Record<'host' | 'port' | 'database', string>>,
): DatabaseEndpoint | undefined {
  const db = plan.database;
  const host = db.host ?? plain.host;
  if (host === undefined || host === '') return undefined;
  const port = db.port ?? (plain.port === undefined ? 3306 : Number(plain.port));
  return { host, port, name: plain.database ?? db.name };
}
