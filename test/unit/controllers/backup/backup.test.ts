// The SiteBackup's pure parts: where sets go (S3 and PVC), which site a SiteBackup names
// (`siteRef`, or `site` by siteName then name, ambiguity), the site's known destination, when
// retention is due, the CronJob and the backup pod (restricted, credentials only in `upload`, a
// PVC destination on the bench's own claim), the bounded run history and the agent's report.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SiteBackupDefaults } from '../../../../src/api/v1alpha1/defaulting.ts';
import {
  validateSiteBackup,
  type BackupRun,
  type FrappeSite,
  type SiteBackup,
} from '../../../../src/api/v1alpha1/index.ts';
import { backupCronJob, oneShotRequest } from '../../../../src/controllers/backup/children.ts';
import {
  backupTarget,
  knownDestination,
  matchSite,
} from '../../../../src/controllers/backup/destination.ts';
import { resolveBackup } from '../../../../src/controllers/backup/plan.ts';
import { parseBackupReport } from '../../../../src/controllers/backup/pod.ts';
import {
  RETENTION_INTERVAL_MS,
  RETENTION_RETRY_MS,
  retentionDue,
} from '../../../../src/controllers/backup/retention.ts';
import { mergeRuns } from '../../../../src/controllers/backup/status.ts';
import type { Stored } from '../../../../src/kube/informer.ts';
import { restrictedViolations } from '../pss.ts';
import { NAMESPACE, planOf, podOf, prodSite, site } from '../site/fixtures.ts';

function sitebackup(
  name: string,
  spec: Record<string, unknown>,
  status?: object,
): Stored<SiteBackup> {
  const obj = {
    apiVersion: 'vyogo.tech/v1alpha1',
    kind: 'SiteBackup',
    metadata: {
      name,
      namespace: NAMESPACE,
      uid: `uid-${name}`,
      resourceVersion: '1',
      generation: 1,
    },
    spec,
    ...(status === undefined ? {} : { status }),
  };
  const v = validateSiteBackup(obj);
  assert.ok(v.ok, JSON.stringify(v));
  return SiteBackupDefaults.apply(obj as Stored<SiteBackup>) as Stored<SiteBackup>;
}

const S3_DEST = {
  type: 's3',
  config: { bucket: 'frappe-backups', prefix: 'prod/', credentialsSecret: 'aws-s3-credentials' },
};

describe('backup destinations', () => {
  it('puts S3 sets under <prefix>/<namespace>/<site>/ and PVC sets on the bench claim', () => {
    const s3 = backupTarget(
      S3_DEST as SiteBackup['spec']['destination'] & object,
      'ns',
      'acme',
      'b',
    );
    assert.equal(s3.url, 's3://frappe-backups/prod/ns/acme/');
    assert.ok(s3.type === 's3');
    assert.equal(s3.s3.region, 'us-east-1');
    const pvc = backupTarget({ type: 'pvc' }, 'ns', 'acme', 'prod-bench');
    assert.equal(pvc.url, 'pvc://prod-bench-sites/backups/ns/acme/');
    const own = backupTarget(
      { type: 'pvc', config: { claimName: 'vault', prefix: 'x/y' } },
      'ns',
      'a',
      'b',
    );
    assert.equal(own.url, 'pvc://vault/x/y/ns/a/');
  });

  it('finds the site by siteRef, or `site` by siteName then name; two siteNames are ambiguous', () => {
    const a = site({ siteName: 'erp.example.com' }, { name: 'a' }) as FrappeSite;
    const b = site({ siteName: 'b.example.com' }, { name: 'b' }) as FrappeSite;
    const c = site({ siteName: 'erp.example.com' }, { name: 'c' }) as FrappeSite;
    assert.deepEqual(matchSite({ spec: { siteRef: { name: 'b' } } }, [a, b]), { found: b });
    assert.deepEqual(matchSite({ spec: { site: 'erp.example.com' } }, [a, b]), { found: a });
    assert.deepEqual(matchSite({ spec: { site: 'b' } }, [a, b]), { found: b });
    assert.deepEqual(matchSite({ spec: { site: 'nope' } }, [a, b]), { missing: 'nope' });
    assert.deepEqual(matchSite({ spec: { site: 'erp.example.com' } }, [a, b, c]), {
      ambiguous: 'erp.example.com',
      candidates: ['a', 'c'],
    });
  });

  it("takes the known destination from the site's SiteBackup with the newest success, ties by name", () => {
    const at = (name: string, when: string | undefined, siteName = 'prod-site') =>
      sitebackup(
        name,
        { siteRef: { name: siteName }, destination: S3_DEST },
        {
          site: siteName,
          ...(when === undefined ? {} : { lastSuccessfulBackup: when }),
        },
      );
    const older = at('b-older', '2026-01-01T02:00:00Z');
    const newer = at('z-newer', '2026-01-02T02:00:00Z');
    const tie = at('a-tie', '2026-01-02T02:00:00Z');
    const never = at('never', undefined);
    const other = at('other', '2026-02-01T02:00:00Z', 'other-site');
    assert.equal(
      knownDestination([older, newer, never, other], 'prod-site')?.metadata.name,
      'z-newer',
    );
    assert.equal(knownDestination([older, newer, tie], 'prod-site')?.metadata.name, 'a-tie');
    assert.equal(knownDestination([never, other], 'prod-site'), undefined);
  });
});

