// The FrappeSite controller on a manager: the sites; their benches (a bench's change — Ready,
// image, settings — brings its sites back); the kinds of child it writes (selected by the
// operator's managed-by label; a child edited or deleted by hand brings its site back); every
// Secret of the watched namespaces, metadata only, mapped to the sites naming it (an admin
// Secret synced late by ExternalSecrets continues its site at once); and, once discovery lists
// the MariaDB Operator, its MariaDB, Database, User and Grant objects.
//
// Site reconciles run `max(maxConcurrentSiteReconciles, the largest siteReconcileConcurrency of
// all benches)` at a time, recomputed whenever the operator configuration or a bench changes —
// no restart needed. Register `setupSiteController` with the manager (src/cli.ts CONTROLLERS).
import type { FrappeBench, FrappeSite, SiteBackup } from '../../api/v1alpha1/index.ts';
import { API_VERSION, KIND } from '../../api/v1alpha1/names.ts';
import type { OperatorConfigHolder } from '../../config/holder.ts';
import type { ConfigKey } from '../../config/operator-config.ts';
import { ControllerBuilder } from '../../runtime/builder.ts';
import type { Controller, Request } from '../../runtime/controller.ts';
import { jobFinished, JobRunner, type JobObject } from '../../runtime/jobs.ts';
import type { Manager } from '../../runtime/manager.ts';
import { operatorDefaults } from '../shared/defaults.ts';
import { MANAGED_SELECTOR } from '../shared/labels.ts';
import { KINDS, type Ingress, type Secret } from '../shared/objects.ts';
import { indexSitesByBench, sitesOfBench } from '../shared/site-index.ts';
import { MARIADB_API_VERSION, type MariaDBObject } from './database.ts';
import { exportSiteMetrics } from './metrics.ts';
import { MigrationSlots } from './migrations.ts';
import { siteChild } from './names.ts';
import type { MariaDBInformers, SiteInformers } from './deps.ts';
import { SiteReconciler } from './reconcile.ts';
import { SecretKeys } from './secret-keys.ts';

export { SITE_FINALIZER } from './deletion.ts';
export { SiteReconciler } from './reconcile.ts';

export const CONTROLLER_NAME = 'frappesite';
/** Settings whose change moves what a site's children look like. */
const DEFAULT_KEYS: readonly ConfigKey[] = [
  'defaultFrappeImage',
  'defaultIngressClassName',
  'defaultClusterIssuer',
  'enforceHTTPS',
  'defaultMariaDBImage',
];
const SECRETS_INDEX = 'secret';
const MARIADB_INDEX = 'mariadb';

/** The Secrets a site names or the operator generates for it, as `namespace/name`. */
function secretsOfSite(site: FrappeSite): string[] {
  const ns = site.metadata.namespace ?? '';
  const name = site.metadata.name ?? '';
  const spec = site.spec;
  const names = [
    spec.adminPasswordSecretRef?.name ?? siteChild(name, 'admin'),
    spec.encryptionKeySecretRef?.name ?? siteChild(name, 'encryption-key'),
    siteChild(name, 'db-password'),
    siteChild(name, 'mariadb-root'),
    spec.dbConfig?.connectionSecretRef?.name,
    spec.restoreFrom?.credentialsSecret,
  ];
  return names.flatMap((n) => (n === undefined ? [] : [`${ns}/${n}`]));
}

/**
 * The MariaDBs whose status a site waits on, as `namespace/name`: the shared one it names (its
 * own dbConfig, else the default) and its dedicated one. Both, whatever the mode: the mode may
 * come from the bench, and a MariaDB that no site waits on costs one index entry.
 */
function mariadbOfSite(site: FrappeSite): string[] {
  const ns = site.metadata.namespace ?? '';
  const ref = site.spec.dbConfig?.mariadbRef;
  return [
    `${ref?.namespace ?? ns}/${ref?.name ?? 'frappe-mariadb'}`,
    `${ns}/${siteChild(site.metadata.name ?? '', 'mariadb')}`,
  ];
}

const requestsOf = (sites: FrappeSite[]): Request[] =>
  sites.map((s) => ({ namespace: s.metadata.namespace ?? '', name: s.metadata.name ?? '' }));

/** The site worker pool: the configured count, or a bench's larger hint. */
export function siteConcurrency(configured: number, benches: readonly FrappeBench[]): number {
  return Math.max(1, configured, ...benches.map((b) => b.spec.siteReconcileConcurrency ?? 0));
}

