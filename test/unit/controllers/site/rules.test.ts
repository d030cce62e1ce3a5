// Rules of the site's pure parts that snapshots do not make obvious (API.md §1.3, §2.2, §3.3):
// database naming as the reference operator names databases, Job names on a bench of the site's
// name, domain/TLS/Ingress resolution, database resolution (site over bench, pinned status),
// consent of a shared MariaDB of another namespace, the MariaDB endpoint, migration slots, the
// site worker pool, the generated Secrets, and the status judged from a walk of the step table.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FrappeSite, FrappeSiteStatus } from '../../../../src/api/v1alpha1/index.ts';
import {
  admitsNamespace,
  ALLOWED_NAMESPACES_ANNOTATION,
  mariadbEndpoint,
  type MariaDBObject,
} from '../../../../src/controllers/site/database.ts';
import { siteConcurrency } from '../../../../src/controllers/site/index.ts';
import { initInputs, restoreRequest } from '../../../../src/controllers/site/jobs.ts';
import { MigrationSlots } from '../../../../src/controllers/site/migrations.ts';
import {
  databaseName,
  fnv32a,
  migratePurpose,
  siteJobName,
} from '../../../../src/controllers/site/names.ts';
import { jobName } from '../../../../src/controllers/site/plan.ts';
import { SITE_STEPS, type SiteSteps } from '../../../../src/controllers/site/reconcile.ts';
import { SITE_ENV } from '../../../../src/controllers/site/scripts.ts';
import {
  fernetKey,
  generatedSecrets,
  randomPassword,
} from '../../../../src/controllers/site/secrets.ts';
import {
  siteStatus,
  transitions,
  type SiteRecords,
} from '../../../../src/controllers/site/status.ts';
import type { Stored } from '../../../../src/kube/informer.ts';
import { getCondition } from '../../../../src/runtime/conditions.ts';
import { inputsHash } from '../../../../src/runtime/jobs.ts';
import {
  done,
  stop,
  wait,
  walkSteps,
  type StepOutcome,
  type Walk,
} from '../../../../src/runtime/steps.ts';
import { prodBench } from '../bench/fixtures.ts';
import { operatorDefaults } from '../defaults.ts';
import {
  BENCH_IMAGE,
  endpointOf,
  NAMESPACE,
  planOf,
  podOf,
  prodSite,
  readyBench,
  recoveredSite,
  site,
} from './fixtures.ts';

describe('database naming (the reference operator names, so its databases are adopted)', () => {
  test("fnv32a is Go's hash/fnv New32a (vectors computed with Go 1.26)", () => {
    const vectors: [string, string][] = [
      ['', '811c9dc5'],
      ['a', 'e40c292c'],
      ['ab', '4d2505ca'],
      ['abc', '1a47e90b'],
      ['foobar', 'bf9cf968'],
      ['production/acme', 'ccc65a15'],
      ['production/recovered-site', 'd8877cb8'],
      // Bytes of UTF-8, not UTF-16 code units.
      ['ns/ü-site', '2d869f58'],
    ];
    for (const [text, hash] of vectors) assert.equal(fnv32a(text), hash, JSON.stringify(text));
  });

  test('databaseName: "_" + fnv32a(namespace/name) + "_" + sanitized siteName', () => {
    assert.equal(
      databaseName('production', 'recovered-site', 'site.example.com'),
      '_d8877cb8_site_example_com',
    );
    // Every character outside [A-Za-z0-9_] becomes _, runs collapse, ends are trimmed.
    assert.equal(databaseName('production', 'acme', 'a-b..c--d'), '_ccc65a15_a_b_c_d');
    assert.equal(databaseName('production', 'acme', '.-x_-_y.-'), '_ccc65a15_x_y');
    assert.equal(databaseName('production', 'acme', 'Mixed.Case9'), '_ccc65a15_Mixed_Case9');
    // The hash is of namespace/name, not of the siteName.
    assert.notEqual(
      databaseName('staging', 'acme', 'acme.example.com'),
      databaseName('production', 'acme', 'acme.example.com'),
    );
  });

  test('databaseName is cut to 64 characters (a MariaDB identifier)', () => {
    const long = `${'a'.repeat(60)}.${'b'.repeat(60)}.example.com`;
    const name = databaseName('production', 'acme', long);
    assert.equal(name.length, 64);
    assert.equal(name, `_ccc65a15_${'a'.repeat(54)}`);
    assert.equal(databaseName('production', 'acme', 'a.b').length, 13);
  });

  test('the plan uses it for the database and the DB user', () => {
    const plan = planOf(site());
    assert.equal(plan.database.name, '_ccc65a15_acme_example_com');
    assert.equal(plan.database.user, plan.database.name);
  });
});

