// Unit tests of the operator configuration (API.md §4.1): defaults, precedence, validation of
// every typed key, error messages naming key and source, runtime updates keeping previous
// values, start-up-only keys, unknown keys reported once, and the namespace look-up.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { OperatorConfigHolder } from '../../../src/config/holder.ts';
import { operatorNamespace } from '../../../src/config/namespace.ts';
import {
  CONFIG_SPEC,
  describeConfigError,
  OperatorConfigError,
  parseOperatorConfig,
  type ConfigKey,
} from '../../../src/config/operator-config.ts';
import { parseBindAddress } from '../../../src/runtime/bind-address.ts';

const parse = (configMapData: Record<string, string>, env: Record<string, string> = {}) =>
  parseOperatorConfig({ configMapData, env });

describe('parseOperatorConfig', () => {
  it('gives the documented defaults with no ConfigMap and no env', () => {
    const r = parseOperatorConfig({ env: {} });
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.unknownKeys, []);
    assert.deepEqual(r.config, {
      maxConcurrentSiteReconciles: 10,
      maxConcurrentReconciles: 5,
      defaultFrappeImage: 'docker.io/frappe/erpnext:version-15',
      enforceHTTPS: false,
      defaultClusterIssuer: '',
      defaultIngressClassName: '',
      defaultRedisImage: 'docker.io/library/redis:7.4-alpine',
      defaultRedisExporterImage: 'docker.io/oliver006/redis_exporter:v1.62.0',
      defaultStatsdExporterImage: 'docker.io/prom/statsd-exporter:v0.31.0',
      defaultMariaDBImage: 'docker.io/library/mariadb:10.11',
      metricsAuth: 'tokenreview',
      watchNamespaces: [],
      defaultUID: 1001,
      defaultGID: 0,
      defaultFSGroup: 0,
      isOpenShift: undefined,
      operatorImage: undefined,
      logLevel: 'info',
    });
    assert.ok(Object.values(r.sources).every((s) => s === 'default'));
  });

  it('maps every ConfigMap key and env variable of API.md §4.1', () => {
    const table: [ConfigKey, string | undefined, string][] = [
      [
        'maxConcurrentSiteReconciles',
        'maxConcurrentSiteReconciles',
        'FRAPPE_MAX_CONCURRENT_SITE_RECONCILES',
      ],
      ['maxConcurrentReconciles', 'maxConcurrentReconciles', 'FRAPPE_MAX_CONCURRENT_RECONCILES'],
      ['defaultFrappeImage', 'defaultFrappeImage', 'FRAPPE_DEFAULT_FRAPPE_IMAGE'],
      ['enforceHTTPS', 'enforceHTTPS', 'FRAPPE_ENFORCE_HTTPS'],
      ['defaultClusterIssuer', 'defaultClusterIssuer', 'FRAPPE_DEFAULT_CLUSTER_ISSUER'],
      ['defaultIngressClassName', 'defaultIngressClassName', 'FRAPPE_DEFAULT_INGRESS_CLASS'],
      ['defaultRedisImage', 'defaultRedisImage', 'FRAPPE_DEFAULT_REDIS_IMAGE'],
      [
        'defaultRedisExporterImage',
        'defaultRedisExporterImage',
        'FRAPPE_DEFAULT_REDIS_EXPORTER_IMAGE',
      ],
      [
        'defaultStatsdExporterImage',
        'defaultStatsdExporterImage',
        'FRAPPE_DEFAULT_STATSD_EXPORTER_IMAGE',
      ],
      ['defaultMariaDBImage', 'defaultMariaDBImage', 'FRAPPE_DEFAULT_MARIADB_IMAGE'],
      ['metricsAuth', 'metricsAuth', 'FRAPPE_METRICS_AUTH'],
      ['watchNamespaces', 'watchNamespaces', 'FRAPPE_WATCH_NAMESPACES'],
      ['defaultUID', undefined, 'FRAPPE_DEFAULT_UID'],
      ['defaultGID', undefined, 'FRAPPE_DEFAULT_GID'],
      ['defaultFSGroup', undefined, 'FRAPPE_DEFAULT_FSGROUP'],
      ['isOpenShift', undefined, 'FRAPPE_IS_OPENSHIFT'],
      ['operatorImage', undefined, 'FRAPPE_OPERATOR_IMAGE'],
      ['logLevel', undefined, 'FRAPPE_LOG_LEVEL'],
    ];
    assert.deepEqual(table.map(([k]) => k).sort(), Object.keys(CONFIG_SPEC).sort());
    for (const [key, cmKey, env] of table) {
      assert.equal(CONFIG_SPEC[key].configMapKey, cmKey, key);
      assert.equal(CONFIG_SPEC[key].env, env, key);
    }
  });

  it('takes a ConfigMap key over its env variable over the default', () => {
    const env = {
      FRAPPE_MAX_CONCURRENT_RECONCILES: '7',
      FRAPPE_MAX_CONCURRENT_SITE_RECONCILES: '20',
    };
    const r = parse({ maxConcurrentSiteReconciles: '30' }, env);
    assert.deepEqual(r.errors, []);
    assert.equal(r.config.maxConcurrentSiteReconciles, 30);
    assert.equal(r.sources.maxConcurrentSiteReconciles, 'configMap');
    assert.equal(r.config.maxConcurrentReconciles, 7);
    assert.equal(r.sources.maxConcurrentReconciles, 'env');
    assert.equal(r.config.enforceHTTPS, false);
    assert.equal(r.sources.enforceHTTPS, 'default');
  });

  it('treats empty and blank values as unset and trims values', () => {
    const r = parse(
      { maxConcurrentReconciles: '  ', defaultRedisImage: ' redis:7 \n' },
      { FRAPPE_MAX_CONCURRENT_RECONCILES: '8', FRAPPE_ENFORCE_HTTPS: '' },
    );
    assert.deepEqual(r.errors, []);
    assert.equal(r.config.maxConcurrentReconciles, 8);
    assert.equal(r.config.enforceHTTPS, false);
    assert.equal(r.sources.enforceHTTPS, 'default');
    assert.equal(r.config.defaultRedisImage, 'redis:7');
  });

  it('ignores env-only settings in the ConfigMap, reporting them as unknown keys', () => {
    const r = parse({ defaultUID: '5', gitEnabled: 'true', fpmRepositories: '[]' });
    assert.equal(r.config.defaultUID, 1001);
    assert.deepEqual(r.unknownKeys, ['defaultUID', 'fpmRepositories', 'gitEnabled']);
    assert.deepEqual(r.errors, []);
  });

  describe('integers ≥ 1 (worker counts)', () => {
    for (const bad of ['0', '-1', '1.5', '1e3', 'ten', '+3', '0x10', '9007199254740993']) {
      it(`rejects ${JSON.stringify(bad)}`, () => {
        const r = parse({ maxConcurrentReconciles: bad });
        assert.equal(r.errors.length, 1);
        assert.equal(r.errors[0]?.key, 'maxConcurrentReconciles');
        assert.equal(r.config.maxConcurrentReconciles, 5, 'falls back to the default');
      });
    }
    for (const [good, n] of [
      ['1', 1],
      ['64', 64],
      ['007', 7],
    ] as const) {
      it(`accepts ${good}`, () => {
        assert.equal(
          parse({ maxConcurrentSiteReconciles: good }).config.maxConcurrentSiteReconciles,
          n,
        );
      });
    }
  });

  describe('UID / GID / FSGROUP (non-negative, ≤ 2^31-1)', () => {
    it('accepts 0 and the largest valid ID', () => {
      const r = parse(
        {},
        {
          FRAPPE_DEFAULT_UID: '0',
          FRAPPE_DEFAULT_GID: '2147483647',
          FRAPPE_DEFAULT_FSGROUP: '2000',
        },
      );
      assert.deepEqual(r.errors, []);
      assert.deepEqual(
        [r.config.defaultUID, r.config.defaultGID, r.config.defaultFSGroup],
        [0, 2147483647, 2000],
      );
    });
    it('rejects negatives, fractions and too-large IDs', () => {
      const r = parse(
        {},
        {
          FRAPPE_DEFAULT_UID: '-1',
          FRAPPE_DEFAULT_GID: '2147483648',
          FRAPPE_DEFAULT_FSGROUP: '1.0',
        },
      );
      assert.deepEqual(
        r.errors.map((e) => e.key),
        ['defaultUID', 'defaultGID', 'defaultFSGroup'],
      );
    });
  });

  describe('booleans', () => {
    it('accepts exactly true and false', () => {
      assert.equal(parse({ enforceHTTPS: 'true' }).config.enforceHTTPS, true);
      assert.equal(parse({}, { FRAPPE_IS_OPENSHIFT: 'false' }).config.isOpenShift, false);
      assert.equal(parse({}, { FRAPPE_IS_OPENSHIFT: 'true' }).config.isOpenShift, true);
    });
    for (const bad of ['yes', '1', 'TRUE', 'on']) {
      it(`rejects ${bad}`, () => {
        assert.equal(parse({ enforceHTTPS: bad }).errors[0]?.message, 'must be true or false');
      });
    }
  });

  describe('image references', () => {
    const good = [
      'erpnext',
      'frappe/erpnext:v15.1.0',
      'docker.io/frappe/erpnext:version-15',
      'registry.local:5000/team/frappe:v15',
      'localhost:5000/frappe',
      '[::1]:5000/frappe:x',
      `ghcr.io/org/img@sha256:${'a'.repeat(64)}`,
      `ghcr.io/org/img:v1@sha256:${'b'.repeat(64)}`,
      'quay.io/a_b/c__d/e-f---g.h:latest',
    ];
    for (const ref of good) {
      it(`accepts ${ref}`, () => {
        assert.deepEqual(parse({ defaultFrappeImage: ref }).errors, []);
      });
    }
    const bad = [
      'Frappe/ERPNext',
      'frappe/erpnext:',
      'frappe/erpnext:-bad',
      'frappe//erpnext',
      'frappe/erpnext:v1 extra',
      'https://docker.io/frappe/erpnext',
      'frappe/erpnext@sha256:short',
      `x:${'t'.repeat(129)}`,
      `${'a'.repeat(256)}:v1`,
    ];
    for (const ref of bad) {
      it(`rejects ${ref.slice(0, 40)}`, () => {
        const r = parse({}, { FRAPPE_OPERATOR_IMAGE: ref });
        assert.equal(r.errors.length, 1);
        assert.equal(r.errors[0]?.key, 'operatorImage');
        assert.equal(r.config.operatorImage, undefined);
      });
    }
  });

  it('validates the enums metricsAuth and log level', () => {
    assert.equal(parse({ metricsAuth: 'none' }).config.metricsAuth, 'none');
    assert.equal(parse({}, { FRAPPE_LOG_LEVEL: 'debug' }).config.logLevel, 'debug');
    const r = parse({ metricsAuth: 'basic' }, { FRAPPE_LOG_LEVEL: 'verbose' });
    assert.deepEqual(
      r.errors.map((e) => [e.key, e.message]),
      [
        ['metricsAuth', 'must be one of tokenreview, none'],
        ['logLevel', 'must be one of debug, info, warn, error'],
      ],
    );
  });

  it('watchNamespaces: comma-separated namespace names, blanks and duplicates dropped; empty: all', () => {
    assert.deepEqual(parse({}).config.watchNamespaces, []);
    assert.deepEqual(
      parse({ watchNamespaces: ' team-a, team-b,,team-a ' }).config.watchNamespaces,
      ['team-a', 'team-b'],
    );
    const fromEnv = parse({}, { FRAPPE_WATCH_NAMESPACES: 'production' });
    assert.deepEqual(fromEnv.config.watchNamespaces, ['production']);
    assert.equal(fromEnv.sources.watchNamespaces, 'env');
    // The ConfigMap key wins over env.
    assert.deepEqual(
      parse({ watchNamespaces: 'staging' }, { FRAPPE_WATCH_NAMESPACES: 'production' }).config
        .watchNamespaces,
      ['staging'],
    );
    assert.deepEqual(
      parse({ watchNamespaces: 'ok, Not_A_Namespace' }).errors.map(describeConfigError),
      [
        'ConfigMap frappe-operator-config key watchNamespaces="ok, Not_A_Namespace": "Not_A_Namespace" is not a namespace name (DNS-1123 label)',
      ],
    );
    assert.equal(parse({ watchNamespaces: ' , ' }).errors[0]?.key, 'watchNamespaces');
  });

  it('validates issuer and ingress class as object names', () => {
    assert.equal(
      parse({ defaultClusterIssuer: 'letsencrypt-prod' }).config.defaultClusterIssuer,
      'letsencrypt-prod',
    );
    const r = parse({ defaultIngressClassName: 'Nginx_Class' });
    assert.equal(r.errors[0]?.key, 'defaultIngressClassName');
  });

  it('names the key, the source and the value in error messages', () => {
    const r = parse({ maxConcurrentReconciles: 'lots' }, { FRAPPE_DEFAULT_UID: '-5' });
    assert.deepEqual(r.errors.map(describeConfigError), [
      'ConfigMap frappe-operator-config key maxConcurrentReconciles="lots": must be an integer ≥ 1',
      'env FRAPPE_DEFAULT_UID="-5": must be an integer ≥ 0',
    ]);
  });

  it('keeps the previous value (not the default, not env) when a new value is invalid', () => {
    const first = parse(
      { maxConcurrentReconciles: '12' },
      { FRAPPE_MAX_CONCURRENT_RECONCILES: '3' },
    );
    const next = parseOperatorConfig({
      configMapData: { maxConcurrentReconciles: 'x' },
      env: { FRAPPE_MAX_CONCURRENT_RECONCILES: '3' },
      previous: first,
    });
    assert.equal(next.config.maxConcurrentReconciles, 12);
    assert.equal(next.sources.maxConcurrentReconciles, 'previous');
    assert.equal(next.errors.length, 1);
  });
});

