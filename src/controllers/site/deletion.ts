// Deleting a FrappeSite (API.md §3.3 "Deletion", finalizer `vyogo.tech/site-finalizer`): in a
// terminating namespace, or without the bench, the finalizer goes at once and no data is touched.
// `Retain` (default) unlinks the domain (a Job, only when the domain differs from siteName),
// strips the ownerReferences of what must survive (generated Secrets, a dedicated MariaDB) and
// keeps files and database (cleanupPolicy Skip). `Delete` runs `<site>-delete` (files, domain
// link, an external database); the MariaDB Operator drops the database of cleanupPolicy Delete.
// A failed Job keeps the finalizer, with Terminating=False naming it: data is never lost silently.
import type { FrappeSite } from '../../api/v1alpha1/index.ts';
import type { KubeObject } from '../../kube/client.ts';
import type { Logger } from '../../kube/logger.ts';
import type { Result } from '../../runtime/controller.ts';
import { hasFinalizer, removeFinalizer } from '../../runtime/finalizers.ts';
import { writeStatus } from '../../runtime/status.ts';
import { KINDS } from '../shared/objects.ts';
import { dedicatedMariaDB, externalEndpoint, MARIADB_API_VERSION } from './database.ts';
import { applyDatabaseObjects, type SiteReconcilerDeps } from './deps.ts';
import { backupTarget, knownDestination } from '../backup/destination.ts';
import { deleteRequest, finalBackupRequest, type DatabaseEndpoint } from './jobs.ts';
import type { PodSettings } from '../shared/pod.ts';
import type { SitePlan } from './plan.ts';
import { generatedSecrets } from './secrets.ts';
import { terminatingStatus, transitions } from './status.ts';

export const SITE_FINALIZER = 'vyogo.tech/site-finalizer';
/** On a FrappeSite: delete it (deletionPolicy Delete) without the final backup. */
export const SKIP_FINAL_BACKUP = 'vyogo.tech/skip-final-backup';

export class SiteDeletion {
  readonly #deps: SiteReconcilerDeps;

  constructor(deps: SiteReconcilerDeps) {
    this.#deps = deps;
  }

  async delete(plan: SitePlan, log: Logger): Promise<Result> {
    const { client, events } = this.#deps;
    let site: FrappeSite = plan.site;
    if (!hasFinalizer(site, SITE_FINALIZER)) return undefined;
    const ns = await client.get<KubeObject>('v1', 'Namespace', undefined, plan.namespace);
    const release = async (why: string): Promise<Result> => {
      log.info({}, why);
      await removeFinalizer(client, site, SITE_FINALIZER);
      return undefined;
    };
    if (ns === undefined || ns.metadata.deletionTimestamp !== undefined) {
      return release('namespace is terminating: finalizer released, files and database untouched');
    }
    if (plan.bench === undefined || plan.pod === undefined) {
      return release('the bench is gone: finalizer released, files and database untouched');
    }
    const record = async (terminating: Parameters<typeof terminatingStatus>[1]) => {
      site = await writeStatus(
        client,
        events,
        site,
        terminatingStatus(site, terminating),
        transitions,
        log,
      );
    };
    const keep = plan.spec.deletionPolicy !== 'Delete';
    if (!keep) {
      const backedUp = await this.#finalBackup(plan, plan.pod, log, record);
      if (backedUp !== true) return backedUp;
    }
    const needsJob = !keep || plan.domain !== plan.siteName;
    if (needsJob) {
      const db = keep ? undefined : await this.#externalEndpoint(plan);
      const req = deleteRequest(plan, plan.pod, db, keep);
      const phase = await this.#deps.jobs.run(req, log);
      const job = req.job.metadata.name ?? '';
      if (phase.phase === 'Failed') {
        await record({
          status: 'False',
          reason: 'DeleteFailed',
          message: `Job ${job} failed (${phase.reason}: ${phase.message}); the finalizer stays and nothing more is removed: fix the cause, then change the FrappeSite annotation vyogo.tech/retry, or remove the finalizer ${SITE_FINALIZER} to give up`,
        });
        return phase.retryInMs === undefined ? undefined : { requeueAfter: phase.retryInMs };
      }
      if (phase.phase !== 'Succeeded') {
        await record({
          status: 'False',
          reason: keep ? 'Unlinking' : 'DeletingSite',
          message: keep
            ? `Job ${job} removes the domain link sites/${plan.domain}; the site and its database are kept (deletionPolicy Retain)`
            : `Job ${job} removes sites/${plan.siteName}${plan.database.provider === 'external' ? ' and drops the external database' : ''} (deletionPolicy Delete)`,
        });
        return undefined;
      }
    }
    // The MariaDB Operator acts on the cleanupPolicy its objects carry when they are deleted: make
    // sure it is the deletion policy's now (it may have changed since the last reconcile).
    await this.#applyCleanupPolicy(plan);
    if (keep) await this.#orphanRetained(plan, log);
    await record({
      status: 'True',
      reason: keep ? 'Retained' : 'Deleted',
      message: keep
        ? 'the site directory, database and Secrets are kept; a FrappeSite of the same name adopts them'
        : 'the site directory is removed; the MariaDB Operator drops the database (cleanupPolicy Delete)',
    });
    return release(keep ? 'site released; files and database retained' : 'site deleted');
  }

