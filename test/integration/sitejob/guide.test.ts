// The Operations Guide's SiteJobs on a real control plane: its migrate SiteJob
// (`migrate-prod-site`) and manual backup (`manual-backup-$(date …)`, withFiles and compress),
// applied unchanged but for the namespace, run one at a time, oldest first, reach Succeeded and
// show in `kubectl get sitejob`; the migrate SiteJob moves the site's status.migratedImage to the
// bench's new image (siteMigration.policy Manual, as the guide runs migrations); a failing Job
// ends Failed with its message, and is never run again.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { SiteJob } from '../../../src/api/v1alpha1/index.ts';
import type { Job } from '../../../src/controllers/shared/objects.ts';
import { loadManifest, MANIFESTS } from '../../../src/dev/guide/guide.ts';
import { eventually } from '../../harness/eventually.ts';
import { kubectl } from '../../harness/kubectl.ts';
import { failJobPods } from '../../harness/stages.ts';
import { apply, mariadb, readyBench, site, useSiteOperator, waitForSite } from '../site/support.ts';
import { waitForCondition as waitForBench } from '../bench/support.ts';

const NEW = 'docker.io/frappe/erpnext:version-16';

async function guideSiteJob(file: string): Promise<SiteJob> {
  const fixture = MANIFESTS.find((m) => m.file === file);
  assert.ok(fixture !== undefined, file);
  const obj = (await loadManifest(fixture)) as unknown as SiteJob;
  // The guide's namespace is `production`; each test has its own.
  return { ...obj, metadata: { ...obj.metadata, namespace: undefined } };
}

describe('SiteJob (Operations Guide)', () => {
  const env = useSiteOperator('sitejob');
  const sitejob = (name: string) =>
    env.client.get<SiteJob>('vyogo.tech/v1alpha1', 'SiteJob', env.ns, name);
  const waitPhase = (name: string, phase: string) =>
    eventually(
      async () => {
        const sj = await sitejob(name);
        if (sj?.status?.phase !== phase) {
          throw new Error(`phase ${sj?.status?.phase ?? 'none'}: ${sj?.status?.message ?? ''}`);
        }
        return sj;
      },
      { timeout: 90_000, interval: 250, message: `SiteJob ${name} ${phase}` },
    );

  before(async () => {
    await apply(mariadb('frappe-mariadb'), env.ns);
    await readyBench(env.client, env.ns, 'prod-bench', {
      frappeVersion: 'version-15',
      siteMigration: { policy: 'Manual' },
    });
    await apply(site('prod-site', 'prod-bench', { siteName: 'erp.example.com' }), env.ns);
    await waitForSite(env.client, env.ns, 'prod-site', 'Ready', 'True');
  });

  it('runs the guide migrate and manual backup SiteJobs one at a time, oldest first', async () => {
    await kubectl(
      [
        'patch',
        'frappebench',
        'prod-bench',
        '--type=merge',
        '-p',
        '{"spec":{"frappeVersion":"version-16"}}',
      ],
      {
        namespace: env.ns,
      },
    );
    await waitForBench(env.client, env.ns, 'prod-bench', 'Initialized', 'True');
    await waitForSite(env.client, env.ns, 'prod-site', 'Migrated', 'False', 'MigrationPending');
    const migrate = await guideSiteJob('migrate-prod-site.yaml');
    const backup = await guideSiteJob('manual-backup.yaml');
    await apply(migrate, env.ns);
    // Oldest first goes by creation time, to the second, then by name: created within the same
    // second, manual-backup-… would go first. The backup is created once the migrate has its Job.
    await eventually(
      async () => {
        const sj = await sitejob('migrate-prod-site');
        if (sj?.status?.jobName === undefined) throw new Error('no Job yet');
      },
      { timeout: 90_000, interval: 250, message: 'SiteJob migrate-prod-site has its Job' },
    );
    await apply(backup, env.ns);
    const m = await waitPhase('migrate-prod-site', 'Succeeded');
    const b = await waitPhase(backup.metadata.name ?? '', 'Succeeded');
    assert.equal(m.status?.jobName, 'migrate-prod-site-job');
    assert.ok(
      (b.status?.startTime ?? '') >= (m.status.completionTime ?? ''),
      'the backup started after the migrate ended',
    );
    const job = await env.client.get<Job>('batch/v1', 'Job', env.ns, b.status?.jobName ?? '');
    assert.deepEqual(job?.spec.template.spec?.containers[0]?.command, [
      'bench',
      '--site',
      'erp.example.com',
      'backup',
      '--with-files',
      '--compress',
    ]);
    assert.equal(job.spec.backoffLimit, 0);
    assert.equal(job.spec.activeDeadlineSeconds, 7200);
    const s = await waitForSite(env.client, env.ns, 'prod-site', 'Migrated', 'True');
    assert.equal(s.status?.migratedImage, NEW);
    const listed = await kubectl(['get', 'sitejob'], { namespace: env.ns });
    assert.match(listed.stdout, /SITE\s+JOB TYPE\s+PHASE/);
    assert.match(listed.stdout, /migrate-prod-site\s+prod-site\s+migrate\s+Succeeded/);
    assert.match(listed.stdout, /manual-backup-\S+\s+prod-site\s+backup\s+Succeeded/);
  });

  it('a failing Job ends Failed with its message and never runs again', async () => {
    await failJobPods(env.ns, 'broken-cmd-job');
    await apply(
      {
        apiVersion: 'vyogo.tech/v1alpha1',
        kind: 'SiteJob',
        metadata: { name: 'broken-cmd' },
        spec: {
          siteRef: { name: 'prod-site' },
          jobType: 'custom',
          jobConfig: { command: ['false'] },
        },
      },
      env.ns,
    );
    const sj = await waitPhase('broken-cmd', 'Failed');
    assert.match(sj.status?.message ?? '', /^Job broken-cmd-job failed: BackoffLimitExceeded/);
    assert.equal(sj.status?.conditions?.find((c) => c.type === 'Degraded')?.status, 'True');
    await kubectl(['delete', 'job', 'broken-cmd-job', '--wait=true'], { namespace: env.ns });
    await kubectl(['annotate', 'sitejob', 'broken-cmd', 'touch=1'], { namespace: env.ns });
    await assert.rejects(
      eventually(
        async () => {
          assert.ok(await env.client.get('batch/v1', 'Job', env.ns, 'broken-cmd-job'));
        },
        { timeout: 3_000, interval: 250, message: 'the Job is not re-created' },
      ),
    );
  });
});