describe('OperatorConfigHolder', () => {
  it('fails start-up with every invalid value, naming keys and sources', () => {
    assert.throws(
      () =>
        OperatorConfigHolder.fromStartup({
          configMapData: { maxConcurrentSiteReconciles: '0' },
          env: { FRAPPE_METRICS_AUTH: 'mtls' },
        }),
      (e: unknown) => {
        assert.ok(e instanceof OperatorConfigError);
        assert.equal(e.errors.length, 2);
        assert.match(
          e.message,
          /ConfigMap frappe-operator-config key maxConcurrentSiteReconciles="0"/,
        );
        assert.match(e.message, /env FRAPPE_METRICS_AUTH="mtls"/);
        return true;
      },
    );
  });

  it('returns the unknown keys at start-up and reports each one only once afterwards', () => {
    const { holder, unknownKeys } = OperatorConfigHolder.fromStartup({
      configMapData: { gitEnabled: 'true' },
      env: {},
    });
    assert.deepEqual(unknownKeys, ['gitEnabled']);
    assert.deepEqual(holder.update({ gitEnabled: 'false', fpmRepositories: 'x' }).newUnknownKeys, [
      'fpmRepositories',
    ]);
    assert.deepEqual(
      holder.update({ gitEnabled: 'false', fpmRepositories: 'x' }).newUnknownKeys,
      [],
    );
  });

  it('applies valid changes, tells subscribers which keys changed, and keeps previous values for invalid ones', () => {
    const { holder } = OperatorConfigHolder.fromStartup({
      configMapData: { maxConcurrentReconciles: '4' },
      env: { FRAPPE_ENFORCE_HTTPS: 'true' },
    });
    const seen: [number, readonly ConfigKey[]][] = [];
    const unsubscribe = holder.subscribe((c, changed) =>
      seen.push([c.maxConcurrentReconciles, changed]),
    );

    const u1 = holder.update({ maxConcurrentReconciles: '9', maxConcurrentSiteReconciles: 'many' });
    assert.deepEqual(u1.changed, ['maxConcurrentReconciles']);
    assert.deepEqual(
      u1.errors.map((e) => e.key),
      ['maxConcurrentSiteReconciles'],
    );
    assert.equal(holder.config.maxConcurrentSiteReconciles, 10, 'previous value kept');
    assert.equal(holder.config.maxConcurrentReconciles, 9);
    assert.equal(holder.sourceOf('maxConcurrentReconciles'), 'configMap');
    assert.equal(holder.config.enforceHTTPS, true);
    assert.equal(holder.sourceOf('enforceHTTPS'), 'env');

    // No change → no notification.
    assert.deepEqual(holder.update({ maxConcurrentReconciles: '9' }).changed, []);
    // ConfigMap deleted → env and defaults again.
    assert.deepEqual(holder.update(undefined).changed, ['maxConcurrentReconciles']);
    assert.equal(holder.config.maxConcurrentReconciles, 5);

    unsubscribe();
    holder.update({ maxConcurrentReconciles: '2' });
    assert.deepEqual(seen, [
      [9, ['maxConcurrentReconciles']],
      [5, ['maxConcurrentReconciles']],
    ]);
  });

  it('keeps start-up-only settings and reports that they need a restart', () => {
    const { holder } = OperatorConfigHolder.fromStartup({ configMapData: {}, env: {} });
    const u = holder.update({ metricsAuth: 'none' });
    assert.deepEqual(u.restartRequired, ['metricsAuth']);
    assert.deepEqual(u.changed, []);
    assert.equal(holder.config.metricsAuth, 'tokenreview');
    assert.equal(holder.sourceOf('metricsAuth'), 'default');
  });

  it('watchNamespaces is start-up only; the same list written again is no change', () => {
    const { holder } = OperatorConfigHolder.fromStartup({
      configMapData: { watchNamespaces: 'a,b' },
      env: {},
    });
    const same = holder.update({ watchNamespaces: 'a, b' });
    assert.deepEqual([same.changed, same.restartRequired], [[], []]);
    const other = holder.update({ watchNamespaces: 'a,b,c' });
    assert.deepEqual(other.restartRequired, ['watchNamespaces']);
    assert.deepEqual(holder.config.watchNamespaces, ['a', 'b']);
  });
});

