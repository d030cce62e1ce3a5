// Helpers of the FrappeSite integration tests: an in-process manager running the bench and site
// controllers for one test namespace (and reading shared MariaDBs of others; optionally serving
// its real /metrics), a Ready bench to put sites on, and the test's stand-in for the MariaDB
// Operator — in the spirit of kwok playing the kubelet, it sets `Ready` on the MariaDB,
// Database, User and Grant objects of the watched namespaces (or `Ready=False` with a reason,
// for the names it is told to hold back).
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before } from 'node:test';
import type { FrappeSite } from '../../../src/api/v1alpha1/index.ts';
import { OperatorConfigHolder } from '../../../src/config/holder.ts';
import { setupBenchController } from '../../../src/controllers/bench/index.ts';
import { setupSiteController } from '../../../src/controllers/site/index.ts';
import { setupSiteBackupController } from '../../../src/controllers/backup/index.ts';
import { setupSiteJobController } from '../../../src/controllers/sitejob/index.ts';
import type { Secret } from '../../../src/controllers/shared/objects.ts';
import { KubeClient, type KubeObject } from '../../../src/kube/client.ts';
import { createLogger } from '../../../src/log.ts';
import type { Controller } from '../../../src/runtime/controller.ts';
import { Manager } from '../../../src/runtime/manager.ts';
import { kubeConfig } from '../../harness/env.ts';
import { eventually } from '../../harness/eventually.ts';
import { kubectl } from '../../harness/kubectl.ts';
import {
  applyFixtureCrds,
  applyOurCrds,
  createTestNamespace,
  deleteNamespace,
} from '../../harness/namespace.ts';
import { apply, waitForCondition as waitForBenchCondition } from '../bench/support.ts';

export { apply };

export const OPERATOR_IMAGE = 'ghcr.io/example/frappe-operator:test';
const MARIADB_KINDS = ['MariaDB', 'Database', 'User', 'Grant'] as const;

export interface SiteTestEnv {
  readonly ns: string;
  readonly client: KubeClient;
  /** The stand-in MariaDB Operator: hold `kind/name` back with Ready=False and `reason`. */
  holdBack(kind: string, name: string, reason: string | undefined): void;
  /** The stand-in MariaDB Operator: set Ready=True on `kind/name` again. */
  release(kind: string, name: string): void;
}

interface MariaDBLike extends KubeObject {
  spec?: Record<string, unknown>;
  status?: { conditions?: { type: string; status: string }[] };
}

/**
 * Registers the hooks of a describe block: our CRDs and the MariaDB and cert-manager fixture
 * CRDs, a fresh namespace, an operator (bench and site controllers) and the MariaDB stand-in
 * for it (and for `extraNamespaces()`, e.g. a shared `databases` namespace); all torn down after.
 */
export function useSiteOperator(
  prefix: string,
  opts: { env?: Record<string, string>; labels?: Record<string, string>; metrics?: boolean } = {},
): SiteTestEnv & {
  extraNamespace(prefix: string): Promise<string>;
  log(): string;
  /** The port of the manager's HTTPS /metrics (with `metrics: true`, no authentication). */
  readonly metricsPort: number;
} {
  let ns = '';
  let op: { client: KubeClient; stop: () => Promise<void>; metricsPort?: number } | undefined;
  const lines: string[] = [];
  const namespaces: string[] = [];
  const held = new Map<string, string | undefined>();
  let stopped = false;
  let playing: Promise<void> | undefined;
  before(async () => {
    await applyOurCrds();
    await applyFixtureCrds(['mariadb', 'cert-manager', 'keda']);
    ns = await createTestNamespace(prefix, opts.labels);
    namespaces.push(ns);
    op = await startSiteOperator(ns, opts.env, lines, { metrics: opts.metrics === true });
    playing = playMariaDBOperator(op.client, namespaces, held, () => stopped);
  });
  after(async () => {
    stopped = true;
    await playing;
    await op?.stop();
    for (const n of namespaces) await deleteNamespace(n);
  });
  return {
    get ns() {
      return ns;
    },
    get client() {
      if (op === undefined) throw new Error('the operator has not started (before hook)');
      return op.client;
    },
    holdBack(kind, name, reason) {
      held.set(`${kind}/${name}`, reason);
    },
    release(kind, name) {
      held.delete(`${kind}/${name}`);
    },
    log: () => lines.join(''),
    get metricsPort() {
      const port = op?.metricsPort;
      if (port === undefined) throw new Error('the operator serves no metrics (metrics: true)');
      return port;
    },
    async extraNamespace(p: string) {
      const n = await createTestNamespace(p);
      namespaces.push(n);
      return n;
    },
  };
}

