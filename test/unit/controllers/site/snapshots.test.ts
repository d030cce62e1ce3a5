// Golden files of the site's children (API.md §3.3) for fixed inputs: the Ingress (plain, TLS
// with an issuer, user annotations winning), the MariaDB Operator objects (shared, dedicated)
// and the Job of every site Job request (init, restore with its download init container,
// migrate, admin-password, delete under Retain and Delete, with the external database dropped).
// The Python programs the Jobs run are shown by name (they are tested on their own in
// scripts.test.ts), so that these files show what the builders decide.
// `node --test --test-update-snapshots` rewrites them after a deliberate change; review the diff
// like code.
import { test } from 'node:test';
import YAML from 'yaml';
import { databaseObjects, dedicatedMariaDB } from '../../../../src/controllers/site/database.ts';
import { siteIngress } from '../../../../src/controllers/site/ingress.ts';
import {
  adminPasswordRequest,
  deleteRequest,
  migrateRequest,
  restoreRequest,
  siteInitRequest,
  type SiteReport,
} from '../../../../src/controllers/site/jobs.ts';
import {
  SITE_ADMIN_PASSWORD_SCRIPT,
  SITE_DELETE_SCRIPT,
  SITE_INIT_SCRIPT,
  SITE_MIGRATE_SCRIPT,
  SITE_RESTORE_SCRIPT,
} from '../../../../src/controllers/site/scripts.ts';
import type { Job } from '../../../../src/controllers/shared/objects.ts';
import type { JobRequest } from '../../../../src/runtime/jobs.ts';
import { operatorDefaults } from '../defaults.ts';
import {
  endpointOf,
  planOf,
  podOf,
  prodSite,
  readyBench,
  recoveredSite,
  site,
} from './fixtures.ts';

const SCRIPTS = new Map([
  [SITE_INIT_SCRIPT, 'SITE_INIT_SCRIPT'],
  [SITE_RESTORE_SCRIPT, 'SITE_RESTORE_SCRIPT'],
  [SITE_MIGRATE_SCRIPT, 'SITE_MIGRATE_SCRIPT'],
  [SITE_ADMIN_PASSWORD_SCRIPT, 'SITE_ADMIN_PASSWORD_SCRIPT'],
  [SITE_DELETE_SCRIPT, 'SITE_DELETE_SCRIPT'],
]);

/** `value` with each site script replaced by `<its name in scripts.ts>`. */
function scriptsByName(value: unknown): unknown {
  if (typeof value === 'string') {
    const name = SCRIPTS.get(value);
    return name === undefined ? value : `<${name} of scripts.ts>`;
  }
  if (Array.isArray(value)) return value.map(scriptsByName);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scriptsByName(v)]));
  }
  return value;
}

const yaml = (value: unknown): string =>
  YAML.stringify(scriptsByName(value), { lineWidth: 0, aliasDuplicateObjects: false });
const serializers = [yaml];

/** What a Job request asks of the runner, and its Job (the runner adds the inputs hash). */
const requestView = (req: JobRequest<SiteReport, Job>) => ({
  container: req.container,
  retry: req.retry ?? null,
  job: req.job,
});

const EXTERNAL = {
  dbConfig: { connectionSecretRef: { name: 'acme-db' }, host: 'db.example.com', port: 3307 },
};
/** What the database step found for EXTERNAL: dbConfig's host and port, the Secret's database. */
const EXTERNAL_ENDPOINT = { host: 'db.example.com', port: 3307, name: 'acme' };

test('Ingress: plain HTTP, the cluster default class', (t) => {
  t.assert.snapshot(siteIngress(planOf(site())), { serializers });
});

test('Ingress: TLS with the operator issuer and class (prod-site)', (t) => {
  const defaults = operatorDefaults({
    clusterIssuer: 'letsencrypt-prod',
    ingressClassName: 'nginx',
  });
  t.assert.snapshot(siteIngress(planOf(prodSite(), { defaults })), { serializers });
});

test("Ingress: the user's annotations win over the operator's; domain from the bench suffix", (t) => {
  const s = site({
    siteName: 'acme',
    tls: { enabled: true, issuer: 'internal-ca', secretName: 'acme-cert' },
    ingress: {
      className: 'traefik',
      annotations: {
        'nginx.ingress.kubernetes.io/proxy-body-size': '1g',
        'cert-manager.io/cluster-issuer': 'other-ca',
        'example.com/team': 'erp',
      },
    },
  });
  const bench = readyBench({ domainConfig: { suffix: '.erp.example.com' } });
  t.assert.snapshot(siteIngress(planOf(s, { bench })), { serializers });
});