describe('operatorNamespace', () => {
  it('prefers FRAPPE_OPERATOR_NAMESPACE, then POD_NAMESPACE, then the service-account file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ns-'));
    const file = path.join(dir, 'namespace');
    fs.writeFileSync(file, 'from-file\n');
    assert.equal(
      operatorNamespace({ FRAPPE_OPERATOR_NAMESPACE: 'a', POD_NAMESPACE: 'b' }, file),
      'a',
    );
    assert.equal(operatorNamespace({ POD_NAMESPACE: 'b' }, file), 'b');
    assert.equal(operatorNamespace({ FRAPPE_OPERATOR_NAMESPACE: ' ' }, file), 'from-file');
    fs.rmSync(dir, { recursive: true });
  });

  it('fails with an error saying what to set when nothing names it', () => {
    assert.throws(
      () => operatorNamespace({}, '/nonexistent/namespace'),
      /set FRAPPE_OPERATOR_NAMESPACE/,
    );
  });
});

describe('parseBindAddress', () => {
  it('parses controller-runtime bind addresses', () => {
    assert.deepEqual(parseBindAddress('x', ':8443'), { host: undefined, port: 8443 });
    assert.deepEqual(parseBindAddress('x', '127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
    assert.deepEqual(parseBindAddress('x', '[::1]:8081'), { host: '::1', port: 8081 });
    assert.equal(parseBindAddress('x', '0'), undefined);
  });
  for (const bad of ['8443', ':', ':99999', 'host', '::1:80', '[::1]']) {
    it(`rejects ${bad}`, () => {
      assert.throws(() => parseBindAddress('metrics-bind-address', bad), /--metrics-bind-address=/);
    });
  }
});
