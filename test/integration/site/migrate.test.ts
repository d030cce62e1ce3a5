// Migrations after a bench image change (API.md §2.1 siteMigration, §3.3): the guide's version
// upgrade patch on a bench with 20 sites runs `<site>-migrate-<8 hex of image>` once per site,
// never more than siteMigration.maxConcurrent at a time; one failing migration marks only that
// site Degraded (MigrationFailed, naming its Job, saying it stays in maintenance mode and how to
// retry) and leaves the 19 others migrated to the new image.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Job } from '../../../src/controllers/shared/objects.ts';
import { migratePurpose } from '../../../src/controllers/site/names.ts';
import { eventually } from '../../harness/eventually.ts';
import { kubectl } from '../../harness/kubectl.ts';
import { failJobPods } from '../../harness/stages.ts';
import {
  applyExternalSites,
  getSite,
  readyBench,
  useSiteOperator,
  waitForSite,
} from './support.ts';

const BENCH = 'upgrade-bench';
const SITES = Array.from({ length: 20 }, (_, i) => `shop-${String(i).padStart(2, '0')}`);
const OLD = 'docker.io/frappe/erpnext:version-15';
const NEW = 'docker.io/frappe/erpnext:version-16';
const MAX = 3;

const finished = (j: Job) =>
  (j.status?.conditions ?? []).some(
    (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
  );

describe('FrappeSite migrations on a bench upgrade', () => {
  const env = useSiteOperator('site-migrate');

  before(async () => {
    await readyBench(env.client, env.ns, BENCH, {
      frappeVersion: 'version-15',
      siteMigration: { maxConcurrent: MAX },
    });
    await applyExternalSites(env.ns, BENCH, SITES);
    for (const name of SITES) {
      const s = await waitForSite(env.client, env.ns, name, 'Ready', 'True');
      assert.equal(s.status?.migratedImage, OLD);
    }
  });

  it('migrates each site once, at most maxConcurrent at a time; one failure stays with its site', async () => {
    const failing = SITES[7] ?? '';
    const failingJob = `${failing}-${migratePurpose(NEW)}`;
    await failJobPods(env.ns, failingJob, {
      message: JSON.stringify({
        error: 'MigrationFailed',
        message: 'patch erpnext.patches.v16_0.x failed',
      }),
    });
    // The guide's version upgrade (kubectl patch frappebench prod-bench ... frappeVersion).
    await kubectl(
      [
        'patch',
        'frappebench',
        BENCH,
        '--type=merge',
        '-p',
        '{"spec":{"frappeVersion":"version-16"}}',
      ],
      {
        namespace: env.ns,
      },
    );
    let peak = 0;
    await eventually(
      async () => {
        const jobs = (
          await env.client.list<Job>('batch/v1', 'Job', {
            namespace: env.ns,
            labelSelector: 'component=site-migrate',
          })
        ).items;
        peak = Math.max(peak, jobs.filter((j) => !finished(j)).length);
        const sites = await Promise.all(SITES.map((n) => getSite(env.client, env.ns, n)));
        const done = sites.filter((s) => s.status?.migratedImage === NEW).length;
        const failed = sites.filter((s) =>
          s.status?.conditions?.some(
            (c) => c.type === 'Migrated' && c.reason === 'MigrationFailed',
          ),
        ).length;
        if (done !== SITES.length - 1 || failed !== 1)
          throw new Error(`${String(done)} migrated, ${String(failed)} failed`);
      },
      {
        timeout: 240_000,
        interval: 200,
        message: '19 sites migrated to version-16 and one failed',
      },
    );
    assert.ok(peak <= MAX, `at most ${String(MAX)} migrate Jobs ran at once (saw ${String(peak)})`);
    const jobs = (
      await env.client.list<Job>('batch/v1', 'Job', {
        namespace: env.ns,
        labelSelector: 'component=site-migrate',
      })
    ).items;
    for (const name of SITES) {
      const own = jobs.filter((j) => j.metadata.labels?.site === name);
      assert.deepEqual(
        own.map((j) => j.metadata.name),
        [`${name}-${migratePurpose(NEW)}`],
        `${name}: one migrate Job`,
      );
    }
    const s = await getSite(env.client, env.ns, failing);
    const degraded = s.status?.conditions?.find((c) => c.type === 'Degraded');
    assert.equal(degraded?.status, 'True');
    assert.equal(degraded.reason, 'MigrationFailed');
    assert.match(degraded.message, new RegExp(failingJob));
    assert.match(degraded.message, /maintenance mode/);
    assert.match(degraded.message, /vyogo\.tech\/retry/);
    assert.equal(
      s.status?.conditions?.find((c) => c.type === 'Ready')?.status,
      'True',
      'Ready is left alone',
    );
    assert.equal(s.status.migratedImage, OLD);
  });
});
