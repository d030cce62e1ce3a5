// Unit tests of the logger's configuration (level, JSON shape, redaction of secret-bearing
// fields) and of the `frappe-operator run` flags.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { parseRunFlags } from '../../../src/cli.ts';
import { createLogger, type LogLevel } from '../../../src/log.ts';

function capture(level?: LogLevel): {
  logger: ReturnType<typeof createLogger>;
  lines: () => Record<string, unknown>[];
} {
  let out = '';
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      out += chunk.toString();
      done();
    },
  });
  const logger = createLogger({ level, destination });
  return {
    logger,
    lines: () =>
      out
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('logger', () => {
  it('writes JSON lines with a level label, time and child bindings', () => {
    const { logger, lines } = capture('info');
    logger
      .child({ controller: 'site', namespace: 'ns', name: 'acme', reconcileID: 'r1' })
      .info({ step: 'init' }, 'hello');
    logger.debug({}, 'hidden');
    const [line, ...rest] = lines();
    assert.equal(rest.length, 0, 'debug is below info');
    assert.ok(line);
    assert.equal(line.level, 'info');
    assert.equal(line.msg, 'hello');
    assert.match(String(line.time), /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual(
      [line.controller, line.namespace, line.name, line.reconcileID, line.step],
      ['site', 'ns', 'acme', 'r1', 'init'],
    );
  });

  it('redacts secret-bearing fields wherever they appear', () => {
    const { logger, lines } = capture('debug');
    logger.info(
      {
        password: 'p0',
        token: 't0',
        object: { data: { key: 'c2VjcmV0' }, stringData: { key: 'plain-secret' } },
        secret: 's0',
        req: { headers: { authorization: 'Bearer abc', Authorization: 'Bearer def' } },
        deep: { a: { b: { password: 'p3' } } },
        safe: 'visible',
      },
      'm',
    );
    const text = JSON.stringify(lines());
    for (const secret of [
      'p0',
      't0',
      's0',
      'c2VjcmV0',
      'plain-secret',
      'Bearer abc',
      'Bearer def',
      'p3',
    ]) {
      assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    }
    assert.ok(text.includes('visible'));
    assert.ok(text.includes('[REDACTED]'));
  });

  it('redacts by pattern: any key containing password, secret, token, key or credential, at any depth', () => {
    const { logger, lines } = capture('debug');
    const child = logger.child({ controller: 'x', adminPassword: 'child-binding-pw' });
    child.info(
      {
        dbPassword: 'v-dbpassword',
        RedisSecret: 'v-redissecret',
        accessToken: 'v-accesstoken',
        apiKey: 'v-apikey',
        awsCredentials: { id: 'v-awsid', value: 'v-awsvalue' },
        a: { b: { c: { d: { e: { f: { serviceAccountToken: 'v-deep-token' } } } } } },
        list: [{ encryption_key: 'v-in-a-list' }],
        name: 'prod-bench-redis-auth',
        count: 3,
      },
      'reconciled',
    );
    const [line] = lines();
    const text = JSON.stringify(line);
    for (const v of [
      'child-binding-pw',
      'v-dbpassword',
      'v-redissecret',
      'v-accesstoken',
      'v-apikey',
      'v-awsid',
      'v-awsvalue',
      'v-deep-token',
      'v-in-a-list',
    ]) {
      assert.ok(!text.includes(v), `${v} leaked: ${text}`);
    }
    assert.ok(line);
    assert.equal(line.name, 'prod-bench-redis-auth');
    assert.equal(line.count, 3);
    assert.equal(line.controller, 'x');
    assert.deepEqual(line.list, [{ encryption_key: '[REDACTED]' }]);
  });

  it('scrubs credentials out of messages and errors', () => {
    const { logger, lines } = capture('debug');
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
    const err = Object.assign(new Error(`request failed: Authorization: Bearer ${jwt}`), {
      details: { token: 'v-error-field' },
    });
    logger.warn({ err }, 'connecting to redis://:v-url-pw@redis:6379 with password=v-pair-pw');
    logger.error(new Error('Secret data {"password":"c3VwZXJzZWNyZXRwYXNzd29yZDEyMw=="}'));
    const text = JSON.stringify(lines());
    for (const v of [
      jwt,
      'v-error-field',
      'v-url-pw',
      'v-pair-pw',
      'c3VwZXJzZWNyZXRwYXNzd29yZDEyMw==',
    ]) {
      assert.ok(!text.includes(v), `${v} leaked: ${text}`);
    }
    const [first, second] = lines();
    assert.ok(first && second);
    assert.equal(
      first.msg,
      'connecting to redis://:[REDACTED]@redis:6379 with password=[REDACTED]',
    );
    assert.match(String((first.err as { message?: string }).message), /Bearer \[REDACTED\]/);
    assert.match(String((first.err as { stack?: string }).stack), /^Error: request failed/);
    assert.equal((second.err as { type?: string }).type, 'Error');
    assert.match(String(second.msg), /Secret data/);
  });
});

describe('frappe-operator run flags', () => {
  it('defaults to controller-runtime’s addresses with leader election on', () => {
    assert.deepEqual(parseRunFlags([]), {
      metricsBindAddress: ':8443',
      healthProbeBindAddress: ':8081',
      leaderElect: true,
      metricsCertDir: undefined,
    });
  });

  it('takes --flag=value, --flag value and a bare --leader-elect', () => {
    assert.deepEqual(
      parseRunFlags([
        '--metrics-bind-address=127.0.0.1:0',
        '--health-probe-bind-address',
        ':9000',
        '--leader-elect=false',
        '--metrics-cert-dir=/certs',
      ]),
      {
        metricsBindAddress: '127.0.0.1:0',
        healthProbeBindAddress: ':9000',
        leaderElect: false,
        metricsCertDir: '/certs',
      },
    );
    assert.equal(parseRunFlags(['--leader-elect']).leaderElect, true);
  });

  it('rejects unknown flags and bad booleans', () => {
    assert.throws(() => parseRunFlags(['--metrics-addr=:8080']), /Unknown option/);
    assert.throws(
      () => parseRunFlags(['--leader-elect=yes']),
      /--leader-elect=yes: expected true or false/,
    );
  });
});