describe('retention schedule', () => {
  const now = Date.parse('2026-01-02T12:00:00Z');
  const base = {
    lastRun: '2026-01-02T10:00:00Z',
    newestSuccess: '2026-01-02T02:00:00Z',
    policyChanged: false,
    failedAt: undefined,
  };
  it('runs first, after a new success, on a policy change, and every 6 h', () => {
    assert.deepEqual(retentionDue({ ...base, lastRun: undefined }, now), { due: true });
    assert.deepEqual(retentionDue({ ...base, newestSuccess: '2026-01-02T11:00:00Z' }, now), {
      due: true,
    });
    assert.deepEqual(retentionDue({ ...base, policyChanged: true }, now), { due: true });
    assert.deepEqual(retentionDue(base, now), { inMs: RETENTION_INTERVAL_MS - 2 * 3_600_000 });
    assert.deepEqual(retentionDue(base, now + 4 * 3_600_000), { due: true });
  });
  it('tries a failed pass again after 5 minutes', () => {
    assert.deepEqual(retentionDue({ ...base, failedAt: now - 60_000 }, now), {
      inMs: RETENTION_RETRY_MS - 60_000,
    });
    assert.deepEqual(retentionDue({ ...base, failedAt: now - RETENTION_RETRY_MS }, now), {
      due: true,
    });
  });
});

