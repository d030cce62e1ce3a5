// What each SiteJob type runs (API.md §2.4) and the Job it runs in (§3.4): argv per type, no
// value spliced into a shell, backoffLimit 0, the deadline, the restricted Pod Security Standard.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SiteJobDefaults } from '../../../../src/api/v1alpha1/defaulting.ts';
import { validateSiteJob, type SiteJob } from '../../../../src/api/v1alpha1/index.ts';
import { command, siteJobRequest } from '../../../../src/controllers/sitejob/command.ts';
import { restrictedViolations } from '../pss.ts';
import { planOf, podOf, prodSite } from '../site/fixtures.ts';

function siteJob(name: string, spec: Record<string, unknown>): SiteJob {
  const obj = {
    apiVersion: 'vyogo.tech/v1alpha1',
    kind: 'SiteJob',
    metadata: { name, namespace: 'production', uid: `uid-${name}` },
    spec: { siteRef: { name: 'prod-site' }, ...spec },
  };
  const v = validateSiteJob(obj);
  assert.ok(v.ok, JSON.stringify(v));
  return SiteJobDefaults.apply(obj as SiteJob);
}

describe('SiteJob commands', () => {
  const cmd = (spec: Record<string, unknown>) =>
    command(siteJob('x', spec).spec, 'erp.example.com');

  it('runs bench --site <siteName> for each type', () => {
    assert.deepEqual(cmd({ jobType: 'backup', jobConfig: { withFiles: true, compress: true } }), [
      'bench',
      '--site',
      'erp.example.com',
      'backup',
      '--with-files',
      '--compress',
    ]);
    assert.deepEqual(cmd({ jobType: 'backup' }), ['bench', '--site', 'erp.example.com', 'backup']);
    assert.deepEqual(cmd({ jobType: 'migrate' }), [
      'bench',
      '--site',
      'erp.example.com',
      'migrate',
    ]);
    assert.deepEqual(cmd({ jobType: 'install-app', jobConfig: { apps: ['hrms', 'payments'] } }), [
      'bench',
      '--site',
      'erp.example.com',
      'install-app',
      'hrms',
      'payments',
    ]);
    assert.deepEqual(cmd({ jobType: 'set-maintenance-mode', jobConfig: { enabled: false } }), [
      'bench',
      '--site',
      'erp.example.com',
      'set-maintenance-mode',
      'off',
    ]);
    assert.deepEqual(cmd({ jobType: 'custom', jobConfig: { command: ['bench', 'version'] } }), [
      'bench',
      'version',
    ]);
  });

  it('hands site and app names to a shell only as env and arguments', () => {
    const clear = cmd({ jobType: 'clear-cache' });
    assert.equal(clear[0], 'sh');
    assert.ok(!clear.join(' ').includes('erp.example.com'));
    assert.match(clear[2] ?? '', /clear-cache; bench --site "\$SITE_NAME" clear-website-cache/);
    const uninstall = cmd({ jobType: 'uninstall-app', jobConfig: { apps: ['hrms', 'lms'] } });
    assert.deepEqual(uninstall.slice(3), ['uninstall-app', 'hrms', 'lms']);
    assert.match(uninstall[2] ?? '', /uninstall-app "\$app" --yes/);
  });

  it('runs once, within its deadline, in a restricted pod of the site', () => {
    const plan = planOf(prodSite());
    const req = siteJobRequest(siteJob('manual-backup', { jobType: 'migrate' }), plan, podOf(plan));
    const job = req.job;
    assert.equal(job.metadata.name, 'manual-backup-job');
    assert.equal(job.spec.backoffLimit, 0);
    assert.equal(job.spec.activeDeadlineSeconds, 7200);
    assert.equal(job.metadata.labels?.component, 'sitejob');
    assert.equal(job.metadata.labels.site, 'prod-site');
    assert.equal(job.metadata.ownerReferences?.[0]?.kind, 'SiteJob');
    const pod = job.spec.template.spec;
    assert.ok(pod !== undefined);
    assert.deepEqual(restrictedViolations(pod), []);
    const c = pod.containers[0];
    assert.ok(
      c?.resources?.limits?.cpu !== undefined && c.resources.requests?.memory !== undefined,
    );
    assert.deepEqual(
      c.env?.find((e) => e.name === 'SITE_NAME'),
      { name: 'SITE_NAME', value: plan.siteName },
    );
  });
});
