// The secure metrics endpoint: what controller-runtime's metrics server with
// `filters.WithAuthenticationAndAuthorization` does, in small.
//
//   - HTTPS on `--metrics-bind-address` (default :8443, Service port `https`), with the
//     certificate of `--metrics-cert-dir` (re-read on rotation) or a self-signed one made at
//     start-up (src/runtime/tls.ts).
//   - Only `GET /metrics` (and HEAD); anything else is 404 (405 for other methods on /metrics).
//   - With an authorizer (TokenReviewAuthorizer): the bearer token is checked with a TokenReview
//     (authentication.k8s.io/v1), and the user it names with a SubjectAccessReview
//     (authorization.k8s.io/v1, `get` on the non-resource URL /metrics). No or an invalid token
//     → 401, authenticated but not allowed → 403, allowed → 200. Decisions are cached per token
//     (allowed 1 min, refused 10 s, as short as controller-runtime's) so that a Prometheus
//     scraping every few seconds costs the API server two requests a minute, and concurrent
//     scrapes with one token share one review. Tokens are never logged; the cache is keyed by
//     their SHA-256.
//   - Abuse is bounded: the endpoint is reachable by anyone who can reach the pod, and every
//     review is an API request made with the operator's own identity — the identity its
//     reconciles are rate-limited (API Priority and Fairness) under. So a token the cache does
//     not know needs a token from a bucket (5 a second, burst 10), at most 4 reviews run at once,
//     and allowed tokens are cached apart from refused ones (a flood of random tokens cannot
//     evict Prometheus's); past either bound the answer is 429 with Retry-After, without a
//     review. A flood of random bearer tokens therefore costs the API server at most ~5 reviews
//     a second (test/integration/manager/endpoints.test.ts measures rest_client_requests_total).
//   - The server itself: headers within 10 s, a whole request within 30 s, idle keep-alive
//     connections closed after 5 s, at most 64 connections (more are refused at accept).
//   - Without an authorizer: TLS only.
import { createHash } from 'node:crypto';
import type http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import type { Registry } from 'prom-client';
import { close, listen, type BindAddress } from './bind-address.ts';
import type { KubeClient } from '../kube/client.ts';
import { noopLogger, type Logger } from '../kube/logger.ts';
import {
  loadCertificateDir,
  selfSignedCertificate,
  watchCertificateDir,
  type TlsMaterial,
} from './tls.ts';

export type MetricsDecision =
  | { status: 200; user: string }
  | { status: 401 | 403 | 500; reason: string }
  | { status: 429; reason: string; retryAfterSeconds: number };

export interface MetricsAuthorizer {
  /** Decide on a request from its Authorization header. */
  authorize(authorization: string | undefined): Promise<MetricsDecision>;
}

interface UserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

interface TokenReviewStatus {
  authenticated?: boolean;
  user?: UserInfo;
  error?: string;
}

interface SubjectAccessReviewStatus {
  allowed?: boolean;
  denied?: boolean;
  reason?: string;
}

/** The answer to a TokenReview or SubjectAccessReview create. */
interface Review<S> {
  status?: S;
}

export interface TokenReviewAuthorizerOptions {
  allowTtlMs?: number;
  denyTtlMs?: number;
  /** Bound on cached refused tokens (oldest evicted first), against a flood of random tokens. */
  maxEntries?: number;
  /** Bound on cached allowed tokens, kept apart so that refused ones never evict them. */
  maxAllowedEntries?: number;
  /** Reviews (TokenReview, then SubjectAccessReview) in flight at once. */
  maxConcurrentReviews?: number;
  /** Tokens the cache does not know that may be reviewed per second, and the burst. */
  newTokensPerSecond?: number;
  newTokenBurst?: number;
  logger?: Logger;
}

interface CacheEntry {
  expires: number;
  decision: Promise<MetricsDecision>;
}

/** A bounded map, oldest entry evicted first. */
function remember(cache: Map<string, CacheEntry>, key: string, e: CacheEntry, max: number): void {
  cache.delete(key);
  cache.set(key, e);
  for (const oldest of cache.keys()) {
    if (cache.size <= max) break;
    cache.delete(oldest);
  }
}