describe('the backup CronJob and Job', () => {
  const sitePlan = planOf(prodSite());
  const ready = { ...sitePlan, pod: podOf(sitePlan) };
  const planFor = (spec: Record<string, unknown>) => {
    const b = sitebackup('daily-backup', { siteRef: { name: 'prod-site' }, ...spec });
    return resolveBackup(b, { found: sitePlan.site }, sitePlan);
  };

  it('schedules the guide daily-backup: Forbid, deadline, history 3/3, zone, agent upload', () => {
    const cron = backupCronJob(
      planFor({ schedule: '0 2 * * *', retention: { days: 30, count: 90 }, destination: S3_DEST }),
      ready,
    );
    assert.equal(cron.metadata.name, 'daily-backup-backup');
    assert.equal(cron.metadata.ownerReferences?.[0]?.kind, 'SiteBackup');
    assert.deepEqual(
      {
        schedule: cron.spec.schedule,
        timeZone: cron.spec.timeZone,
        suspend: cron.spec.suspend,
        concurrencyPolicy: cron.spec.concurrencyPolicy,
        startingDeadlineSeconds: cron.spec.startingDeadlineSeconds,
        successfulJobsHistoryLimit: cron.spec.successfulJobsHistoryLimit,
        failedJobsHistoryLimit: cron.spec.failedJobsHistoryLimit,
        backoffLimit: cron.spec.jobTemplate.spec?.backoffLimit,
      },
      {
        schedule: '0 2 * * *',
        timeZone: 'Etc/UTC',
        suspend: false,
        concurrencyPolicy: 'Forbid',
        startingDeadlineSeconds: 3600,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
        backoffLimit: 1,
      },
    );
    const pod = cron.spec.jobTemplate.spec?.template.spec;
    assert.ok(pod !== undefined);
    assert.deepEqual(restrictedViolations(pod), []);
    assert.deepEqual(
      pod.initContainers?.map((c) => [c.name, c.command]),
      [['backup', ['bench', '--site', sitePlan.siteName, 'backup', '--backup-path', '/backup']]],
    );
    const upload = pod.containers[0];
    assert.equal(upload?.name, 'upload');
    assert.deepEqual(upload.command, ['frappe-operator']);
    assert.equal(upload.image, sitePlan.operatorImage);
    assert.ok(
      upload.args?.includes('--destination=s3://frappe-backups/prod/production/prod-site/'),
    );
    assert.ok(upload.args?.includes('--sitebackup=daily-backup'));
    assert.ok(upload.args?.includes('--credentials-dir=/var/run/secrets/frappe/s3'));
    // The operator applies retention (S3 with a credentials Secret): none on the agent's flags.
    assert.ok(!upload.args?.some((a) => a.startsWith('--keep-')));
    // Only the upload container mounts the credentials.
    const mounts = (c: { volumeMounts?: { name: string }[] } | undefined) =>
      (c?.volumeMounts ?? []).map((m) => m.name);
    assert.ok(mounts(upload).includes('s3-credentials'));
    assert.ok(!mounts(pod.initContainers[0]).includes('s3-credentials'));
    for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
      assert.ok(
        c.resources?.requests?.cpu !== undefined && c.resources.limits?.memory !== undefined,
      );
    }
  });

  it('has the agent apply retention on a PVC, mounting the bench claim root once', () => {
    const cron = backupCronJob(
      planFor({ schedule: '@daily', retention: { count: 7 }, destination: { type: 'pvc' } }),
      ready,
    );
    const pod = cron.spec.jobTemplate.spec?.template.spec;
    const upload = pod?.containers[0];
    assert.ok(upload !== undefined);
    assert.ok(upload.args?.includes('--keep-count=7'));
    assert.ok(upload.args?.includes('--pvc-mount=/destination'));
    assert.ok(
      upload.args?.includes(
        `--destination=pvc://${sitePlan.benchName}-sites/backups/production/prod-site/`,
      ),
    );
    assert.deepEqual(
      upload.volumeMounts?.find((m) => m.mountPath === '/destination'),
      { name: 'sites', mountPath: '/destination' },
    );
    assert.equal(pod?.volumes?.filter((v) => v.persistentVolumeClaim !== undefined).length, 1);
  });

  it('without a destination runs only bench backup, once', () => {
    const req = oneShotRequest(planFor({ withFiles: true }), ready);
    assert.equal(req.job.spec.backoffLimit, 1);
    assert.equal(req.container, 'backup');
    assert.deepEqual(
      req.job.spec.template.spec?.containers.map((c) => [c.name, c.command]),
      [['backup', ['bench', '--site', sitePlan.siteName, 'backup', '--with-files']]],
    );
  });
});

describe('backup runs and reports', () => {
  it('keeps the 10 newest runs, newest first, a run replaced by its Job name', () => {
    const run = (i: number, state: BackupRun['state'] = 'Succeeded'): BackupRun => ({
      jobName: `r-${String(i).padStart(2, '0')}`,
      startTime: `2026-01-${String(i).padStart(2, '0')}T02:00:00Z`,
      state,
    });
    const previous = Array.from({ length: 10 }, (_, i) => run(i + 1));
    const merged = mergeRuns(previous, [run(10, 'Failed'), run(11, 'Running')]);
    assert.equal(merged.length, 10);
    assert.deepEqual(
      merged.slice(0, 2).map((r) => [r.jobName, r.state]),
      [
        ['r-11', 'Running'],
        ['r-10', 'Failed'],
      ],
    );
    assert.equal(merged.at(-1)?.jobName, 'r-02');
  });

  it("reads the agent's report, its retention and failures", () => {
    assert.deepEqual(
      parseBackupReport(
        '{"location":"s3://b/p/","sizeBytes":12,"retention":{"retained":2,"pruned":1}}',
      ),
      {
        ok: true,
        value: { location: 's3://b/p/', sizeBytes: 12, retention: { retained: 2, pruned: 1 } },
      },
    );
    const failed = parseBackupReport(
      '{"error":"NoSuchBucket","message":"bucket x does not exist"}',
    );
    assert.deepEqual(failed, {
      ok: false,
      reason: 'NoSuchBucket',
      message: 'bucket x does not exist',
    });
  });
});