/** Sets Ready on the MariaDB Operator objects of `namespaces` until `done()`. */
export async function playMariaDBOperator(
  client: KubeClient,
  namespaces: string[],
  held: Map<string, string | undefined>,
  done: () => boolean,
): Promise<void> {
  while (!done()) {
    // A kind not served yet (CRD being established) or an object gone is tried again next time.
    await markReady(client, namespaces, held).catch((err: unknown) => {
      process.stderr.write(`MariaDB stand-in: ${String(err)}\n`);
    });
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function markReady(
  client: KubeClient,
  namespaces: string[],
  held: Map<string, string | undefined>,
): Promise<void> {
  {
    for (const ns of [...namespaces]) {
      for (const kind of MARIADB_KINDS) {
        const list = await client.list<MariaDBLike>('k8s.mariadb.com/v1alpha1', kind, {
          namespace: ns,
        });
        for (const obj of list.items) {
          const key = `${kind}/${obj.metadata.name ?? ''}`;
          const reason = held.has(key) ? (held.get(key) ?? 'Holding') : undefined;
          const want = reason === undefined ? 'True' : 'False';
          const ready = obj.status?.conditions?.find((c) => c.type === 'Ready');
          if (ready?.status === want) continue;
          await client.patch(
            'k8s.mariadb.com/v1alpha1',
            kind,
            ns,
            obj.metadata.name ?? '',
            {
              status: {
                conditions: [
                  {
                    type: 'Ready',
                    status: want,
                    reason: reason ?? 'Created',
                    message: reason === undefined ? 'Created' : `held back: ${reason}`,
                    lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
                  },
                ],
              },
            },
            'merge',
            { subresource: 'status' },
          );
        }
      }
    }
  }
}

export interface RunningSiteOperator {
  client: KubeClient;
  /** The operator configuration in force (tests change it as a ConfigMap change would). */
  holder: OperatorConfigHolder;
  sites: Controller;
  stop: () => Promise<void>;
  /** The manager's HTTPS /metrics port, when started with `metrics: true`. */
  metricsPort?: number;
}

/**
 * A manager with the bench, site and SiteJob controllers for `namespace`, configured by `env`, logging
 * through the operator's own logger at debug level into `lines` (warnings also to stderr).
 */
export async function startSiteOperator(
  namespace: string,
  env: Record<string, string> = {},
  lines: string[] = [],
  opts: { metrics?: boolean } = {},
): Promise<RunningSiteOperator> {
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      const line = chunk.toString('utf8');
      lines.push(line);
      if (/"level":"(warn|error)"/.test(line)) process.stderr.write(line);
      done();
    },
  });
  const client = KubeClient.fromKubeConfig(kubeConfig());
  const { holder } = OperatorConfigHolder.fromStartup({
    configMapData: undefined,
    env: { FRAPPE_OPERATOR_IMAGE: OPERATOR_IMAGE, ...env },
  });
  const manager = new Manager({
    client,
    namespace,
    // Only this test's namespace, as `watchNamespaces` restricts the operator.
    namespaces: [namespace],
    leaderElection: false,
    healthProbeAddress: undefined,
    // The real HTTPS metrics server on a free port, without TokenReview (metricsAuth: none).
    metricsAddress: opts.metrics === true ? { host: '127.0.0.1', port: 0 } : undefined,
    metricsAuthorization: false,
    gracefulShutdownTimeoutMs: 10_000,
    logger: createLogger({ level: 'debug', destination }),
  });
  manager.addController(setupBenchController(manager, holder));
  const sites = setupSiteController(manager, holder);
  manager.addController(sites);
  manager.addController(setupSiteJobController(manager, holder));
  manager.addController(setupSiteBackupController(manager, holder));
  const addresses = await manager.start();
  return {
    client,
    holder,
    sites,
    stop: () => manager.stop(),
    ...(addresses.metrics === undefined ? {} : { metricsPort: addresses.metrics.port }),
  };
}

/** A bench `name` (default spec: the guide's version) in `ns`, waited for until Ready. */
export async function readyBench(
  client: KubeClient,
  ns: string,
  name: string,
  spec: Record<string, unknown> = { frappeVersion: 'version-15' },
): Promise<void> {
  await apply(
    { apiVersion: 'vyogo.tech/v1alpha1', kind: 'FrappeBench', metadata: { name }, spec },
    ns,
  );
  await waitForBenchCondition(client, ns, name, 'Ready', 'True', undefined, 120_000);
}