describe('Job names', () => {
  test('<site>-<purpose>, or <site>-site-<purpose> when the site has its bench name', () => {
    assert.equal(siteJobName('acme', 'prod-bench', 'init'), 'acme-init');
    assert.equal(siteJobName('prod-bench', 'prod-bench', 'init'), 'prod-bench-site-init');
    assert.equal(siteJobName('prod-bench', 'prod-bench', 'delete'), 'prod-bench-site-delete');
    const plan = planOf(site({}, { name: 'prod-bench' }));
    assert.equal(jobName(plan, 'restore'), 'prod-bench-site-restore');
    // Never the bench's own Job.
    assert.notEqual(jobName(plan, 'init'), 'prod-bench-init');
  });

  test('long names are shortened to 63 characters, distinctly', () => {
    const a = siteJobName('s'.repeat(50), 'prod-bench', 'admin-password');
    const b = siteJobName('s'.repeat(50), 'prod-bench', 'admin-passwore');
    assert.equal(a.length, 63);
    assert.match(a, /^s+-adm[a-z-]*-[0-9a-f]{8}$/);
    assert.notEqual(a, b);
  });

  test('migratePurpose: migrate-<8 hex of sha256(image)>', () => {
    assert.equal(migratePurpose(BENCH_IMAGE), 'migrate-0d8d13a5');
    assert.equal(migratePurpose('docker.io/frappe/erpnext:v15.40.0'), 'migrate-00a1567c');
  });
});

describe('domain, TLS and Ingress settings', () => {
  const suffixed = (suffix: string) => readyBench({ domainConfig: { suffix } });

  test('an explicit domain wins', () => {
    const plan = planOf(site({ siteName: 'acme', domain: 'shop.example.org' }), {
      bench: suffixed('.erp.example.com'),
    });
    assert.deepEqual([plan.domain, plan.domainSource], ['shop.example.org', 'explicit']);
  });

  test('a siteName without a dot takes the bench suffix, with or without its leading dot', () => {
    for (const suffix of ['.erp.example.com', 'erp.example.com']) {
      const plan = planOf(site({ siteName: 'acme' }), { bench: suffixed(suffix) });
      assert.deepEqual(
        [plan.domain, plan.domainSource],
        ['acme.erp.example.com', 'bench-suffix'],
        suffix,
      );
    }
  });

  test('a siteName with a dot ignores the suffix; no suffix means the siteName', () => {
    const dotted = planOf(site({ siteName: 'acme.example.com' }), {
      bench: suffixed('.erp.example.com'),
    });
    assert.deepEqual(
      [dotted.domain, dotted.domainSource],
      ['acme.example.com', 'sitename-default'],
    );
    const bare = planOf(site({ siteName: 'acme' }));
    assert.deepEqual([bare.domain, bare.domainSource], ['acme', 'sitename-default']);
    assert.equal(bare.url, 'http://acme');
  });

  test('TLS is effective with tls, ingress.tls or enforceHTTPS; the URL follows', () => {
    const plain = planOf(site());
    assert.equal(plain.tls, undefined);
    assert.equal(plain.url, 'http://acme.example.com');

    const viaTls = planOf(site({ tls: { enabled: true } }));
    assert.deepEqual(viaTls.tls, { secretName: 'acme-tls', issuer: undefined });
    assert.equal(viaTls.url, 'https://acme.example.com');

    const viaIngress = planOf(
      site({ ingress: { tls: { enabled: true, secretName: 'acme-cert', issuer: 'le-prod' } } }),
    );
    assert.deepEqual(viaIngress.tls, { secretName: 'acme-cert', issuer: 'le-prod' });

    const disabled = planOf(site({ tls: { enabled: false } }));
    assert.equal(disabled.tls, undefined);
    const enforced = planOf(site({ tls: { enabled: false } }), {
      defaults: operatorDefaults({ enforceHTTPS: true }),
    });
    assert.deepEqual(enforced.tls, { secretName: 'acme-tls', issuer: undefined });
    assert.equal(enforced.url, 'https://acme.example.com');
  });

  test("the issuer: the site's, else the operator's defaultClusterIssuer; an empty one means none", () => {
    const withDefault = { defaults: operatorDefaults({ clusterIssuer: 'letsencrypt' }) };
    assert.equal(planOf(site({ tls: { enabled: true } }), withDefault).tls?.issuer, 'letsencrypt');
    assert.equal(
      planOf(site({ tls: { enabled: true, issuer: 'internal-ca' } }), withDefault).tls?.issuer,
      'internal-ca',
    );
    assert.equal(
      planOf(site({ tls: { enabled: true, issuer: '' } }), withDefault).tls?.issuer,
      undefined,
    );
    assert.equal(planOf(site({ tls: { enabled: true } })).tls?.issuer, undefined);
  });

  test("ingress className: the site's, else the operator default, else the cluster default", () => {
    assert.equal(planOf(site()).ingress.className, undefined);
    const nginx = { defaults: operatorDefaults({ ingressClassName: 'nginx' }) };
    assert.equal(planOf(site(), nginx).ingress.className, 'nginx');
    assert.equal(
      planOf(site({ ingress: { className: 'traefik' } }), nginx).ingress.className,
      'traefik',
    );
    assert.equal(planOf(site()).ingress.enabled, true);
    assert.equal(planOf(site({ ingress: { enabled: false } })).ingress.enabled, false);
  });

  test('a bench in another namespace is unsupported: no bench, no pod settings', () => {
    const plan = planOf(site({ benchRef: { name: 'prod-bench', namespace: 'other' } }));
    assert.equal(plan.crossNamespaceBench, true);
    assert.equal(plan.bench, undefined);
    assert.equal(plan.pod, undefined);
    const same = planOf(site({ benchRef: { name: 'prod-bench', namespace: NAMESPACE } }));
    assert.equal(same.crossNamespaceBench, false);
    assert.equal(same.pod?.image, BENCH_IMAGE);
  });
});

