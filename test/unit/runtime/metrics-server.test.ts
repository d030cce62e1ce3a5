// Unit tests of the secure metrics server against a fake TokenReview/SubjectAccessReview API:
// HTTPS only, only /metrics, 401/403/200 by token, review caching (per token, concurrent scrapes
// sharing one review, API failures not cached, bounded size), `metricsAuth: none`, and a
// certificate directory. The same claims against a real API server are in
// test/integration/manager.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TLSSocket } from 'node:tls';
import { Registry, Counter } from 'prom-client';
import {
  MetricsServer,
  TokenReviewAuthorizer,
  type MetricsAuthorizer,
} from '../../../src/runtime/metrics-server.ts';
import { selfSignedCertificate } from '../../../src/runtime/tls.ts';

const registry = new Registry();
new Counter({ name: 'test_scrapes_total', help: 'test', registers: [registry] }).inc(3);

/** Tokens: alice may read metrics, bob may not, anything else is invalid; `boom` breaks the API. */
function fakeApi(): {
  createRaw: (path: string, body: unknown) => Promise<unknown>;
  calls: string[];
} {
  const calls: string[] = [];
  const createRaw = async (p: string, body: unknown): Promise<unknown> => {
    await new Promise((r) => setTimeout(r, 5));
    const spec = (body as { spec: Record<string, unknown> }).spec;
    if (p.endsWith('/tokenreviews')) {
      calls.push('TokenReview');
      const token = spec.token;
      if (token === 'boom') throw new Error('connect ECONNREFUSED');
      if (token === 'alice' || token === 'bob') {
        return {
          status: {
            authenticated: true,
            user: {
              username: `system:serviceaccount:ns:${token}`,
              groups: ['system:authenticated'],
            },
          },
        };
      }
      return { status: { authenticated: false, error: 'token invalid' } };
    }
    calls.push('SubjectAccessReview');
    const attrs = spec.nonResourceAttributes as { path: string; verb: string };
    assert.deepEqual(attrs, { path: '/metrics', verb: 'get' });
    assert.deepEqual(spec.groups, ['system:authenticated']);
    return { status: { allowed: spec.user === 'system:serviceaccount:ns:alice' } };
  };
  return { createRaw, calls };
}

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
  cert: X509Certificate;
}

