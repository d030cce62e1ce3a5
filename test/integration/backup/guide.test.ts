// SiteBackup end to end on a real control plane and a real S3 server (Versity Gateway):
//
// - the Operations Guide's `daily-backup`, applied unchanged but for the namespace, makes its
//   CronJob, and the guide's `kubectl patch` of the schedule changes that CronJob in place;
// - a scheduled run's `upload` container — `frappe-operator backup-agent upload` with the flags,
//   Secret files and emptyDir the CronJob's pod template has — runs for real (the helper of
//   test/harness/run-container.ts) over what `bench backup` would have written, puts a complete
//   set on the S3 server, and its report (through the pod's termination message) reaches the
//   SiteBackup's status; retention (count, then days) then prunes exactly the expected sets of
//   the bucket, never the newest and never another SiteBackup's or a SiteJob's;
// - a backup SiteJob uploads to that known destination, its manifest naming the SiteJob;
// - a one-shot backup without destination runs `bench backup` once; one whose upload fails ends
//   Failed with the agent's reason; `site` names a site by its siteName;
// - a site restored with `restoreFrom` from the set the backup made reaches Restored=True, its
//   download container run for real, every checksum verified.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { SiteBackup, SiteJob } from '../../../src/api/v1alpha1/index.ts';
import type { CronJob, Job } from '../../../src/controllers/shared/objects.ts';
import type { PodSpec } from '../../../src/controllers/shared/k8s.ts';
import type { KubeObject } from '../../../src/kube/client.ts';
import { loadManifest, MANIFESTS } from '../../../src/dev/guide/guide.ts';
import { MANIFEST_NAME, serializeManifest } from '../../../src/agent/manifest.ts';
import { eventually } from '../../harness/eventually.ts';
import { kubectl } from '../../harness/kubectl.ts';
import { PodRun } from '../../harness/run-container.ts';
import { startTestS3, type TestS3 } from '../../harness/s3.ts';
import { endPods } from '../../harness/stages.ts';
import { fabricateBackup, listKeys, putObject, sha256Of } from '../agent/support.ts';
import {
  apply,
  assertNoSecretValueShown,
  mariadb,
  readyBench,
  site,
  useSiteOperator,
  waitForSite,
} from '../site/support.ts';

// (prefix `prod`: sets go to s3://frappe-backups/prod/<namespace>/prod-site/<timestamp>/)
const BUCKET = 'frappe-backups';
const CREDENTIALS = 'aws-s3-credentials';
const API = 'vyogo.tech/v1alpha1';
const GUIDE_DIR = fileURLToPath(new URL('../../../src/dev/guide/', import.meta.url));

async function guideManifest<T>(file: string): Promise<T> {
  const fixture = MANIFESTS.find((m) => m.file === file);
  assert.ok(fixture !== undefined, file);
  const obj = (await loadManifest(fixture)) as unknown as T & { metadata: object };
  // The guide's namespace is `production`; each test has its own.
  return { ...obj, metadata: { ...obj.metadata, namespace: undefined } };
}