describe('database resolution', () => {
  const withStatus = (s: Stored<FrappeSite>, status: FrappeSiteStatus): Stored<FrappeSite> => ({
    ...s,
    status,
  });

  test('nothing configured: a shared MariaDB frappe-mariadb in the site namespace', () => {
    const db = planOf(site()).database;
    assert.deepEqual(
      {
        provider: db.provider,
        mode: db.mode,
        mariadb: db.mariadb,
        password: db.password,
        cleanupPolicy: db.cleanupPolicy,
        host: db.host,
        invalid: db.invalid,
      },
      {
        provider: 'mariadb',
        mode: 'shared',
        mariadb: { name: 'frappe-mariadb', namespace: NAMESPACE },
        password: { name: 'acme-db-password', key: 'password', generated: true },
        cleanupPolicy: 'Skip',
        host: undefined,
        invalid: undefined,
      },
    );
    assert.equal(planOf(site({ deletionPolicy: 'Delete' })).database.cleanupPolicy, 'Delete');
  });

  test("the bench's dbConfig applies to a site without one", () => {
    const bench = readyBench({
      dbConfig: { mariadbRef: { name: 'shared-mariadb', namespace: 'databases' } },
    });
    assert.deepEqual(planOf(site(), { bench }).database.mariadb, {
      name: 'shared-mariadb',
      namespace: 'databases',
    });
    const external = readyBench({
      dbConfig: { connectionSecretRef: { name: 'bench-db' }, host: 'proxysql', port: 6033 },
    });
    const db = planOf(site(), { bench: external }).database;
    assert.deepEqual(
      [db.provider, db.connectionSecret, db.host, db.port, db.user, db.mariadb],
      ['external', 'bench-db', 'proxysql', 6033, undefined, undefined],
    );
    assert.deepEqual(db.password, { name: 'bench-db', key: 'password', generated: false });
  });

  test("a site field that decides nothing is merged over the bench's", () => {
    const bench = readyBench({
      dbConfig: { connectionSecretRef: { name: 'bench-db' }, host: 'proxysql' },
    });
    const db = planOf(site({ dbConfig: { host: 'db.example.com', port: '3307' } }), {
      bench,
    }).database;
    assert.deepEqual(
      [db.provider, db.connectionSecret, db.host, db.port],
      ['external', 'bench-db', 'db.example.com', 3307],
    );
  });

  test("the site's own provider or mode decides; the bench fills only what applies to it", () => {
    // An external bench, a site asking for its own MariaDB: nothing external is inherited.
    const external = readyBench({
      dbConfig: { connectionSecretRef: { name: 'bench-db' }, host: 'proxysql' },
    });
    const dedicated = planOf(site({ dbConfig: { mode: 'dedicated' } }), {
      bench: external,
    }).database;
    assert.deepEqual(
      [dedicated.provider, dedicated.mode, dedicated.connectionSecret, dedicated.invalid],
      ['mariadb', 'dedicated', undefined, undefined],
    );
    // A dedicated bench: its dedicated settings fill what a dedicated site leaves unset.
    const bigBench = readyBench({
      dbConfig: { mode: 'dedicated', image: 'mariadb:11.4', storageSize: '50Gi' },
    });
    const filled = planOf(site({ dbConfig: { mode: 'dedicated', storageClassName: 'fast' } }), {
      bench: bigBench,
    }).database.dedicated;
    assert.deepEqual(
      [filled?.image, filled?.storageSize, filled?.storageClassName],
      ['mariadb:11.4', '50Gi', 'fast'],
    );
    // ... but not a shared site.
    const shared = planOf(site({ dbConfig: { mode: 'shared' } }), { bench: bigBench }).database;
    assert.deepEqual([shared.mode, shared.dedicated], ['shared', undefined]);
    // A shared bench's MariaDB serves a site that says provider mariadb.
    const sharedBench = readyBench({
      dbConfig: { mariadbRef: { name: 'shared-mariadb', namespace: 'databases' } },
    });
    assert.deepEqual(
      planOf(site({ dbConfig: { provider: 'mariadb' } }), { bench: sharedBench }).database.mariadb,
      { name: 'shared-mariadb', namespace: 'databases' },
    );
    // A site with its own credentials reaches the external bench's host (dbConfig.host wins
    // over the Secret's, API.md §2.0).
    const own = planOf(site({ dbConfig: { connectionSecretRef: { name: 'acme-db' } } }), {
      bench: external,
    }).database;
    assert.deepEqual([own.connectionSecret, own.host], ['acme-db', 'proxysql']);
  });

  test('an external site: its connection Secret, no DB user of ours, no generated password', () => {
    const db = planOf(
      site({ dbConfig: { provider: 'external', connectionSecretRef: { name: 'acme-db' } } }),
    ).database;
    assert.deepEqual(
      {
        provider: db.provider,
        mode: db.mode,
        user: db.user,
        host: db.host,
        port: db.port,
        connectionSecret: db.connectionSecret,
        password: db.password,
        mariadb: db.mariadb,
      },
      {
        provider: 'external',
        mode: 'shared',
        user: undefined,
        host: undefined,
        port: undefined,
        connectionSecret: 'acme-db',
        password: { name: 'acme-db', key: 'password', generated: false },
        mariadb: undefined,
      },
    );
  });

  test('dedicated: <site>-mariadb in the site namespace, its root Secret and the defaults', () => {
    const db = planOf(site({ dbConfig: { mode: 'dedicated' } })).database;
    assert.deepEqual(
      {
        host: db.host,
        port: db.port,
        mariadb: db.mariadb,
        dedicated: db.dedicated,
      },
      {
        host: 'acme-mariadb.production.svc.cluster.local',
        port: 3306,
        mariadb: { name: 'acme-mariadb', namespace: NAMESPACE },
        dedicated: {
          image: 'docker.io/library/mariadb:10.11',
          storageSize: '10Gi',
          storageClassName: undefined,
          resources: {
            requests: { cpu: '250m', memory: '512Mi' },
            limits: { cpu: '2', memory: '2Gi' },
          },
          rootSecret: 'acme-mariadb-root',
        },
      },
    );
    const sized = planOf(
      site({
        dbConfig: {
          mode: 'dedicated',
          storageSize: 20,
          resources: { requests: { memory: '3Gi' } },
        },
      }),
    ).database.dedicated;
    assert.equal(sized?.storageSize, '20');
    assert.deepEqual(sized.resources.limits, { cpu: '2', memory: '3Gi' });
  });

  test('status.database pins provider, mode, name and user; a bench change affects new sites only', () => {
    const pinned = withStatus(site(), {
      database: {
        provider: 'mariadb',
        mode: 'shared',
        name: 'legacy_db',
        user: 'legacy_user',
        host: 'frappe-mariadb.production.svc.cluster.local',
        port: 3306,
      },
    });
    const bench = readyBench({ dbConfig: { mode: 'dedicated' } });
    const db = planOf(pinned, { bench }).database;
    assert.deepEqual(
      [db.provider, db.mode, db.name, db.user, db.dedicated],
      ['mariadb', 'shared', 'legacy_db', 'legacy_user', undefined],
    );
    assert.equal(planOf(site(), { bench }).database.mode, 'dedicated');
  });

  test("the MariaDB of the site's existing Database object wins over dbConfig", () => {
    const s = site({ dbConfig: { mariadbRef: { name: 'new-mariadb', namespace: 'databases' } } });
    const pinnedMariaDB = { name: 'old-mariadb', namespace: NAMESPACE };
    assert.deepEqual(planOf(s, { pinnedMariaDB }).database.mariadb, pinnedMariaDB);
    assert.deepEqual(planOf(s).database.mariadb, { name: 'new-mariadb', namespace: 'databases' });
  });

  test('combinations no database can be made of are invalid, with a message', () => {
    // D2 checks only an explicit provider: a bench with a connection Secret and mode dedicated
    // passes admission, and resolves to an external dedicated database.
    const bench = readyBench({
      dbConfig: { mode: 'dedicated', connectionSecretRef: { name: 'bench-db' } },
    });
    assert.equal(
      planOf(site(), { bench }).database.invalid,
      'dbConfig.mode dedicated is only supported with provider mariadb',
    );
    // Pinned external, the connection Secret since removed from the bench.
    const pinned: Stored<FrappeSite> = {
      ...site(),
      status: { database: { provider: 'external', mode: 'shared', name: 'acme' } },
    };
    assert.equal(
      planOf(pinned).database.invalid,
      'provider external needs dbConfig.connectionSecretRef (on the site or its bench)',
    );
  });
});

