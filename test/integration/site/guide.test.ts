// The Operations Guide's FrappeSite on a real control plane: its Site Recovery manifest
// (`recovered-site`, restoreFrom s3://) applied unchanged on the guide's prod-bench is restored by
// `<site>-restore` — the download init container runs the operator's own image (`frappe-operator
// backup-agent download`) — and reaches Restored=True and Ready; the guide's maintenance drain
// (`kubectl patch frappesite <site>` ingress off, then on) works as written. The guide's admin
// password from an ExternalSecret (`prod-site-admin-password`, synced after the site exists)
// is waited for, and changing it resets the password with a Job. Finally every object of the
// namespace, every event and the operator's log are scanned for the secret values the operator
// generated or read: none may appear.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Job, Secret } from '../../../src/controllers/shared/objects.ts';
import { loadManifest, loadPatch, MANIFESTS, PATCHES } from '../../../src/dev/guide/guide.ts';
import { eventually } from '../../harness/eventually.ts';
import { kubectl } from '../../harness/kubectl.ts';
import { prodBenchManifest } from '../../unit/controllers/bench/fixtures.ts';
import {
  assertNoSecretValueShown,
  apply,
  getSite,
  mariadb,
  OPERATOR_IMAGE,
  readyBench,
  site,
  useSiteOperator,
  waitForSite,
} from './support.ts';

async function guidePatch(file: string, ns: string, target: string): Promise<void> {
  const fixture = PATCHES.find((p) => p.file === file);
  assert.ok(fixture !== undefined, file);
  assert.equal(fixture.name, '<site>');
  await kubectl(
    ['patch', fixture.resource, target, '--type=merge', '-p', await loadPatch(fixture)],
    {
      namespace: ns,
    },
  );
}

describe('FrappeSite (Operations Guide)', () => {
  // Under the restricted Pod Security Standard and a quota (every container needs requests
  // and limits), as the guide's production namespace is.
  const env = useSiteOperator('production', {
    labels: {
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
    },
  });

  before(async () => {
    await apply(
      {
        apiVersion: 'v1',
        kind: 'ResourceQuota',
        metadata: { name: 'production-quota' },
        spec: { hard: { 'requests.cpu': '50', 'requests.memory': '100Gi', pods: '100' } },
      },
      env.ns,
    );
    await apply(mariadb('frappe-mariadb'), env.ns);
    await readyBench(env.client, env.ns, 'prod-bench', prodBenchManifest.spec);
  });

  it('restores the guide recovered-site from S3 and reaches Ready', async () => {
    const fixture = MANIFESTS.find((m) => m.file === 'recovered-site.yaml');
    assert.ok(fixture !== undefined);
    await apply(await loadManifest(fixture), env.ns);
    const s = await waitForSite(env.client, env.ns, 'recovered-site', 'Ready', 'True');
    assert.equal(s.status?.phase, 'Ready');
    assert.equal(s.status.conditions?.find((c) => c.type === 'Restored')?.status, 'True');
    assert.equal(s.status.restore?.source, 's3://bucket/backup.sql.gz');
    assert.equal(s.status.restore.jobName, 'recovered-site-restore');
    assert.ok(s.status.restore.completionTime);
    const job = await env.client.get<Job>('batch/v1', 'Job', env.ns, 'recovered-site-restore');
    const download = job?.spec.template.spec?.initContainers?.[0];
    assert.equal(download?.name, 'download');
    assert.equal(download.image, OPERATOR_IMAGE);
    assert.deepEqual(download.command, ['frappe-operator']);
    assert.deepEqual(download.args?.slice(0, 5), [
      'backup-agent',
      'download',
      '--source=s3://bucket/backup.sql.gz',
      '--files=s3://bucket/files.tar.gz',
      '--destination=/restore',
    ]);
    assert.equal(job?.spec.template.spec?.containers[0]?.name, 'restore');
    assert.equal(await env.client.get('batch/v1', 'Job', env.ns, 'recovered-site-init'), undefined);
    // The Job's pod was admitted (restricted PSS, quota) and ran: kwok completed it.
    assert.equal(job.status?.succeeded, 1);
  });

  it('drains and restores traffic with the guide maintenance patches', async () => {
    await waitForSite(env.client, env.ns, 'recovered-site', 'Ready', 'True');
    await guidePatch('frappesite-ingress-disable.patch.json', env.ns, 'recovered-site');
    await waitForSite(env.client, env.ns, 'recovered-site', 'IngressReady', 'False', 'Disabled');
    await guidePatch('frappesite-ingress-enable.patch.json', env.ns, 'recovered-site');
    await waitForSite(env.client, env.ns, 'recovered-site', 'IngressReady', 'True');
  });

  it('waits for the ExternalSecret admin password, and a changed password is applied by a Job', async () => {
    await apply(
      site('prod-site', 'prod-bench', {
        siteName: 'erp.example.com',
        apps: ['erpnext'],
        tls: { enabled: true },
        adminPasswordSecretRef: { name: 'prod-site-admin-password' },
      }),
      env.ns,
    );
    await waitForSite(env.client, env.ns, 'prod-site', 'SecretsReady', 'False', 'SecretNotFound');
    // What the guide's ExternalSecret creates once Vault answers.
    await kubectl(
      [
        'create',
        'secret',
        'generic',
        'prod-site-admin-password',
        '--from-literal=password=Vault-Admin-Pass-1',
      ],
      {
        namespace: env.ns,
      },
    );
    const s = await waitForSite(env.client, env.ns, 'prod-site', 'Ready', 'True');
    assert.equal(s.status?.siteURL, 'https://erp.example.com');
    const first = s.status.adminPasswordSecretVersion;
    assert.ok(first);
    await kubectl(
      [
        'create',
        'secret',
        'generic',
        'prod-site-admin-password',
        '--from-literal=password=Vault-Admin-Pass-2',
        '--dry-run=client',
        '-o',
        'yaml',
      ],
      {
        namespace: env.ns,
      },
    ).then((out) => kubectl(['apply', '-f', '-'], { namespace: env.ns, input: out.stdout }));
    const secret = await env.client.get<Secret>('v1', 'Secret', env.ns, 'prod-site-admin-password');
    await eventually(
      async () => {
        const now = await getSite(env.client, env.ns, 'prod-site');
        assert.equal(now.status?.adminPasswordSecretVersion, secret?.metadata.resourceVersion);
      },
      { timeout: 60_000, message: 'the new admin password is applied' },
    );
    assert.ok(await env.client.get('batch/v1', 'Job', env.ns, 'prod-site-admin-password'));
  });

  it('no secret value it generated or read appears in any object, event or the operator log', async () => {
    await assertNoSecretValueShown(env, 6);
  });
});
