// The status subresource of each kind stores a full status as the controllers will write it
// (typed with our status types): nothing is pruned, and the spec is untouched by a status write.
import { before, describe, it } from 'node:test';
import { applyOurCrds, createTestNamespace } from '../../harness/namespace.ts';
import { kubectl } from '../../harness/kubectl.ts';
import { MANIFESTS, loadManifest } from '../../../src/dev/guide/guide.ts';
import type {
  Condition,
  FrappeBenchStatus,
  FrappeSiteStatus,
  SiteBackupStatus,
  SiteJobStatus,
} from '../../../src/api/v1alpha1/index.ts';
import { assertContains, getObject, submit } from './support.ts';

const NOW = '2026-01-02T02:00:00Z';
const ready: Condition = {
  type: 'Ready',
  status: 'True',
  observedGeneration: 1,
  lastTransitionTime: NOW,
  reason: 'Ready',
  message: 'everything is available',
};

const bench: FrappeBenchStatus = {
  phase: 'Ready',
  observedGeneration: 1,
  conditions: [ready],
  image: 'docker.io/frappe/erpnext:v15.1.0',
  initializedImage: 'docker.io/frappe/erpnext:v15.1.0',
  benchId: 'ns-compliance-bench',
  apps: [{ name: 'frappe', version: '15.1.0' }, { name: 'erpnext' }],
  installedApps: ['frappe', 'erpnext'],
  siteCount: 2,
  componentScaling: {
    gunicorn: {
      mode: 'autoscaled',
      provider: 'hpa',
      currentReplicas: 3,
      desiredReplicas: 3,
      providerManaged: true,
    },
    scheduler: {
      mode: 'static',
      provider: '',
      currentReplicas: 1,
      desiredReplicas: 1,
      providerManaged: false,
    },
  },
};

const site: FrappeSiteStatus = {
  phase: 'Restoring',
  observedGeneration: 1,
  conditions: [{ ...ready, type: 'Restored', status: 'False', reason: 'RestoreRunning' }],
  siteURL: 'http://site.example.com',
  resolvedDomain: 'site.example.com',
  domainSource: 'sitename-default',
  database: {
    provider: 'mariadb',
    mode: 'shared',
    host: 'frappe-mariadb.ns.svc.cluster.local',
    port: 3306,
    name: '_0123abcd_site_example_com',
    user: '_0123abcd_site_example_com',
    secretName: 'recovered-site-db-password',
  },
  databaseName: '_0123abcd_site_example_com',
  databaseCredentialsSecret: 'recovered-site-db-password',
  installedApps: ['frappe'],
  migratedImage: 'docker.io/frappe/erpnext:v15.1.0',
  restore: {
    source: 's3://bucket/backup.sql.gz',
    startTime: NOW,
    jobName: 'recovered-site-restore',
  },
  adminPasswordSecretVersion: '12345',
};

const backup: SiteBackupStatus = {
  phase: 'Scheduled',
  observedGeneration: 1,
  conditions: [ready],
  site: 'prod-site',
  cronJobName: 'daily-backup-backup',
  lastBackupJob: 'daily-backup-backup-29000000',
  lastScheduleTime: NOW,
  lastSuccessfulBackup: NOW,
  lastBackupLocation: 's3://frappe-backups/production/prod-site/20260102T020000Z/',
  recentBackups: [
    {
      jobName: 'daily-backup-backup-29000000',
      startTime: NOW,
      completionTime: NOW,
      state: 'Succeeded',
      location: 's3://frappe-backups/production/prod-site/20260102T020000Z/',
      sizeBytes: 123456789,
      message: '',
    },
  ],
  lastRetentionRun: NOW,
  retainedSets: 30,
  prunedSets: 1,
};

const job: SiteJobStatus = {
  phase: 'Failed',
  observedGeneration: 1,
  conditions: [{ ...ready, type: 'Degraded', reason: 'JobFailed' }],
  jobName: 'migrate-prod-site-job',
  startTime: NOW,
  completionTime: NOW,
  message: 'Job migrate-prod-site-job failed: BackoffLimitExceeded',
  backup: { location: 's3://b/x/', sizeBytes: 1 },
};

const CASES = [
  { file: 'compliance-bench.yaml', resource: 'frappebench', status: bench },
  { file: 'recovered-site.yaml', resource: 'frappesite', status: site },
  { file: 'daily-backup.yaml', resource: 'sitebackup', status: backup },
  { file: 'migrate-prod-site.yaml', resource: 'sitejob', status: job },
];

describe('status subresource', () => {
  before(() => applyOurCrds());

  for (const c of CASES) {
    it(`stores a full ${c.resource} status unpruned`, async () => {
      const ns = await createTestNamespace('api-status');
      const fixture = MANIFESTS.find((m) => m.file === c.file);
      if (fixture === undefined) throw new Error(`no fixture ${c.file}`);
      const obj = await loadManifest(fixture);
      await submit('apply', obj, ns);
      const name = (obj.metadata as { name: string }).name;
      await kubectl(
        [
          'patch',
          c.resource,
          name,
          '--subresource=status',
          '--type=merge',
          '-p',
          JSON.stringify({ status: c.status }),
        ],
        { namespace: ns },
      );
      const stored = await getObject(c.resource, name, ns);
      assertContains(stored.status, c.status);
      assertContains(stored.spec, obj.spec);
    });
  }
});