describe('shared MariaDB of another namespace', () => {
  const mariadb = (namespace: string, allowed?: string): MariaDBObject => ({
    apiVersion: 'k8s.mariadb.com/v1alpha1',
    kind: 'MariaDB',
    metadata: {
      name: 'shared-mariadb',
      namespace,
      ...(allowed === undefined
        ? {}
        : { annotations: { [ALLOWED_NAMESPACES_ANNOTATION]: allowed } }),
    },
  });

  test("admitsNamespace: same namespace always; else by its owner's annotation", () => {
    assert.equal(admitsNamespace(mariadb('production'), 'production'), true);
    assert.equal(admitsNamespace(mariadb('databases'), 'production'), false);
    assert.equal(admitsNamespace(mariadb('databases', ''), 'production'), false);
    assert.equal(admitsNamespace(mariadb('databases', 'staging,production'), 'production'), true);
    assert.equal(
      admitsNamespace(mariadb('databases', ' staging , production '), 'production'),
      true,
    );
    assert.equal(admitsNamespace(mariadb('databases', '*'), 'production'), true);
    assert.equal(admitsNamespace(mariadb('databases', 'staging, *'), 'production'), true);
    assert.equal(admitsNamespace(mariadb('databases', 'prod,production-2'), 'production'), false);
  });

  test('mariadbEndpoint: the -primary Service under replication or Galera, its own port', () => {
    const spec = (s: Record<string, unknown>): MariaDBObject => ({
      ...mariadb('databases'),
      spec: s,
    });
    assert.deepEqual(mariadbEndpoint(mariadb('databases')), {
      host: 'shared-mariadb.databases.svc.cluster.local',
      port: 3306,
    });
    assert.deepEqual(mariadbEndpoint(spec({ replication: { enabled: true } })), {
      host: 'shared-mariadb-primary.databases.svc.cluster.local',
      port: 3306,
    });
    assert.deepEqual(mariadbEndpoint(spec({ galera: { enabled: true }, port: 3307 })), {
      host: 'shared-mariadb-primary.databases.svc.cluster.local',
      port: 3307,
    });
    assert.deepEqual(mariadbEndpoint(spec({ replication: { enabled: false }, port: '3307' })), {
      host: 'shared-mariadb.databases.svc.cluster.local',
      port: 3306,
    });
  });
});