/** The shared MariaDB `name` in `ns`, as its owner would create it. */
export function mariadb(name: string, annotations: Record<string, string> = {}): MariaDBLike {
  return {
    apiVersion: 'k8s.mariadb.com/v1alpha1',
    kind: 'MariaDB',
    metadata: { name, annotations },
    spec: { rootPasswordSecretKeyRef: { name: 'mariadb-root', key: 'password' }, replicas: 1 },
  };
}

export async function getSite(client: KubeClient, ns: string, name: string): Promise<FrappeSite> {
  const s = await client.get<FrappeSite>('vyogo.tech/v1alpha1', 'FrappeSite', ns, name);
  if (s === undefined) throw new Error(`FrappeSite ${ns}/${name} not found`);
  return s;
}

export const siteCondition = (site: FrappeSite, type: string) =>
  site.status?.conditions?.find((c) => c.type === type);

/** Wait until the site's condition `type` has `status` (and `reason`, when given). */
export function waitForSite(
  client: KubeClient,
  ns: string,
  name: string,
  type: string,
  status: 'True' | 'False',
  reason?: string,
  timeout = 120_000,
): Promise<FrappeSite> {
  return eventually(
    async () => {
      const s = await getSite(client, ns, name);
      const c = siteCondition(s, type);
      if (c?.status !== status || (reason !== undefined && c.reason !== reason)) {
        throw new Error(
          `${type} is ${c?.status ?? 'unset'}/${c?.reason ?? ''} (${c?.message ?? ''}); phase ${s.status?.phase ?? ''}; ${JSON.stringify(s.status?.conditions?.map((x) => `${x.type}=${x.status}/${x.reason}: ${x.message}`))}`,
        );
      }
      return s;
    },
    {
      timeout,
      interval: 250,
      message: `FrappeSite ${ns}/${name} ${type}=${status}${reason === undefined ? '' : `/${reason}`}`,
    },
  );
}

/** A FrappeSite manifest on bench `bench`. */
export function site(name: string, bench: string, spec: Record<string, unknown> = {}): FrappeSite {
  return {
    apiVersion: 'vyogo.tech/v1alpha1',
    kind: 'FrappeSite',
    metadata: { name },
    spec: { benchRef: { name: bench }, siteName: `${name}.example.com`, ...spec },
  };
}

/**
 * Sites `names` on `bench` on an external database — its connection Secret `shop-db` created
 * first — that reach Ready with no database behind them: kwok runs no site-init.
 */
export async function applyExternalSites(
  ns: string,
  bench: string,
  names: readonly string[],
): Promise<void> {
  await kubectl(
    [
      'create',
      'secret',
      'generic',
      'shop-db',
      '--from-literal=username=shop',
      '--from-literal=password=Sh0p-DB-Pass',
    ],
    { namespace: ns },
  );
  const dbConfig = {
    provider: 'external',
    connectionSecretRef: { name: 'shop-db' },
    host: 'db.example.internal',
  };
  for (const name of names) await apply(site(name, bench, { dbConfig }), ns);
}

/**
 * No value of any Secret in the test's namespace (at least `atLeast` of them, 8 characters or
 * longer) appears in any other object of the namespace — events and Jobs included — or in the
 * operator's log.
 */
export async function assertNoSecretValueShown(
  env: SiteTestEnv & { log(): string },
  atLeast: number,
): Promise<void> {
  const secrets = (await env.client.list<Secret>('v1', 'Secret', { namespace: env.ns })).items;
  const values = secrets.flatMap((s) =>
    Object.values(s.data ?? {}).map((v) => Buffer.from(v, 'base64').toString('utf8')),
  );
  assert.ok(values.length >= atLeast, `secret values to look for: ${String(values.length)}`);
  const resources = (
    await kubectl(['api-resources', '--verbs=list', '--namespaced', '-o', 'name'])
  ).stdout
    .split('\n')
    .filter((r) => r !== '' && r !== 'secrets');
  const listed = await kubectl(['get', resources.join(','), '-o', 'json', '--ignore-not-found'], {
    namespace: env.ns,
  });
  const objects = (JSON.parse(listed.stdout) as { items: KubeObject[] }).items;
  assert.ok(
    objects.some((o) => o.kind === 'Event'),
    'events are scanned',
  );
  assert.ok(
    objects.some((o) => o.kind === 'Job'),
    'Jobs are scanned',
  );
  const haystacks = { objects: listed.stdout, log: env.log() };
  for (const value of values.filter((v) => v.length >= 8)) {
    for (const [where, text] of Object.entries(haystacks)) {
      assert.ok(!text.includes(value), `a secret value appears in the ${where}`);
    }
  }
}