describe('SiteBackup (Operations Guide) on a real S3 server', () => {
  const env = useSiteOperator('sitebackup');
  let s3: TestS3;
  const backupOf = (name: string) => env.client.get<SiteBackup>(API, 'SiteBackup', env.ns, name);
  const waitBackup = (name: string, ok: (b: SiteBackup) => boolean, what: string) =>
    eventually(
      async () => {
        const b = await backupOf(name);
        if (b === undefined || !ok(b)) {
          throw new Error(`SiteBackup ${name}: ${JSON.stringify(b?.status)}`);
        }
        return b;
      },
      { timeout: 90_000, interval: 250, message: `SiteBackup ${name}: ${what}` },
    );
  const condition = (b: SiteBackup, type: string) =>
    b.status?.conditions?.find((c) => c.type === type);
  /** Object `name` of `kind` in the test's namespace, once it exists. */
  const created = <T extends KubeObject>(apiVersion: string, kind: string, name: string) =>
    eventually(
      async () => {
        const o = await env.client.get<T>(apiVersion, kind, env.ns, name);
        if (o === undefined) throw new Error(`no ${kind} ${name} yet`);
        return o;
      },
      { timeout: 90_000, interval: 250, message: `${kind} ${name}` },
    );

  before(async () => {
    s3 = await startTestS3();
    await s3.createBucket(BUCKET);
    await apply(mariadb('frappe-mariadb'), env.ns);
    await readyBench(env.client, env.ns, 'prod-bench');
    await apply(
      site('prod-site', 'prod-bench', { siteName: 'erp.example.com', apps: ['erpnext'] }),
      env.ns,
    );
    await waitForSite(env.client, env.ns, 'prod-site', 'Ready', 'True');
    await s3.createCredentialsSecret(env.ns, CREDENTIALS);
  });

  after(async () => {
    await s3.stop();
  });

  it('makes the guide daily-backup CronJob and the guide patch changes it in place', async () => {
    await apply(await guideManifest<SiteBackup>('daily-backup.yaml'), env.ns);
    const cron = await created<CronJob>('batch/v1', 'CronJob', 'daily-backup-backup');
    assert.equal(cron.spec.schedule, '0 2 * * *');
    assert.equal(cron.spec.timeZone, 'Etc/UTC');
    assert.equal(cron.spec.concurrencyPolicy, 'Forbid');
    assert.equal(cron.spec.startingDeadlineSeconds, 3600);
    assert.equal(cron.spec.successfulJobsHistoryLimit, 3);
    assert.equal(cron.spec.failedJobsHistoryLimit, 3);
    assert.equal(cron.spec.suspend, false);
    const pod = cron.spec.jobTemplate.spec?.template.spec;
    assert.deepEqual(pod?.initContainers?.[0]?.command, [
      'bench',
      '--site',
      'erp.example.com',
      'backup',
      '--backup-path',
      '/backup',
    ]);
    const upload = pod.containers[0];
    assert.equal(upload?.name, 'upload');
    assert.ok(
      upload.args?.includes(`--destination=s3://${BUCKET}/${env.ns}/prod-site/`),
      JSON.stringify(upload.args),
    );
    // The credentials reach only the upload container, as files.
    assert.ok(!JSON.stringify(pod.initContainers).includes(CREDENTIALS));
    assert.ok(!JSON.stringify(upload.env ?? []).includes('AWS_'));

    // The guide's patch, as the guide prints it.
    const body = await readFile(join(GUIDE_DIR, 'daily-backup-schedule.patch.json'), 'utf8');
    await kubectl(['patch', 'sitebackup', 'daily-backup', '--type=merge', '-p', body], {
      namespace: env.ns,
    });
    const patched = await eventually(
      async () => {
        const c = await env.client.get<CronJob>(
          'batch/v1',
          'CronJob',
          env.ns,
          'daily-backup-backup',
        );
        if (c?.spec.schedule !== '0 3 * * *') throw new Error(`schedule ${c?.spec.schedule ?? ''}`);
        return c;
      },
      { timeout: 60_000, interval: 250, message: 'CronJob schedule 0 3 * * *' },
    );
    assert.equal(patched.metadata.uid, cron.metadata.uid, 'changed in place, not re-created');
    const b = await waitBackup('daily-backup', (x) => x.status?.phase === 'Scheduled', 'Scheduled');
    assert.equal(b.status?.site, 'prod-site');
    assert.equal(b.status.cronJobName, 'daily-backup-backup');
    const listed = await kubectl(['get', 'sitebackup'], { namespace: env.ns });
    assert.match(listed.stdout, /daily-backup\s+prod-site\s+0 3 \* \* \*\s+Scheduled/);
    // The guide's bucket is on AWS, which this machine cannot reach: retention says why.
    const r = await waitBackup(
      'daily-backup',
      (x) => condition(x, 'RetentionApplied')?.status === 'False',
      'RetentionApplied=False',
    );
    assert.equal(condition(r, 'RetentionApplied')?.reason, 'Failed');
    assert.match(condition(r, 'RetentionApplied')?.message ?? '', /^retention failed \(\w+\)/);
    assert.equal(condition(r, 'Degraded')?.reason, 'RetentionFailed');
    assert.equal(condition(r, 'Ready')?.status, 'True', 'a retention failure leaves Ready alone');
    await kubectl(['delete', 'sitebackup', 'daily-backup', '--wait=true'], { namespace: env.ns });
  });

  /** A SiteBackup `name` of prod-site to the test's S3 server. */
  const toTestS3 = (name: string, spec: Record<string, unknown>) => ({
    apiVersion: API,
    kind: 'SiteBackup',
    metadata: { name },
    spec: {
      siteRef: { name: 'prod-site' },
      destination: {
        type: 's3',
        config: {
          bucket: BUCKET,
          prefix: 'prod',
          endpoint: s3.endpoint,
          region: s3.region,
          forcePathStyle: true,
          credentialsSecret: CREDENTIALS,
        },
      },
      ...spec,
    },
  });

  /** A complete set of `sitebackup` (or a SiteJob's) at `stamp`, written behind the agent's back. */
  async function seedSet(stamp: string, owner: { sitebackup: string } | { sitejob: string }) {
    const dir = `prod/${env.ns}/prod-site/${stamp}/`;
    const data = Buffer.from(`dump of ${stamp}`);
    const name = `${stamp}-erp_example_com-database.sql.gz`;
    await putObject(s3, BUCKET, `${dir}${name}`, data);
    const manifest = {
      version: 1 as const,
      namespace: env.ns,
      site: 'prod-site',
      siteName: 'erp.example.com',
      ...owner,
      startTime: '2025-01-01T00:00:00.000Z',
      completionTime: '2025-01-01T00:01:00.000Z',
      apps: ['frappe', 'erpnext'],
      files: [{ name, sizeBytes: data.length, sha256: sha256Of(data) }],
    };
    await putObject(s3, BUCKET, `${dir}${MANIFEST_NAME}`, Buffer.from(serializeManifest(manifest)));
  }

  const sets = async (): Promise<string[]> =>
    [
      ...new Set(
        (await listKeys(s3, BUCKET, `prod/${env.ns}/prod-site/`)).map((k) => k.key.split('/')[3]),
      ),
    ].sort() as string[];

  let setUrl = '';
  let setFiles: Record<string, string> = {};

  it('uploads a scheduled run for real, shows it in status and prunes the bucket', async () => {
    await seedSet('20250101T020000Z', { sitebackup: 'nightly' });
    await seedSet('20250601T020000Z', { sitebackup: 'nightly' });
    await seedSet('20250301T020000Z', { sitebackup: 'other-backup' });
    await seedSet('20250201T020000Z', { sitejob: 'manual-backup-1' });
    await apply(
      toTestS3('nightly', { schedule: '0 1 * * *', withFiles: true, retention: { count: 2 } }),
      env.ns,
    );
    const cron = await created<CronJob>('batch/v1', 'CronJob', 'nightly-backup');
    const spec = cron.spec.jobTemplate.spec?.template.spec as PodSpec;
    // The pod as the CronJob would start it: `bench backup` (fabricated: kwok runs no
    // containers) writes into the emptyDir, then the upload container runs for real.
    const pod = await PodRun.create(spec, { namespace: env.ns, podName: 'nightly-run-1-local' });
    let message: string;
    try {
      const made = await fabricateBackup(await pod.emptyDir('backup'), {
        siteName: 'erp.example.com',
      });
      setFiles = made.sha256;
      const run = await pod.runContainer('upload');
      assert.equal(run.exitCode, 0, run.stderr);
      message = run.terminationMessage;
      setUrl = String(run.report?.location);
      assert.match(setUrl, new RegExp(`^s3://${BUCKET}/prod/${env.ns}/prod-site/\\d{8}T\\d{6}Z/$`));
      assert.equal(run.report?.sizeBytes, made.sizeBytes);
    } finally {
      await pod.cleanup();
    }
    // The pod of the run ends with what the upload container really reported.
    const unstage = await endPods(env.ns, { jobName: 'nightly-run-1' }, { message });
    try {
      await kubectl(['create', 'job', 'nightly-run-1', '--from=cronjob/nightly-backup'], {
        namespace: env.ns,
      });
      const b = await waitBackup(
        'nightly',
        (x) =>
          x.status?.lastBackupLocation === setUrl &&
          condition(x, 'RetentionApplied')?.reason === 'Pruned',
        'the run in status, retention applied',
      );
      const run = b.status?.recentBackups?.[0];
      assert.equal(run?.jobName, 'nightly-run-1');
      assert.equal(run.state, 'Succeeded');
      assert.equal(run.location, setUrl);
      assert.ok((run.sizeBytes ?? 0) > 0);
      assert.ok(b.status?.lastSuccessfulBackup !== undefined);
      assert.equal(b.status.retainedSets, 2);
      assert.equal(b.status.prunedSets, 1);
      assert.equal(condition(b, 'Ready')?.status, 'True');
    } finally {
      await unstage();
    }
    const newest = setUrl.split('/')[6] ?? '';
    // count 2: the oldest of nightly's three sets went; the other SiteBackup's and the SiteJob's stay.
    assert.deepEqual(await sets(), [
      '20250201T020000Z',
      '20250301T020000Z',
      '20250601T020000Z',
      newest,
    ]);
    // days 30: every nightly set older than 30 days goes, but never the newest.
    await kubectl(
      [
        'patch',
        'sitebackup',
        'nightly',
        '--type=merge',
        '-p',
        '{"spec":{"retention":{"days":30}}}',
      ],
      { namespace: env.ns },
    );
    await eventually(
      async () => {
        const now = await sets();
        if (now.includes('20250601T020000Z')) throw new Error(`sets ${now.join(' ')}`);
        return now;
      },
      { timeout: 60_000, interval: 500, message: 'retention by age' },
    );
    assert.deepEqual(await sets(), ['20250201T020000Z', '20250301T020000Z', newest]);
    const events = await kubectl(
      ['get', 'events.events.k8s.io', '--field-selector', 'regarding.name=nightly', '-o', 'json'],
      { namespace: env.ns },
    );
    assert.match(events.stdout, /BackupSucceeded/);
  });

  it('a backup SiteJob uploads to the known destination, its manifest naming the SiteJob', async () => {
    const sj = await guideManifest<SiteJob>('manual-backup.yaml');
    await apply(sj, env.ns);
    const job = await created<Job>('batch/v1', 'Job', `${sj.metadata.name ?? ''}-job`);
    const spec = job.spec.template.spec;
    assert.deepEqual(spec?.initContainers?.[0]?.command, [
      'bench',
      '--site',
      'erp.example.com',
      'backup',
      '--backup-path',
      '/backup',
      '--with-files',
      '--compress',
    ]);
    const args = spec.containers[0]?.args ?? [];
    assert.ok(
      args.includes(`--destination=s3://${BUCKET}/prod/${env.ns}/prod-site/`),
      args.join(' '),
    );
    assert.ok(args.includes(`--sitejob=${sj.metadata.name ?? ''}`));
    assert.ok(!args.some((a) => a.startsWith('--keep-')), 'no retention for a SiteJob');
  });

  it('a one-shot backup runs once; a failed upload ends Failed with the reason', async () => {
    // `site` names the site by its siteName; no destination: Frappe's own directory.
    await apply(
      {
        apiVersion: API,
        kind: 'SiteBackup',
        metadata: { name: 'once' },
        spec: { site: 'erp.example.com' },
      },
      env.ns,
    );
    const once = await waitBackup('once', (x) => x.status?.phase === 'Succeeded', 'Succeeded');
    assert.equal(once.status?.site, 'prod-site');
    const job = await env.client.get<Job>('batch/v1', 'Job', env.ns, 'once-backup');
    assert.equal(job?.spec.backoffLimit, 1);
    assert.deepEqual(
      job.spec.template.spec?.containers.map((c) => [c.name, c.command]),
      [['backup', ['bench', '--site', 'erp.example.com', 'backup']]],
    );

    const unstage = await endPods(
      env.ns,
      { jobName: 'broken-backup' },
      {
        exitCode: 1,
        message: JSON.stringify({ error: 'NoSuchBucket', message: 'bucket nope does not exist' }),
      },
    );
    try {
      await apply(toTestS3('broken', {}), env.ns);
      const b = await waitBackup('broken', (x) => x.status?.phase === 'Failed', 'Failed');
      assert.match(b.status?.recentBackups?.[0]?.message ?? '', /NoSuchBucket: bucket nope/);
      assert.equal(condition(b, 'Degraded')?.reason, 'BackupFailed');
      assert.equal(condition(b, 'Ready')?.reason, 'BackupFailed');
    } finally {
      await unstage();
    }
  });

  it('restores a site from the set the backup made, every checksum verified', async () => {
    assert.notEqual(setUrl, '', 'the scheduled run made a set');
    await apply(
      site('restored', 'prod-bench', {
        siteName: 'restored.example.com',
        restoreFrom: {
          backup: setUrl,
          credentialsSecret: CREDENTIALS,
          endpoint: s3.endpoint,
          region: s3.region,
          forcePathStyle: true,
        },
      }),
      env.ns,
    );
    const job = await created<Job>('batch/v1', 'Job', 'restored-restore');
    const pod = await PodRun.create(job.spec.template.spec as PodSpec, {
      namespace: env.ns,
      podName: 'restored-restore-local',
    });
    try {
      const run = await pod.runContainer('download');
      assert.equal(run.exitCode, 0, run.stderr);
      assert.equal(run.report?.location, setUrl);
      const dir = await pod.emptyDir('restore');
      for (const [name, sha] of Object.entries(setFiles)) {
        assert.equal(sha256Of(await readFile(join(dir, name))), sha, name);
      }
    } finally {
      await pod.cleanup();
    }
    const s = await waitForSite(env.client, env.ns, 'restored', 'Restored', 'True');
    assert.equal(s.status?.restore?.source, setUrl);
  });

  it('no S3 secret (or other secret value) appears in any object, event or the operator log', async () => {
    await assertNoSecretValueShown(env, 2);
  });
});