describe('MigrationSlots', () => {
  const clock = () => {
    let now = 1_000_000;
    return { now: () => now, advance: (ms: number) => (now += ms) };
  };

  test('at most max run or are claimed per bench; benches are independent', () => {
    const slots = new MigrationSlots(clock().now);
    assert.equal(slots.tryClaim('ns/b', 'a-migrate', [], 2), true);
    assert.equal(slots.tryClaim('ns/b', 'b-migrate', [], 2), true);
    assert.equal(slots.tryClaim('ns/b', 'c-migrate', [], 2), false);
    assert.equal(slots.tryClaim('ns/other', 'c-migrate', [], 2), true);
    // A claim is held: asking again for a claimed Job says yes.
    assert.equal(slots.tryClaim('ns/b', 'a-migrate', [], 2), true);
  });

  test('a running Job keeps its slot; running Jobs count against max', () => {
    const slots = new MigrationSlots(clock().now);
    assert.equal(slots.tryClaim('ns/b', 'x-migrate', ['x-migrate'], 1), true);
    assert.equal(slots.tryClaim('ns/b', 'y-migrate', ['x-migrate'], 1), false);
    assert.equal(slots.tryClaim('ns/b', 'y-migrate', [], 1), true);
  });

  test('a claim is dropped once the cache shows its Job, and expires after 60 s', () => {
    const c = clock();
    const slots = new MigrationSlots(c.now);
    assert.equal(slots.tryClaim('ns/b', 'a-migrate', [], 1), true);
    // The cache shows the Job running: its claim is gone, the running Job holds the slot.
    assert.equal(slots.tryClaim('ns/b', 'b-migrate', ['a-migrate'], 1), false);
    // It finished: the slot is free (no claim was left behind).
    assert.equal(slots.tryClaim('ns/b', 'b-migrate', [], 1), true);
    // A claim whose Job never shows up expires after a minute, not before.
    c.advance(60_000);
    assert.equal(slots.tryClaim('ns/b', 'c-migrate', [], 1), false);
    c.advance(1);
    assert.equal(slots.tryClaim('ns/b', 'c-migrate', [], 1), true);
  });

  test('a deleted bench takes its claims with it (no memo of deleted benches stays)', () => {
    const slots = new MigrationSlots(clock().now);
    assert.equal(slots.tryClaim('ns/gone', 'a-migrate', [], 1), true);
    assert.equal(slots.tryClaim('ns/kept', 'b-migrate', [], 1), true);
    assert.equal(slots.benches, 2);
    slots.forget('ns/gone');
    assert.equal(slots.benches, 1);
    // A bench of the same name created later starts with every slot free.
    assert.equal(slots.tryClaim('ns/gone', 'c-migrate', [], 1), true);
  });
});

