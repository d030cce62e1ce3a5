// The three database paths of a FrappeSite (API.md §2.0, §3.3) on a real control plane, the test
// playing the MariaDB Operator: a shared MariaDB in another namespace serves a site only with its
// owner's consent (annotation vyogo.tech/allowed-namespaces) — without it the site is refused
// with CrossNamespaceNotAllowed and proceeds once the annotation admits it; a dedicated MariaDB
// per site runs restricted; an external database (a ProxySQL Service, as in the guide) is
// reached through its connection Secret.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { KubeObject } from '../../../src/kube/client.ts';
import type { Job } from '../../../src/controllers/shared/objects.ts';
import { kubectl } from '../../harness/kubectl.ts';
import { eventually } from '../../harness/eventually.ts';
import {
  apply,
  mariadb,
  readyBench,
  site,
  siteCondition,
  useSiteOperator,
  waitForSite,
} from './support.ts';

const BENCH = 'db-bench';

interface MariaDBObject extends KubeObject {
  spec: Record<string, unknown>;
}

describe('FrappeSite databases', () => {
  const env = useSiteOperator('site-db');
  let databases = '';

  before(async () => {
    databases = await env.extraNamespace('databases');
    await readyBench(env.client, env.ns, BENCH);
  });

  it('uses a shared MariaDB of another namespace whose owner admits the site namespace', async () => {
    await apply(
      mariadb('shared-mariadb', { 'vyogo.tech/allowed-namespaces': `other, ${env.ns}` }),
      databases,
    );
    await apply(
      site('shared', BENCH, {
        dbConfig: { mariadbRef: { name: 'shared-mariadb', namespace: databases } },
      }),
      env.ns,
    );
    const s = await waitForSite(env.client, env.ns, 'shared', 'Ready', 'True');
    assert.equal(s.status?.database?.host, `shared-mariadb.${databases}.svc.cluster.local`);
    const grant = await env.client.get<MariaDBObject>(
      'k8s.mariadb.com/v1alpha1',
      'Grant',
      env.ns,
      'shared-grant',
    );
    assert.deepEqual(grant?.spec.mariaDbRef, { name: 'shared-mariadb', namespace: databases });
    assert.deepEqual(grant.spec.privileges, ['ALL PRIVILEGES']);
    assert.equal(grant.spec.grantOption, false);
  });

  it('refuses a MariaDB of another namespace without consent, and proceeds once consent is given', async () => {
    await apply(mariadb('closed-mariadb'), databases);
    await apply(
      site('refused', BENCH, {
        dbConfig: { mariadbRef: { name: 'closed-mariadb', namespace: databases } },
      }),
      env.ns,
    );
    const s = await waitForSite(
      env.client,
      env.ns,
      'refused',
      'DatabaseReady',
      'False',
      'CrossNamespaceNotAllowed',
    );
    const message = s.status?.conditions?.find((c) => c.type === 'DatabaseReady')?.message ?? '';
    assert.match(message, /vyogo\.tech\/allowed-namespaces/);
    assert.match(message, new RegExp(env.ns));
    assert.equal(
      await env.client.get('k8s.mariadb.com/v1alpha1', 'Database', env.ns, 'refused-db'),
      undefined,
      'no Database is created on a MariaDB that does not admit the namespace',
    );
    await kubectl(
      ['annotate', 'mariadb', 'closed-mariadb', `vyogo.tech/allowed-namespaces=${env.ns}`],
      {
        namespace: databases,
      },
    );
    await waitForSite(env.client, env.ns, 'refused', 'Ready', 'True');
  });

  it('gives a dedicated site its own restricted MariaDB, and goes on when it turns Ready', async () => {
    // Held back until its Database, User and Grant are Ready: only the MariaDB's own status
    // change can then wake the site (it once woke only sites of a shared MariaDB).
    env.holdBack('MariaDB', 'solo-mariadb', 'Provisioning');
    await apply(
      site('solo', BENCH, { dbConfig: { mode: 'dedicated', storageSize: '20Gi' } }),
      env.ns,
    );
    await eventually(
      async () => {
        const held = await waitForSite(env.client, env.ns, 'solo', 'DatabaseReady', 'False');
        assert.match(
          siteCondition(held, 'DatabaseReady')?.message ?? '',
          /solo-mariadb: Ready=False/,
        );
        for (const [kind, name] of [
          ['Database', 'solo-db'],
          ['User', 'solo-user'],
          ['Grant', 'solo-grant'],
        ] as const) {
          const obj = await env.client.get<
            MariaDBObject & { status?: { conditions?: { status: string }[] } }
          >('k8s.mariadb.com/v1alpha1', kind, env.ns, name);
          assert.equal(obj?.status?.conditions?.[0]?.status, 'True', `${kind} ${name} Ready`);
        }
      },
      { timeout: 120_000, message: 'the site waits on its held-back MariaDB alone' },
    );
    env.release('MariaDB', 'solo-mariadb');
    const s = await waitForSite(env.client, env.ns, 'solo', 'Ready', 'True');
    assert.equal(s.status?.database?.mode, 'dedicated');
    assert.equal(s.status.database.host, `solo-mariadb.${env.ns}.svc.cluster.local`);
    const m = await env.client.get<MariaDBObject>(
      'k8s.mariadb.com/v1alpha1',
      'MariaDB',
      env.ns,
      'solo-mariadb',
    );
    assert.deepEqual(m?.spec.rootPasswordSecretKeyRef, {
      name: 'solo-mariadb-root',
      key: 'password',
    });
    assert.deepEqual(m.spec.storage, { size: '20Gi' });
    assert.equal((m.spec.podSecurityContext as { runAsNonRoot?: boolean }).runAsNonRoot, true);
    assert.ok(await env.client.get('v1', 'Secret', env.ns, 'solo-mariadb-root'));
  });

  it('reaches an external database (a ProxySQL Service) with its connection Secret', async () => {
    await kubectl(
      [
        'create',
        'secret',
        'generic',
        'erp-db',
        '--from-literal=username=erp_user',
        '--from-literal=password=Ext3rnal-DB-Pass',
        '--from-literal=database=erp_prod',
      ],
      { namespace: env.ns },
    );
    await apply(
      site('outside', BENCH, {
        dbConfig: {
          provider: 'external',
          connectionSecretRef: { name: 'erp-db' },
          host: `proxysql.${databases}.svc.cluster.local`,
          port: 6033,
        },
      }),
      env.ns,
    );
    const s = await waitForSite(env.client, env.ns, 'outside', 'Ready', 'True');
    assert.deepEqual(
      {
        host: s.status?.database?.host,
        port: s.status?.database?.port,
        name: s.status?.database?.name,
      },
      { host: `proxysql.${databases}.svc.cluster.local`, port: 6033, name: 'erp_prod' },
    );
    const job = await env.client.get<Job>('batch/v1', 'Job', env.ns, 'outside-init');
    const c = job?.spec.template.spec?.containers[0];
    const env_ = Object.fromEntries((c?.env ?? []).map((e) => [e.name, e.value]));
    assert.equal(env_.DB_HOST, `proxysql.${databases}.svc.cluster.local`);
    assert.equal(env_.DB_PORT, '6033');
    assert.equal(env_.DB_USER, undefined, 'the external user comes from the Secret file');
    assert.match(env_.DB_USER_FILE ?? '', /^\/var\/run\/secrets\//);
    assert.ok(!JSON.stringify(job).includes('Ext3rnal-DB-Pass'));
  });
});
