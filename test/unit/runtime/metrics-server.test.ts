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
import { connect, TLSSocket } from 'node:tls';
import { Registry, Counter } from 'prom-client';
import {
  MetricsServer,
  TokenReviewAuthorizer,
  type MetricsAuthorizer,
  type MetricsServerOptions,
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
  limits: Partial<Pick<MetricsServerOptions, 'headersTimeoutMs' | 'maxConnections'>> = {},
): Promise<{ server: MetricsServer; port: number }> {
  const server = new MetricsServer({
    address: { host: '127.0.0.1', port: 0 },
    authorizer,
    registry,
    certDir,
    ...limits,
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
    // A bucket large enough for every token these tests send (the bucket has its own tests).
    ({ server, port } = await serve(
      new TokenReviewAuthorizer(api, { denyTtlMs: DENY_TTL_MS, newTokenBurst: 100 }),
    ));
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

describe('abuse: a flood of random bearer tokens', () => {
  /** The fake API, counting reviews in flight and their peak. */
  function countingApi() {
    const api = fakeApi();
    let inFlight = 0;
    let peak = 0;
    const createRaw = async (p: string, body: unknown): Promise<unknown> => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      try {
        await new Promise((r) => setTimeout(r, 20));
        return await api.createRaw(p, body);
      } finally {
        inFlight--;
      }
    };
    return { createRaw, calls: api.calls, peak: () => peak };
  }

  it('reviews at most the bucket’s burst, never more than 4 at once, and answers the rest 429', async (t) => {
    // The clock stands still: on a busy machine the flood may take long enough for the bucket to
    // refill (its rate is covered below).
    t.mock.timers.enable({ apis: ['Date'], now: 0 });
    const api = countingApi();
    const authz = new TokenReviewAuthorizer(api);
    const flood = Array.from({ length: 300 }, (_, i) =>
      authz.authorize(`Bearer random-${String(i)}-${Math.random().toString(36).slice(2)}`),
    );
    const decisions = await Promise.all(flood);
    assert.ok(api.calls.length <= 10, `${String(api.calls.length)} reviews for 300 random tokens`);
    assert.ok(api.peak() <= 4, `${String(api.peak())} reviews at once`);
    const limited = decisions.filter((d) => d.status === 429);
    assert.ok(limited.length >= 290, `${String(limited.length)} answered 429`);
    assert.equal(authz.reviewsInFlight, 0);
  });

  it('keeps serving a token it allowed before the flood, without a review', async () => {
    const api = countingApi();
    const authz = new TokenReviewAuthorizer(api, { maxEntries: 50 });
    assert.equal((await authz.authorize('Bearer alice')).status, 200);
    const before = api.calls.length;
    // More refused tokens than the refused cache holds, spread over time so the bucket refills.
    for (let i = 0; i < 60; i++) {
      await authz.authorize(`Bearer forged-${String(i)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const calls = api.calls.length - before;
    assert.equal((await authz.authorize('Bearer alice')).status, 200);
    assert.equal(api.calls.length - before, calls, 'alice needed no new review');
  });

  it('refills new-token reviews at its rate', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 0 });
    const api = countingApi();
    const authz = new TokenReviewAuthorizer(api, { newTokensPerSecond: 5, newTokenBurst: 2 });
    const statuses = async (n: number, tag: string) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++)
        out.push((await authz.authorize(`Bearer ${tag}-${String(i)}`)).status);
      return out;
    };
    assert.deepEqual(await statuses(3, 'a'), [401, 401, 429]);
    t.mock.timers.tick(200); // one token at 5 per second
    assert.deepEqual(await statuses(2, 'b'), [401, 429]);
    const r = await authz.authorize('Bearer c');
    assert.equal(r.status, 429);
    assert.equal((r as { retryAfterSeconds: number }).retryAfterSeconds, 1);
  });

  it('answers 429 with Retry-After over HTTPS', async () => {
    const { server, port } = await serve(
      new TokenReviewAuthorizer(fakeApi(), { newTokenBurst: 1 }),
    );
    try {
      assert.equal((await request(port, '/metrics', { token: 'x1' })).status, 401);
      const r = await request(port, '/metrics', { token: 'x2' });
      assert.equal(r.status, 429);
      assert.equal(r.headers['retry-after'], '1');
    } finally {
      await server.stop();
    }
  });
});

describe('abuse: slow and many connections', () => {
  /** A TLS connection to the server; resolves when the server closes it, with the time taken. */
  function hold(port: number, send: string): Promise<number> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
        socket.write(send);
      });
      socket.on('data', () => undefined);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        resolve(Date.now() - started);
      });
      setTimeout(() => {
        socket.destroy();
        reject(new Error('the server kept a slow connection open'));
      }, 10_000).unref();
    });
  }

  it('closes a connection that never finishes its headers (headers timeout)', async () => {
    const { server, port } = await serve(undefined, undefined, { headersTimeoutMs: 500 });
    try {
      const ms = await hold(port, 'GET /metrics HTTP/1.1\r\nHost: x\r\n');
      assert.ok(ms < 5_000, `closed after ${String(ms)} ms`);
    } finally {
      await server.stop();
    }
  });

  it('refuses connections past maxConnections', async () => {
    const { server, port } = await serve(undefined, undefined, { maxConnections: 2 });
    const sockets: TLSSocket[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        await new Promise<void>((resolve, reject) => {
          const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
            resolve();
          });
          s.on('error', reject);
          sockets.push(s);
        });
      }
      const third = await new Promise<string>((resolve) => {
        const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
          resolve('connected');
        });
        s.on('error', (e: Error) => {
          resolve(`refused: ${e.message}`);
        });
        s.on('close', () => {
          resolve('closed');
        });
        sockets.push(s);
      });
      assert.notEqual(third, 'connected');
    } finally {
      for (const s of sockets) s.destroy();
      await server.stop();
    }
  });
});
