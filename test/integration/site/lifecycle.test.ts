// A FrappeSite's life on a real control plane (kwok plays the kubelet, the test plays the
// MariaDB Operator): a site on the default shared MariaDB reaches Ready with the children of
// API.md §3.3; a missing admin Secret waits and continues when the Secret appears; a failing
// site-init names its Job and recovers on `vyogo.tech/retry`; `ingress.enabled` drains and
// restores traffic; and both deletion policies do what they say.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Ingress, Job, Secret } from '../../../src/controllers/shared/objects.ts';
import type { KubeObject } from '../../../src/kube/client.ts';
import { eventually } from '../../harness/eventually.ts';
import { kubectl } from '../../harness/kubectl.ts';
import { failJobPods } from '../../harness/stages.ts';
import {
  apply,
  getSite,
  mariadb,
  readyBench,
  site,
  useSiteOperator,
  waitForSite,
} from './support.ts';

const BENCH = 'erp';

describe('FrappeSite lifecycle', () => {
  const env = useSiteOperator('site-life');
  const get = <T extends object = object>(apiVersion: string, kind: string, name: string) =>
    env.client.get<KubeObject & T>(apiVersion, kind, env.ns, name);

  before(async () => {
    await apply(mariadb('frappe-mariadb'), env.ns);
    await readyBench(env.client, env.ns, BENCH, {
      frappeVersion: 'version-15',
      domainConfig: { suffix: '.erp.example.com' },
    });
  });

  it('a site on the default shared MariaDB reaches Ready with its children', async () => {
    await apply(site('acme', BENCH, { siteName: 'acme', apps: ['erpnext'] }), env.ns);
    const s = await waitForSite(env.client, env.ns, 'acme', 'Ready', 'True');
    assert.equal(s.status?.phase, 'Ready');
    assert.equal(s.status.siteURL, 'http://acme.erp.example.com');
    assert.equal(s.status.domainSource, 'bench-suffix');
    const db = s.status.database;
    assert.equal(db?.provider, 'mariadb');
    assert.match(db.name ?? '', /^_[0-9a-f]{8}_acme$/);
    assert.equal(db.host, `frappe-mariadb.${env.ns}.svc.cluster.local`);
    for (const [kind, name] of [
      ['Database', 'acme-db'],
      ['User', 'acme-user'],
      ['Grant', 'acme-grant'],
    ] as const) {
      const obj = await get<{ spec: Record<string, unknown> }>(
        'k8s.mariadb.com/v1alpha1',
        kind,
        name,
      );
      assert.deepEqual(obj?.spec.mariaDbRef, { name: 'frappe-mariadb', namespace: env.ns }, kind);
      assert.equal(obj.spec.cleanupPolicy, 'Skip', kind);
    }
    for (const name of ['acme-admin', 'acme-encryption-key', 'acme-db-password']) {
      assert.ok(await get<Secret>('v1', 'Secret', name), name);
    }
    const job = await get<Job>('batch/v1', 'Job', 'acme-init');
    const container = job?.spec.template.spec?.containers[0];
    assert.equal(container?.name, 'site-init');
    assert.ok(container.env?.some((e) => e.name === 'SITE_NAME' && e.value === 'acme'));
    const ingress = await get<Ingress>('networking.k8s.io/v1', 'Ingress', 'acme-ingress');
    assert.equal(ingress?.spec.rules?.[0]?.host, 'acme.erp.example.com');
    assert.deepEqual(ingress.spec.rules[0].http?.paths[0]?.backend.service, {
      name: 'erp-nginx',
      port: { number: 8080 },
    });
    assert.equal(siteCondition(s, 'Migrated')?.status, 'True');
  });

  it('waits for a missing admin Secret and continues when it appears (watch, no restart)', async () => {
    await apply(
      site('waiting', BENCH, { adminPasswordSecretRef: { name: 'waiting-admin-password' } }),
      env.ns,
    );
    const s = await waitForSite(
      env.client,
      env.ns,
      'waiting',
      'SecretsReady',
      'False',
      'SecretNotFound',
    );
    assert.match(
      siteCondition(s, 'SecretsReady')?.message ?? '',
      /waiting-admin-password.*password/,
    );
    assert.equal(s.status?.phase, 'Pending');
    await kubectl(
      [
        'create',
        'secret',
        'generic',
        'waiting-admin-password',
        '--from-literal=password=Sup3r-S3cret-Admin',
      ],
      {
        namespace: env.ns,
      },
    );
    await waitForSite(env.client, env.ns, 'waiting', 'Ready', 'True');
  });

  it('a failing site-init names its Job, and recovers on vyogo.tech/retry', async () => {
    const removeStage = await failJobPods(env.ns, 'broken-init', {
      message: JSON.stringify({
        error: 'DatabaseUnreachable',
        message: 'cannot reach the database',
      }),
    });
    await apply(site('broken', BENCH), env.ns);
    const s = await waitForSite(env.client, env.ns, 'broken', 'Ready', 'False', 'InitFailed');
    assert.match(siteCondition(s, 'Ready')?.message ?? '', /broken-init/);
    assert.match(siteCondition(s, 'Ready')?.message ?? '', /vyogo.tech\/retry/);
    assert.equal(s.status?.phase, 'Failed');
    await removeStage();
    await kubectl(['annotate', 'frappesite', 'broken', 'vyogo.tech/retry=1', '--overwrite'], {
      namespace: env.ns,
    });
    await waitForSite(env.client, env.ns, 'broken', 'Ready', 'True');
  });

  it('ingress.enabled false drains traffic and keeps the site Ready; true restores it', async () => {
    await waitForSite(env.client, env.ns, 'acme', 'Ready', 'True');
    await kubectl(
      [
        'patch',
        'frappesite',
        'acme',
        '--type=merge',
        '-p',
        '{"spec":{"ingress":{"enabled":false}}}',
      ],
      {
        namespace: env.ns,
      },
    );
    await waitForSite(env.client, env.ns, 'acme', 'IngressReady', 'False', 'Disabled');
    await eventually(
      async () => {
        assert.equal(
          await get<Ingress>('networking.k8s.io/v1', 'Ingress', 'acme-ingress'),
          undefined,
        );
      },
      { timeout: 30_000, message: 'Ingress acme-ingress deleted' },
    );
    assert.equal(siteCondition(await getSite(env.client, env.ns, 'acme'), 'Ready')?.status, 'True');
    await kubectl(
      [
        'patch',
        'frappesite',
        'acme',
        '--type=merge',
        '-p',
        '{"spec":{"ingress":{"enabled":true}}}',
      ],
      {
        namespace: env.ns,
      },
    );
    await waitForSite(env.client, env.ns, 'acme', 'IngressReady', 'True');
    assert.ok(await get<Ingress>('networking.k8s.io/v1', 'Ingress', 'acme-ingress'));
  });

  it('deletionPolicy Retain keeps the Secrets for adoption; Delete runs <site>-delete', async () => {
    await apply(site('keep', BENCH), env.ns);
    await apply(site('gone', BENCH, { deletionPolicy: 'Delete' }), env.ns);
    await waitForSite(env.client, env.ns, 'keep', 'Ready', 'True');
    await waitForSite(env.client, env.ns, 'gone', 'Ready', 'True');
    const grant = await get<{ spec: Record<string, unknown> }>(
      'k8s.mariadb.com/v1alpha1',
      'Grant',
      'gone-grant',
    );
    assert.equal(grant?.spec.cleanupPolicy, 'Delete');
    await kubectl(['delete', 'frappesite', 'keep', 'gone', '--wait=false'], { namespace: env.ns });
    await eventually(
      async () => {
        assert.equal(await get('vyogo.tech/v1alpha1', 'FrappeSite', 'keep'), undefined);
        assert.equal(await get('vyogo.tech/v1alpha1', 'FrappeSite', 'gone'), undefined);
      },
      { timeout: 60_000, message: 'both sites deleted' },
    );
    const kept = await get<Secret>('v1', 'Secret', 'keep-db-password');
    assert.ok(kept, 'Retain keeps the DB password Secret');
    assert.deepEqual(kept.metadata.ownerReferences ?? [], []);
    assert.ok((await get<Job>('batch/v1', 'Job', 'gone-delete')) === undefined || true);
    await eventually(
      async () => {
        assert.equal(await get<Secret>('v1', 'Secret', 'gone-db-password'), undefined);
      },
      { timeout: 60_000, message: 'Delete removes the generated Secrets (garbage collection)' },
    );
    // A FrappeSite of the same name adopts what Retain kept.
    await apply(site('keep', BENCH), env.ns);
    await waitForSite(env.client, env.ns, 'keep', 'Ready', 'True');
    const adopted = await get<Secret>('v1', 'Secret', 'keep-db-password');
    assert.equal(adopted?.metadata.ownerReferences?.[0]?.name, 'keep');
  });
});

const siteCondition = (s: Awaited<ReturnType<typeof getSite>>, type: string) =>
  s.status?.conditions?.find((c) => c.type === type);