export class TokenReviewAuthorizer implements MetricsAuthorizer {
  readonly #client: Pick<KubeClient, 'createRaw'>;
  readonly #allowTtlMs: number;
  readonly #denyTtlMs: number;
  readonly #maxEntries: number;
  readonly #maxAllowed: number;
  readonly #maxConcurrent: number;
  readonly #rate: number;
  readonly #burst: number;
  readonly #log: Logger;
  /** Decisions being made, and refusals. */
  readonly #cache = new Map<string, CacheEntry>();
  readonly #allowed = new Map<string, CacheEntry>();
  #inFlight = 0;
  #tokens: number;
  #refilled = Date.now();

  constructor(client: Pick<KubeClient, 'createRaw'>, opts: TokenReviewAuthorizerOptions = {}) {
    this.#client = client;
    this.#allowTtlMs = opts.allowTtlMs ?? 60_000;
    this.#denyTtlMs = opts.denyTtlMs ?? 10_000;
    this.#maxEntries = opts.maxEntries ?? 1000;
    this.#maxAllowed = opts.maxAllowedEntries ?? 100;
    this.#maxConcurrent = opts.maxConcurrentReviews ?? 4;
    this.#rate = opts.newTokensPerSecond ?? 5;
    this.#burst = opts.newTokenBurst ?? 10;
    this.#tokens = this.#burst;
    this.#log = opts.logger ?? noopLogger;
  }

  /** Reviews in flight now (for tests and debugging). */
  get reviewsInFlight(): number {
    return this.#inFlight;
  }

  /** Take a token from the bucket for a review of an unknown bearer token. */
  #takeToken(now: number): boolean {
    this.#tokens = Math.min(
      this.#burst,
      this.#tokens + ((now - this.#refilled) / 1000) * this.#rate,
    );
    this.#refilled = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  authorize(authorization: string | undefined): Promise<MetricsDecision> {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    const token = m?.[1];
    if (token === undefined) {
      return Promise.resolve({ status: 401, reason: 'no bearer token' });
    }
    const key = createHash('sha256').update(token).digest('hex');
    const now = Date.now();
    for (const cache of [this.#allowed, this.#cache]) {
      const cached = cache.get(key);
      if (cached !== undefined && cached.expires > now) return cached.decision;
    }
    if (this.#inFlight >= this.#maxConcurrent) {
      return Promise.resolve({
        status: 429,
        reason: 'too many authorization checks in flight; retry later',
        retryAfterSeconds: 1,
      });
    }
    if (!this.#takeToken(now)) {
      return Promise.resolve({
        status: 429,
        reason: 'too many new bearer tokens; retry later',
        retryAfterSeconds: Math.max(1, Math.ceil(1 / this.#rate)),
      });
    }

    this.#inFlight++;
    const entry: CacheEntry = {
      expires: Infinity,
      decision: this.#review(token).finally(() => {
        this.#inFlight--;
      }),
    };
    remember(this.#cache, key, entry, this.#maxEntries);
    void entry.decision.then((d) => {
      if (this.#cache.get(key) === entry) this.#cache.delete(key);
      // Failures to reach the API server are not cached: the next scrape tries again.
      if (d.status === 500 || d.status === 429) return;
      const done = {
        expires: Date.now() + (d.status === 200 ? this.#allowTtlMs : this.#denyTtlMs),
        decision: entry.decision,
      };
      if (d.status === 200) remember(this.#allowed, key, done, this.#maxAllowed);
      else remember(this.#cache, key, done, this.#maxEntries);
    });
    return entry.decision;
  }

  async #review(token: string): Promise<MetricsDecision> {
    try {
      const tr =
        (
          (await this.#client.createRaw('/apis/authentication.k8s.io/v1/tokenreviews', {
            apiVersion: 'authentication.k8s.io/v1',
            kind: 'TokenReview',
            spec: { token },
          })) as Review<TokenReviewStatus>
        ).status ?? {};
      if (tr.authenticated !== true || tr.user?.username === undefined) {
        return { status: 401, reason: 'invalid bearer token' };
      }
      const user = tr.user;
      const sar =
        (
          (await this.#client.createRaw('/apis/authorization.k8s.io/v1/subjectaccessreviews', {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SubjectAccessReview',
            spec: {
              user: user.username,
              uid: user.uid,
              groups: user.groups,
              extra: user.extra,
              nonResourceAttributes: { path: '/metrics', verb: 'get' },
            },
          })) as Review<SubjectAccessReviewStatus>
        ).status ?? {};
      if (sar.allowed === true && sar.denied !== true) {
        return { status: 200, user: user.username ?? '' };
      }
      return {
        status: 403,
        reason: `user ${user.username ?? ''} may not get /metrics${sar.reason ? `: ${sar.reason}` : ''}`,
      };
    } catch (e) {
      this.#log.warn({ err: e }, 'metrics authorization: TokenReview/SubjectAccessReview failed');
      return { status: 500, reason: 'authorization check failed' };
    }
  }
}