test('siteConcurrency: the configured count, or the largest bench hint, at least 1', () => {
  const bench = prodBench();
  assert.equal(bench.spec.siteReconcileConcurrency, 20);
  assert.equal(siteConcurrency(10, []), 10);
  assert.equal(siteConcurrency(10, [bench]), 20);
  assert.equal(siteConcurrency(30, [bench]), 30);
  assert.equal(siteConcurrency(0, []), 1);
  const noHint = { ...bench, spec: { ...bench.spec, siteReconcileConcurrency: undefined } };
  assert.equal(siteConcurrency(3, [noHint]), 3);
});

describe('generated Secrets', () => {
  test('only what the site does not name; dedicated adds the MariaDB root', () => {
    const names = (s: Stored<FrappeSite>) =>
      generatedSecrets(planOf(s)).map((g) => `${g.name}/${g.key}`);
    assert.deepEqual(names(site()), [
      'acme-admin/password',
      'acme-encryption-key/encryption_key',
      'acme-db-password/password',
    ]);
    assert.deepEqual(names(prodSite()), [
      'prod-site-encryption-key/encryption_key',
      'prod-site-db-password/password',
    ]);
    assert.deepEqual(
      names(
        site({
          encryptionKeySecretRef: { name: 'source-key' },
          dbConfig: { connectionSecretRef: { name: 'acme-db' } },
        }),
      ),
      ['acme-admin/password'],
    );
    assert.deepEqual(names(site({ dbConfig: { mode: 'dedicated' } })), [
      'acme-admin/password',
      'acme-encryption-key/encryption_key',
      'acme-db-password/password',
      'acme-mariadb-root/password',
    ]);
  });

  test('values: alphanumeric passwords of the length asked, Fernet keys, never repeated', () => {
    const a = randomPassword(24);
    assert.match(a, /^[A-Za-z0-9]{24}$/);
    assert.notEqual(randomPassword(32), randomPassword(32));
    const key = fernetKey();
    assert.match(key, /^[A-Za-z0-9_-]{43}=$/);
    assert.equal(Buffer.from(key, 'base64url').length, 32);
  });
});

describe('site Job inputs', () => {
  test('site-init re-runs for apps, domain, database or a retry, not for pod settings', () => {
    const hash = (s: Stored<FrappeSite>, ctx = {}) => {
      const plan = planOf(s, ctx);
      return inputsHash(initInputs(plan, endpointOf(plan)), plan.site);
    };
    const base = hash(site({ apps: ['erpnext'] }));
    assert.equal(hash(site({ apps: ['erpnext'] })), base);
    assert.notEqual(hash(site({ apps: ['erpnext', 'hrms'] })), base);
    assert.notEqual(hash(site({ apps: ['erpnext'], domain: 'shop.example.org' })), base);
    assert.notEqual(
      hash(site({ apps: ['erpnext'] }, { annotations: { 'vyogo.tech/retry': '1' } })),
      base,
    );
    assert.equal(
      hash(site({ apps: ['erpnext'] }), {
        bench: readyBench({ podConfig: { nodeSelector: { pool: 'frappe' } } }),
      }),
      base,
    );
  });

  test('restore installs the apps of spec.apps that the dump lacks (SITE_APPS)', async () => {
    const s = await recoveredSite();
    const plan = planOf({ ...s, spec: { ...s.spec, apps: ['erpnext', 'hrms'] } });
    const req = restoreRequest(plan, podOf(plan), endpointOf(plan), 'operator:test', '7');
    const env = req.job.spec.template.spec?.containers[0]?.env ?? [];
    assert.deepEqual(
      env.find((e) => e.name === SITE_ENV.siteApps),
      { name: SITE_ENV.siteApps, value: '["erpnext","hrms"]' },
    );
    const other = planOf({ ...s, spec: { ...s.spec, apps: ['erpnext'] } });
    const otherReq = restoreRequest(other, podOf(other), endpointOf(other), 'operator:test', '7');
    assert.notEqual(inputsHash(req.inputs, plan.site), inputsHash(otherReq.inputs, other.site));
  });
});