test('Database, User and Grant on a shared MariaDB of another namespace (prod-site)', (t) => {
  t.assert.snapshot(databaseObjects(planOf(prodSite())), { serializers });
});

test('dedicated MariaDB, then its Database, User and Grant (deletionPolicy Delete)', (t) => {
  const plan = planOf(
    site({
      deletionPolicy: 'Delete',
      dbConfig: { mode: 'dedicated', storageSize: '20Gi', storageClassName: 'fast' },
    }),
  );
  t.assert.snapshot([dedicatedMariaDB(plan), ...databaseObjects(plan)], { serializers });
});

test('site-init Job (prod-site: shared MariaDB, its own admin Secret)', (t) => {
  const plan = planOf(prodSite());
  t.assert.snapshot(requestView(siteInitRequest(plan, podOf(plan), endpointOf(plan), '1234')), {
    serializers,
  });
});

test('site-init Job of an external database, adopting an existing site (skipInit)', (t) => {
  const plan = planOf(site({ ...EXTERNAL, skipInit: true, apps: ['erpnext', 'hrms'] }));
  t.assert.snapshot(requestView(siteInitRequest(plan, podOf(plan), EXTERNAL_ENDPOINT, '')), {
    serializers,
  });
});

test('restore Job (recovered-site of the guide): download init container, then restore', async (t) => {
  const plan = planOf(await recoveredSite());
  const endpoint = endpointOf(plan, 'frappe-mariadb.production.svc.cluster.local');
  t.assert.snapshot(
    requestView(
      restoreRequest(plan, podOf(plan), endpoint, 'ghcr.io/example/frappe-operator:test', '17'),
    ),
    { serializers },
  );
});

test('restore Job from a private S3-compatible store with credentials', async (t) => {
  const s = await recoveredSite();
  const plan = planOf({
    ...s,
    spec: {
      ...s.spec,
      apps: ['erpnext'],
      restoreFrom: {
        backup: 's3://backups/production/prod-site/20250101T020000Z/',
        privateFiles: 's3://backups/production/prod-site/20250101T020000Z/private-files.tar',
        credentialsSecret: 'backup-s3',
        endpoint: 'https://minio.example.com',
        region: 'eu-west-1',
        forcePathStyle: true,
      },
    },
  });
  const req = restoreRequest(plan, podOf(plan), endpointOf(plan), 'operator:test', '17');
  t.assert.snapshot(req.job.spec.template.spec, { serializers });
});

test('migrate Job (prod-site)', (t) => {
  const plan = planOf(prodSite());
  t.assert.snapshot(requestView(migrateRequest(plan, podOf(plan))), { serializers });
});

test('admin-password Job (prod-site)', (t) => {
  const plan = planOf(prodSite());
  t.assert.snapshot(requestView(adminPasswordRequest(plan, podOf(plan), '1234')), {
    serializers,
  });
});

test('delete Job under Retain: unlink the domain, keep the site', (t) => {
  const plan = planOf(site({ siteName: 'acme', domain: 'shop.example.org' }));
  t.assert.snapshot(requestView(deleteRequest(plan, podOf(plan), undefined, true)), {
    serializers,
  });
});

test('delete Job under Delete on MariaDB: remove the site, the MariaDB Operator drops the database', (t) => {
  const plan = planOf(site({ deletionPolicy: 'Delete' }));
  t.assert.snapshot(requestView(deleteRequest(plan, podOf(plan), undefined, false)), {
    serializers,
  });
});

test("delete Job under Delete on an external database: drop it with the site's own user", (t) => {
  const plan = planOf(site({ ...EXTERNAL, deletionPolicy: 'Delete' }));
  t.assert.snapshot(requestView(deleteRequest(plan, podOf(plan), EXTERNAL_ENDPOINT, false)), {
    serializers,
  });
});

test('a site named like its bench: its Jobs are <site>-site-<purpose>', (t) => {
  const plan = planOf(site({}, { name: 'prod-bench' }));
  const pod = podOf(plan);
  t.assert.snapshot(
    [
      siteInitRequest(plan, pod, endpointOf(plan), ''),
      migrateRequest(plan, pod),
      adminPasswordRequest(plan, pod, '1'),
      deleteRequest(plan, pod, undefined, false),
    ].map((r) => `${r.job.metadata.name ?? ''} (${r.job.metadata.labels?.component ?? ''})`),
    { serializers },
  );
});