function request(
  port: number,
  urlPath: string,
  opts: { token?: string; method?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: urlPath,
        method: opts.method ?? 'GET',
        rejectUnauthorized: false,
        agent: false,
        headers: opts.token === undefined ? {} : { authorization: `Bearer ${opts.token}` },
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => {
          const peer =
            res.socket instanceof TLSSocket ? res.socket.getPeerX509Certificate() : undefined;
          if (peer === undefined) reject(new Error('no peer certificate'));
          else resolve({ status: res.statusCode ?? 0, body, headers: res.headers, cert: peer });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function serve(
  authorizer: MetricsAuthorizer | undefined,
  certDir?: string,
): Promise<{ server: MetricsServer; port: number }> {
  const server = new MetricsServer({
    address: { host: '127.0.0.1', port: 0 },
    authorizer,
    registry,
    certDir,
  });
  const { port } = (await server.start()) satisfies AddressInfo;
  return { server, port };
}

describe('MetricsServer with TokenReview authorization', () => {
  const api = fakeApi();
  const DENY_TTL_MS = 10_000;
  let server: MetricsServer;
  let port: number;
  before(async () => {
    ({ server, port } = await serve(new TokenReviewAuthorizer(api, { denyTtlMs: DENY_TTL_MS })));
  });
  after(() => server.stop());

  it('serves only /metrics', async () => {
    assert.equal((await request(port, '/')).status, 404);
    assert.equal((await request(port, '/metrics/extra', { token: 'alice' })).status, 404);
    assert.equal((await request(port, '/healthz')).status, 404);
    const post = await request(port, '/metrics', { token: 'alice', method: 'POST' });
    assert.equal(post.status, 405);
  });

  it('answers 401 without a token and with an invalid one', async () => {
    const none = await request(port, '/metrics');
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    assert.equal((await request(port, '/metrics', { token: 'forged' })).status, 401);
  });

  it('answers 403 to an authenticated user without RBAC', async () => {
    const r = await request(port, '/metrics', { token: 'bob' });
    assert.equal(r.status, 403);
    assert.match(r.body, /system:serviceaccount:ns:bob may not get \/metrics/);
  });

  it('answers 200 with the registry to an allowed user, over a self-signed certificate', async () => {
    const r = await request(port, '/metrics?x=1', { token: 'alice' });
    assert.equal(r.status, 200);
    assert.match(r.body, /^test_scrapes_total 3$/m);
    assert.match(String(r.headers['content-type']), /^text\/plain/);
    assert.equal(r.cert.subject, 'CN=frappe-operator-metrics');
  });

  it('caches decisions per token and shares one review among concurrent scrapes', async () => {
    api.calls.length = 0;
    const results = await Promise.all(
      Array.from({ length: 5 }, () => request(port, '/metrics', { token: 'alice' })),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      [200, 200, 200, 200, 200],
    );
    assert.deepEqual(api.calls, [], 'alice was reviewed by an earlier test and is still cached');

    await Promise.all(
      Array.from({ length: 5 }, () => request(port, '/metrics', { token: 'carol' })),
    );
    assert.deepEqual(api.calls, ['TokenReview'], 'one review for five concurrent scrapes');
  });

  it('re-reviews a refused token after the deny TTL', async (t) => {
    // The cache's clock (Date) stands still until the test moves it past the TTL.
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    api.calls.length = 0;
    assert.equal((await request(port, '/metrics', { token: 'dave' })).status, 401);
    t.mock.timers.tick(DENY_TTL_MS - 1);
    assert.equal((await request(port, '/metrics', { token: 'dave' })).status, 401);
    assert.equal(api.calls.length, 1);
    t.mock.timers.tick(1);
    assert.equal((await request(port, '/metrics', { token: 'dave' })).status, 401);
    assert.equal(api.calls.length, 2);
  });

  it('answers 500 when the API server cannot be asked, and does not cache that', async () => {
    api.calls.length = 0;
    assert.equal((await request(port, '/metrics', { token: 'boom' })).status, 500);
    assert.equal((await request(port, '/metrics', { token: 'boom' })).status, 500);
    assert.equal(api.calls.length, 2);
  });
});

describe('TokenReviewAuthorizer', () => {
  it('keeps at most maxEntries tokens', async () => {
    const api = fakeApi();
    const authz = new TokenReviewAuthorizer(api, { maxEntries: 2 });
    for (const t of ['t1', 't2', 't3']) await authz.authorize(`Bearer ${t}`);
    api.calls.length = 0;
    await authz.authorize('Bearer t3');
    await authz.authorize('Bearer t2');
    assert.deepEqual(api.calls, [], 't2 and t3 cached');
    await authz.authorize('Bearer t1');
    assert.deepEqual(api.calls, ['TokenReview'], 't1 was evicted');
  });

  it('accepts only the Bearer scheme', async () => {
    const authz = new TokenReviewAuthorizer(fakeApi());
    assert.equal((await authz.authorize('Basic YWxpY2U6eA==')).status, 401);
    assert.equal((await authz.authorize('bearer alice')).status, 200);
  });
});

describe('MetricsServer options', () => {
  it('serves without authentication with metricsAuth none', async () => {
    const { server, port } = await serve(undefined);
    try {
      const r = await request(port, '/metrics');
      assert.equal(r.status, 200);
      assert.match(r.body, /test_scrapes_total 3/);
    } finally {
      await server.stop();
    }
  });

  it('serves the certificate of --metrics-cert-dir', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metrics-certs-'));
    const material = selfSignedCertificate({
      commonName: 'from-cert-dir',
      dnsNames: ['x'],
      ipAddresses: [],
    });
    fs.writeFileSync(path.join(dir, 'tls.crt'), material.cert);
    fs.writeFileSync(path.join(dir, 'tls.key'), material.key);
    const { server, port } = await serve(undefined, dir);
    try {
      const r = await request(port, '/metrics');
      assert.equal(r.cert.subject, 'CN=from-cert-dir');
    } finally {
      await server.stop();
      fs.rmSync(dir, { recursive: true });
    }
  });

  it('refuses to start with a broken certificate directory', () => {
    assert.throws(
      () =>
        new MetricsServer({
          address: { host: '127.0.0.1', port: 0 },
          registry,
          certDir: '/nonexistent',
        }),
      /ENOENT/,
    );
  });
});