describe('status', () => {
  type Outcomes = Partial<Record<Exclude<keyof SiteSteps, 'restoring'>, StepOutcome | Error>>;

  /** A walk of the site's step table with the given outcomes (Done for the rest). */
  function walkOf(outcomes: Outcomes, restoring = false): Promise<Walk> {
    const run = (step: keyof Outcomes, reason: string) => () => {
      const o = outcomes[step];
      if (o instanceof Error) return Promise.reject(o);
      return Promise.resolve(o ?? done(reason, `${step} is done`));
    };
    const steps: SiteSteps = {
      restoring,
      bench: run('bench', 'BenchReady'),
      secrets: run('secrets', 'SecretsReady'),
      database: run('database', 'DatabaseReady'),
      restore: run('restore', 'Restored'),
      init: run('init', 'Initialized'),
      ingress: run('ingress', 'IngressCreated'),
      migrate: run('migrate', 'Migrated'),
    };
    return walkSteps(SITE_STEPS, steps);
  }

  const records = (r: Partial<SiteRecords> = {}): SiteRecords => ({
    url: 'https://acme.example.com',
    domain: 'acme.example.com',
    domainSource: 'sitename-default',
    database: undefined,
    installedApps: undefined,
    migratedImage: undefined,
    initInputsHash: undefined,
    restore: undefined,
    adminPasswordSecretVersion: undefined,
    work: undefined,
    migration: undefined,
    adminPassword: undefined,
    ...r,
  });
  const NOW = new Date('2025-06-01T12:00:00Z');

  async function statusOf(outcomes: Outcomes, r: Partial<SiteRecords> = {}, restoring = false) {
    return siteStatus(site(), await walkOf(outcomes, restoring), records(r), NOW);
  }
  const cond = (s: FrappeSiteStatus, type: string) => {
    const c = getCondition(s.conditions, type);
    return c === undefined ? undefined : `${c.status} ${c.reason}`;
  };

  test('every step done: Ready, with the URL; Progressing and Degraded False', async () => {
    const s = await statusOf({});
    assert.equal(s.phase, 'Ready');
    assert.equal(
      getCondition(s.conditions, 'Ready')?.message,
      'the site serves https://acme.example.com',
    );
    assert.deepEqual(
      ['Ready', 'Progressing', 'Degraded', 'BenchReady', 'Initialized', 'Restored'].map((t) =>
        cond(s, t),
      ),
      [
        'True SiteReady',
        'False Complete',
        'False AsExpected',
        'True BenchReady',
        'True Initialized',
        undefined,
      ],
    );
    assert.equal(s.observedGeneration, 1);
    assert.deepEqual(
      [s.siteURL, s.resolvedDomain, s.domainSource],
      ['https://acme.example.com', 'acme.example.com', 'sitename-default'],
    );
  });

  test('phase: Pending at bench or secrets, Provisioning at database or init, Restoring, Failed', async () => {
    const phase = async (o: Outcomes, restoring = false) =>
      (await statusOf(o, {}, restoring)).phase;
    assert.equal(
      await phase({ bench: wait('BenchNotReady', 'prod-bench is not Ready') }),
      'Pending',
    );
    assert.equal(await phase({ secrets: wait('SecretMissing', 'no Secret x') }), 'Pending');
    assert.equal(
      await phase({ database: wait('DatabaseNotReady', 'Database acme-db') }),
      'Provisioning',
    );
    assert.equal(
      await phase({ init: wait('JobRunning', 'Job acme-init is running') }),
      'Provisioning',
    );
    assert.equal(
      await phase({ restore: wait('JobRunning', 'Job acme-restore') }, true),
      'Restoring',
    );
    assert.equal(await phase({ init: wait('InitFailed', 'Job acme-init failed') }), 'Failed');
    assert.equal(
      await phase({ init: stop('AppNotInBench', 'app x is not in the image') }),
      'Failed',
    );
    assert.equal(
      await phase({ restore: wait('RestoreFailed', 'Job acme-restore failed') }, true),
      'Failed',
    );
  });

  test('Ready names the blocking step; steps not reached wait for it', async () => {
    const s = await statusOf({
      database: wait('MariaDBNotFound', 'MariaDB production/frappe-mariadb does not exist'),
    });
    const ready = getCondition(s.conditions, 'Ready');
    assert.equal(ready?.status, 'False');
    assert.equal(ready.reason, 'MariaDBNotFound');
    assert.equal(ready.message, 'step database: MariaDB production/frappe-mariadb does not exist');
    assert.equal(cond(s, 'Initialized'), 'False WaitingForDatabase');
    assert.equal(cond(s, 'IngressReady'), 'False WaitingForDatabase');
    // The restore step applies only to a restoring site.
    assert.equal(cond(s, 'Restored'), undefined);
  });

  test('Progressing while a Job of the site runs', async () => {
    const s = await statusOf(
      { init: wait('JobRunning', 'Job acme-init is running') },
      { work: { job: 'acme-init', phase: 'Running', message: 'Job acme-init: creating site' } },
    );
    assert.equal(cond(s, 'Progressing'), 'True JobRunning');
    assert.equal(
      getCondition(s.conditions, 'Progressing')?.message,
      'Job acme-init: creating site',
    );
  });

  test('a failed migration: Degraded MigrationFailed, Ready untouched', async () => {
    const message = 'Job acme-migrate-0d8d13a5 failed (MigrationFailed: ...)';
    const s = await statusOf(
      { migrate: done('MigrationFailed', message, { status: 'False', holdsReady: false }) },
      { migration: { job: 'acme-migrate-0d8d13a5', phase: 'Failed', message } },
    );
    assert.equal(s.phase, 'Ready');
    assert.equal(cond(s, 'Ready'), 'True SiteReady');
    assert.equal(cond(s, 'Migrated'), 'False MigrationFailed');
    assert.equal(cond(s, 'Degraded'), 'True MigrationFailed');
    assert.equal(getCondition(s.conditions, 'Degraded')?.message, message);
  });

  test('Degraded for a failed admin password reset or site Job, and for a step error', async () => {
    const pw = await statusOf(
      {},
      { adminPassword: { job: 'acme-admin-password', phase: 'Failed', message: 'no' } },
    );
    assert.equal(cond(pw, 'Degraded'), 'True AdminPasswordFailed');
    const job = await statusOf(
      { init: wait('InitFailed', 'Job acme-init failed') },
      { work: { job: 'acme-init', phase: 'Failed', message: 'Job acme-init failed' } },
    );
    assert.equal(cond(job, 'Degraded'), 'True JobFailed');
    const before: Stored<FrappeSite> = { ...site(), status: { observedGeneration: 0 } };
    const bumped: Stored<FrappeSite> = {
      ...before,
      metadata: { ...before.metadata, generation: 2 },
    };
    const walk = await walkOf({ database: new Error('apply Database acme-db: 503') });
    const err = siteStatus(bumped, walk, records(), NOW);
    assert.equal(cond(err, 'Degraded'), 'True DatabaseError');
    assert.equal(cond(err, 'DatabaseReady'), 'False DatabaseError');
    assert.equal(
      getCondition(err.conditions, 'Degraded')?.message,
      'step database failed: apply Database acme-db: 503',
    );
    // A generation not fully processed is not claimed as observed.
    assert.equal(err.observedGeneration, 0);
  });

  test('an Ingress disabled by the user keeps the site Ready', async () => {
    const s = await statusOf({
      ingress: done('Disabled', 'ingress.enabled is false', { status: 'False', holdsReady: false }),
    });
    assert.equal(s.phase, 'Ready');
    assert.equal(cond(s, 'IngressReady'), 'False Disabled');
  });

  test('the records: the pinned database (no password) and its reference-compatible fields', async () => {
    const database = {
      provider: 'mariadb',
      mode: 'shared',
      host: 'shared-mariadb.databases.svc.cluster.local',
      port: 3306,
      name: '_ccc65a15_acme_example_com',
      user: '_ccc65a15_acme_example_com',
      secretName: 'acme-db-password',
    };
    const s = await statusOf(
      {},
      {
        database,
        installedApps: ['frappe', 'erpnext'],
        migratedImage: BENCH_IMAGE,
        adminPasswordSecretVersion: '42',
      },
    );
    assert.deepEqual(s.database, database);
    assert.equal(s.databaseName, database.name);
    assert.equal(s.databaseCredentialsSecret, 'acme-db-password');
    assert.deepEqual(
      [s.installedApps, s.migratedImage, s.adminPasswordSecretVersion],
      [['frappe', 'erpnext'], BENCH_IMAGE, '42'],
    );
  });

  test('transitions: Warnings for MigrationFailed and InitFailed, nothing when nothing changed', async () => {
    const ready = await statusOf({});
    assert.deepEqual(
      transitions(undefined, ready).map((e) => `${e.type} ${e.reason}`),
      ['Normal Initialized', 'Normal Migrated', 'Normal SiteReady'],
    );
    assert.deepEqual(transitions(ready, ready), []);
    const again = siteStatus({ ...site(), status: ready }, await walkOf({}), records(), NOW);
    assert.deepEqual(again, ready);
    assert.deepEqual(transitions(ready, again), []);

    const message = 'Job acme-migrate-00a1567c failed';
    const failedMigration = siteStatus(
      { ...site(), status: ready },
      await walkOf({
        migrate: done('MigrationFailed', message, { status: 'False', holdsReady: false }),
      }),
      records({ migration: { job: 'acme-migrate-00a1567c', phase: 'Failed', message } }),
      NOW,
    );
    const events = transitions(ready, failedMigration);
    assert.deepEqual(
      events.map((e) => `${e.type} ${e.reason} ${e.action}`),
      ['Warning MigrationFailed Migrate'],
    );
    assert.equal(events[0]?.note, message);

    const initFailed = siteStatus(
      site(),
      await walkOf({ init: wait('InitFailed', 'Job acme-init failed (NewSiteFailed: ...)') }),
      records(),
      NOW,
    );
    assert.ok(
      transitions(undefined, initFailed).some(
        (e) => e.type === 'Warning' && e.reason === 'InitFailed' && e.action === 'SiteInit',
      ),
    );
    const cross = siteStatus(
      site(),
      await walkOf({ database: stop('CrossNamespaceNotAllowed', 'annotate the MariaDB') }),
      records(),
      NOW,
    );
    assert.ok(
      transitions(undefined, cross).some(
        (e) => e.type === 'Warning' && e.reason === 'CrossNamespaceNotAllowed',
      ),
    );
  });
});