  /**
   * `<site>-final-backup` before a `Delete` removes anything, when a destination is known (that
   * of the site's SiteBackup with the most recent success) and the site has no
   * `vyogo.tech/skip-final-backup` annotation. True once it succeeded (or none is wanted);
   * otherwise the result to return: a failure keeps the finalizer, naming the Job.
   */
  async #finalBackup(
    plan: SitePlan,
    pod: PodSettings,
    log: Logger,
    record: (t: Parameters<typeof terminatingStatus>[1]) => Promise<void>,
  ): Promise<true | Result> {
    const known = knownDestination(this.#deps.informers.backups.list(plan.namespace), plan.name);
    if (known === undefined || plan.site.metadata.annotations?.[SKIP_FINAL_BACKUP] !== undefined) {
      return true;
    }
    const req = finalBackupRequest(
      plan,
      pod,
      backupTarget(known.spec.destination, plan.namespace, plan.name, plan.benchName),
    );
    const job = req.job.metadata.name ?? '';
    const phase = await this.#deps.jobs.run(req, log);
    if (phase.phase === 'Succeeded') return true;
    if (phase.phase === 'Failed') {
      await record({
        status: 'False',
        reason: 'FinalBackupFailed',
        message: `Job ${job} failed (${phase.reason}: ${phase.message}); nothing is removed: fix the cause, then change the FrappeSite annotation vyogo.tech/retry, or set the annotation ${SKIP_FINAL_BACKUP} to delete without it`,
      });
      return undefined;
    }
    await record({
      status: 'False',
      reason: 'FinalBackup',
      message: `Job ${job} takes a final backup to ${known.spec.destination.type} (as SiteBackup ${known.metadata.name ?? ''}) before the site is removed`,
    });
    return undefined;
  }

  /** Re-apply the site's Database, User and Grant with the cleanupPolicy of `deletionPolicy`. */
  async #applyCleanupPolicy(plan: SitePlan): Promise<void> {
    if (plan.database.provider !== 'mariadb') return;
    if (!(await this.#deps.client.hasResource(MARIADB_API_VERSION, 'Database'))) return;
    await applyDatabaseObjects(this.#deps.client, this.#deps.mariadb(), plan, true);
  }

  /** Strip our ownerReference from what `Retain` keeps: generated Secrets, a dedicated MariaDB. */
  async #orphanRetained(plan: SitePlan, log: Logger): Promise<void> {
    const { client, informers } = this.#deps;
    const kept: { apiVersion: string; kind: string; name: string }[] = generatedSecrets(plan).map(
      (s) => ({ ...KINDS.Secret, name: s.name }),
    );
    const dedicated = dedicatedMariaDB(plan);
    if (dedicated !== undefined) {
      kept.push({
        apiVersion: dedicated.apiVersion,
        kind: dedicated.kind,
        name: dedicated.metadata.name ?? '',
      });
    }
    for (const k of kept) {
      const live =
        k.kind === 'Secret'
          ? informers.secrets.get(plan.namespace, k.name)
          : await client.get<KubeObject>(k.apiVersion, k.kind, plan.namespace, k.name);
      const refs = live?.metadata.ownerReferences ?? [];
      if (live === undefined || !refs.some((r) => r.uid === plan.site.metadata.uid)) continue;
      await client.patch(
        k.apiVersion,
        k.kind,
        plan.namespace,
        k.name,
        {
          metadata: {
            resourceVersion: live.metadata.resourceVersion,
            ownerReferences: refs.filter((r) => r.uid !== plan.site.metadata.uid),
          },
        },
        'merge',
      );
      log.info({ kind: k.kind, child: k.name }, 'kept for adoption (deletionPolicy Retain)');
    }
  }

  /** Where an external database is (for `<site>-delete`), or undefined for MariaDB. */
  async #externalEndpoint(plan: SitePlan): Promise<DatabaseEndpoint | undefined> {
    const db = plan.database;
    if (db.provider !== 'external' || db.connectionSecret === undefined) return undefined;
    const secret = this.#deps.informers.secrets.get(plan.namespace, db.connectionSecret);
    if (secret === undefined) return undefined;
    const found = await this.#deps.secretKeys.read(secret);
    return externalEndpoint(plan, found.plain);
  }
}
