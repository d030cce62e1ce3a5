// What the site reconciler works with — the informers of the kinds it reads and writes, the Job
// runner, the Secret key reader, the migration slots — and the application of the site's
// MariaDB Operator objects, shared by the database step and deletion.
import type { FrappeBench, FrappeSite, SiteBackup } from '../../api/v1alpha1/index.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { Informer } from '../../kube/informer.ts';
import { applyChild } from '../../runtime/apply.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import type { JobObject, JobRunner } from '../../runtime/jobs.ts';
import type { OperatorDefaults } from '../shared/defaults.ts';
import type { Ingress, Secret } from '../shared/objects.ts';
import { databaseObjects, type MariaDBObject } from './database.ts';
import type { MigrationSlots } from './migrations.ts';
import type { SitePlan } from './plan.ts';
import type { SecretKeys } from './secret-keys.ts';

/** The MariaDB Operator's kinds, watched only once discovery lists them. */
export interface MariaDBInformers {
  mariadbs: Informer<MariaDBObject>;
  databases: Informer<MariaDBObject>;
  users: Informer<MariaDBObject>;
  grants: Informer<MariaDBObject>;
}

export interface SiteInformers {
  sites: Informer<FrappeSite>;
  benches: Informer<FrappeBench>;
  /** Every Secret of the watched namespaces, metadata only: existence and resourceVersion. */
  secrets: Informer<Secret>;
  jobs: Informer<JobObject>;
  ingresses: Informer<Ingress>;
  /** Read for the known destination of a `Delete` deletion's final backup. */
  backups: Informer<SiteBackup>;
}

export interface SiteReconcilerDeps {
  client: KubeClient;
  informers: SiteInformers;
  events: EventRecorder;
  jobs: JobRunner;
  /** The keys of referenced Secrets (and the non-secret connection settings). */
  secretKeys: SecretKeys;
  migrations: MigrationSlots;
  defaults: () => Promise<OperatorDefaults>;
  /** The MariaDB Operator's informers, created (and watched) on first call. */
  mariadb: () => MariaDBInformers;
}

/** The informer of a MariaDB Operator kind the site writes. */
export const cacheOf = (informers: MariaDBInformers, kind: string): Informer<MariaDBObject> =>
  kind === 'MariaDB'
    ? informers.mariadbs
    : kind === 'Database'
      ? informers.databases
      : kind === 'User'
        ? informers.users
        : informers.grants;

/** Apply the site's Database, User and Grant (`existingOnly`: only those that exist). */
export async function applyDatabaseObjects(
  client: KubeClient,
  informers: MariaDBInformers,
  plan: SitePlan,
  existingOnly: boolean,
): Promise<MariaDBObject[]> {
  const applied: MariaDBObject[] = [];
  for (const obj of databaseObjects(plan)) {
    const cache = cacheOf(informers, obj.kind);
    if (existingOnly && cache.get(plan.namespace, obj.metadata.name ?? '') === undefined) continue;
    applied.push(await applyChild(client, obj, cache));
  }
  return applied;
}