export function setupSiteController(manager: Manager, config: OperatorConfigHolder): Controller {
  const { client, cache, events, logger } = manager;
  const b = new ControllerBuilder<FrappeSite>(cache, {
    name: CONTROLLER_NAME,
    apiVersion: API_VERSION,
    kind: KIND.FrappeSite,
    ownedSelector: MANAGED_SELECTOR,
    logger,
  });
  const sites = b.primary;
  indexSitesByBench(sites);
  sites.addIndexer(SECRETS_INDEX, secretsOfSite);
  sites.addIndexer(MARIADB_INDEX, mariadbOfSite);
  const byIndex = (index: string) => (obj: { metadata: { namespace?: string; name?: string } }) =>
    requestsOf(sites.byIndex(index, `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`));
  const benches = b.watches<FrappeBench>(
    { apiVersion: API_VERSION, kind: KIND.FrappeBench },
    (bench) =>
      sitesOfBench(sites, bench.metadata.namespace ?? '', bench.metadata.name ?? '').map((key) => {
        const [namespace = '', name = ''] = key.split('/');
        return { namespace, name };
      }),
  );
  const informers: SiteInformers = {
    sites,
    benches,
    // Every Secret's metadata: a Secret the site names may be created later by someone else.
    secrets: b.watches<Secret>(KINDS.Secret, byIndex(SECRETS_INDEX), { metadataOnly: true }),
    jobs: b.owns(KINDS.Job),
    ingresses: b.owns<Ingress>(KINDS.Ingress),
    backups: b.watches<SiteBackup>({ apiVersion: API_VERSION, kind: KIND.SiteBackup }, () => []),
  };

  let mariadb: MariaDBInformers | undefined;
  const kind = (k: string) => ({ apiVersion: MARIADB_API_VERSION, kind: k });
  const jobs = new JobRunner(client, informers.jobs);
  const migrations = new MigrationSlots();
  // What is remembered per object goes with the object.
  sites.addEventHandler({
    delete: (site) => {
      jobs.forgetOwner(site.metadata.uid);
    },
  });
  benches.addEventHandler({
    delete: (bench) => {
      migrations.forget(`${bench.metadata.namespace}/${bench.metadata.name}`);
    },
  });
  const reconciler = new SiteReconciler({
    client,
    informers,
    events,
    jobs,
    secretKeys: new SecretKeys(client, informers.secrets),
    migrations,
    defaults: () => operatorDefaults(config, client),
    mariadb: () =>
      // Created only once discovery lists the MariaDB Operator: an informer on a missing kind
      // never syncs. A shared MariaDB may live in another namespace (with its owner's consent).
      (mariadb ??= {
        mariadbs: b.watches<MariaDBObject>(kind('MariaDB'), byIndex(MARIADB_INDEX), {
          allNamespaces: true,
        }),
        databases: b.owns<MariaDBObject>(kind('Database')),
        users: b.owns<MariaDBObject>(kind('User')),
        grants: b.owns<MariaDBObject>(kind('Grant')),
      }),
  });
  const concurrency = (): number =>
    siteConcurrency(config.config.maxConcurrentSiteReconciles, benches.list());
  const controller = b.complete((req, rc) => reconciler.reconcile(req, rc), {
    maxConcurrentReconciles: concurrency(),
  });
  // The site gauges (phase, Ready, failed migration), read from the cache at each scrape.
  exportSiteMetrics({ list: () => sites.list(), controller });
  const resize = (): void => {
    const want = concurrency();
    if (want !== controller.maxConcurrentReconciles) controller.setMaxConcurrentReconciles(want);
  };
  benches.addEventHandler({ add: resize, update: resize, delete: resize });
  // A migrate Job that ends frees a slot of its bench: the sites waiting for one look again.
  // A SiteJob's Job that ends may have migrated its site (status.migratedImage).
  const jobEnded = (job: JobObject): void => {
    const { bench, component, site } = job.metadata.labels ?? {};
    const namespace = job.metadata.namespace ?? '';
    if (component === 'sitejob' && site !== undefined)
      controller.enqueue({ namespace, name: site });
    if (component !== 'site-migrate' || bench === undefined) return;
    for (const key of sitesOfBench(sites, namespace, bench)) {
      const [ns = '', name = ''] = key.split('/');
      controller.enqueue({ namespace: ns, name });
    }
  };
  informers.jobs.addEventHandler({
    update: (before, after) => {
      if (!jobFinished(before) && jobFinished(after)) jobEnded(after);
    },
    delete: jobEnded,
  });

  config.subscribe((_c, changed) => {
    if (changed.includes('maxConcurrentSiteReconciles')) resize();
    if (changed.some((k) => DEFAULT_KEYS.includes(k))) {
      for (const site of sites.list()) controller.enqueue(site.metadata);
    }
  });
  return controller;
}