export interface MetricsServerOptions {
  address: BindAddress;
  /** tls.crt / tls.key; undefined: a self-signed certificate made now. */
  certDir?: string;
  /** undefined: no authorization (TLS only). */
  authorizer?: MetricsAuthorizer;
  registry: Pick<Registry, 'metrics' | 'contentType'>;
  logger?: Logger;
  /** Limits against slow or many clients (defaults 10 s, 30 s, 5 s, 64). */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  maxConnections?: number;
}

export class MetricsServer {
  readonly #opts: MetricsServerOptions;
  readonly #log: Logger;
  readonly #server: https.Server;
  #stopWatching: (() => void) | undefined;

  constructor(opts: MetricsServerOptions) {
    this.#opts = opts;
    this.#log = (opts.logger ?? noopLogger).child({ server: 'metrics' });
    const material: TlsMaterial =
      opts.certDir === undefined
        ? selfSignedCertificate({
            commonName: 'frappe-operator-metrics',
            dnsNames: ['localhost', os.hostname()],
            ipAddresses: ['127.0.0.1', '::1'],
          })
        : loadCertificateDir(opts.certDir);
    this.#server = https.createServer(
      {
        ...material,
        headersTimeout: opts.headersTimeoutMs ?? 10_000,
        requestTimeout: opts.requestTimeoutMs ?? 30_000,
        keepAliveTimeout: opts.keepAliveTimeoutMs ?? 5_000,
        // How often the two timeouts above are checked (Node's default, 30 s, would let a slow
        // client hold a connection for up to 40 s past headersTimeout).
        connectionsCheckingInterval: Math.min(1_000, opts.headersTimeoutMs ?? 10_000),
      },
      (req, res) => {
        this.#handle(req, res).catch((e: unknown) => {
          this.#log.error({ err: e }, 'serving /metrics failed');
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
          res.end('internal error\n');
        });
      },
    );
    this.#server.maxConnections = opts.maxConnections ?? 64;
  }

  async start(): Promise<AddressInfo> {
    const bound = await listen(this.#server, this.#opts.address);
    const certDir = this.#opts.certDir;
    if (certDir !== undefined) {
      this.#stopWatching = watchCertificateDir(
        certDir,
        (m) => {
          this.#server.setSecureContext(m);
          this.#log.info({ certDir }, 'reloaded the metrics certificate');
        },
        (err) => {
          this.#log.warn({ err, certDir }, 'metrics certificate not reloaded; keeping the old one');
        },
      );
    }
    this.#log.info(
      {
        address: bound,
        certificate: certDir ?? 'self-signed',
        auth: this.#opts.authorizer === undefined ? 'none' : 'tokenreview',
      },
      'serving metrics over HTTPS',
    );
    return bound;
  }

  async stop(): Promise<void> {
    this.#stopWatching?.();
    await close(this.#server);
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' }).end();
      return;
    }
    const auth = this.#opts.authorizer;
    if (auth !== undefined) {
      const d = await auth.authorize(req.headers.authorization);
      if (d.status !== 200) {
        this.#log.debug({ status: d.status, reason: d.reason }, 'metrics request refused');
        const headers: http.OutgoingHttpHeaders = { 'content-type': 'text/plain' };
        if (d.status === 401) headers['www-authenticate'] = 'Bearer';
        if (d.status === 429) headers['retry-after'] = String(d.retryAfterSeconds);
        res.writeHead(d.status, headers).end(`${d.reason}\n`);
        return;
      }
    }
    const body = await this.#opts.registry.metrics();
    res.writeHead(200, { 'content-type': this.#opts.registry.contentType });
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}
