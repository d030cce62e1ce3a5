// Helpers of the manager integration tests: start test/fixtures/operator-process.ts as child
// processes (each a complete `frappe-operator run`), follow their JSON logs, scrape their
// endpoints, and make ServiceAccount tokens with the TokenRequest API.
//
// Every child is remembered and `cleanUp()` (call it in an `after` hook) SIGKILLs those still
// running, by pid, and deletes the token kubeconfigs. Ports are always 0: the children report what they bound in their logs.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MANAGER_NAME, NAMESPACE, OPERATOR_IMAGE } from '../../../src/deploy/names.ts';
import type { LogLine } from '../../../src/dev/operator-log.ts';
import { writeKubeconfig } from '../../../src/dev/pki.ts';
import type { Supervisor } from '../../../src/dev/supervisor.ts';
import { KubeClient } from '../../../src/kube/client.ts';
import { kubeConfig, testCluster } from '../../harness/env.ts';
import { eventually } from '../../harness/eventually.ts';
import { kubectl } from '../../harness/kubectl.ts';

const FIXTURE = fileURLToPath(new URL('../../fixtures/operator-process.ts', import.meta.url));
const OPERATOR_CLI = fileURLToPath(new URL('../../../src/cli.ts', import.meta.url));

export interface OperatorProcess extends SpawnedOperator {
  identity: string;
  healthPort: number;
  metricsPort: number;
}

const children = new Set<ChildProcess>();

export interface StartOptions {
  namespace: string;
  leaderElect?: boolean;
  /** Defaults to the admin kubeconfig of the test cluster. */
  kubeconfigPath?: string;
  env?: Record<string, string>;
}

export interface SpawnedOperator {
  child: ChildProcess;
  pid: number;
  lines: LogLine[];
  /** Everything the child wrote that was not a JSON log line (crashes, warnings). */
  rawOutput: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForLog(msg: string, timeout?: number): Promise<LogLine>;
}

/** Start an operator process; it may still fail to start (see `startOperator`). */
export function spawnOperator(opts: StartOptions): SpawnedOperator {
  const child = spawn(
    process.execPath,
    [
      FIXTURE,
      '--metrics-bind-address=127.0.0.1:0',
      '--health-probe-bind-address=127.0.0.1:0',
      `--leader-elect=${String(opts.leaderElect ?? true)}`,
    ],
    {
      env: {
        PATH: process.env.PATH,
        KUBECONFIG: opts.kubeconfigPath ?? testCluster().kubeconfigPath,
        FRAPPE_OPERATOR_NAMESPACE: opts.namespace,
        ...opts.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.add(child);
  const pid = child.pid;
  if (pid === undefined) throw new Error('operator process did not start');
  const lines: LogLine[] = [];
  const rawOutput: string[] = [];
  const collect = (chunk: Buffer, rest: { s: string }): void => {
    rest.s += chunk.toString('utf8');
    const parts = rest.s.split('\n');
    rest.s = parts.pop() ?? '';
    for (const p of parts) {
      try {
        lines.push(JSON.parse(p) as LogLine);
      } catch (e) {
        rawOutput.push(`${p} (${(e as Error).name})`);
      }
    }
  };
  const out = { s: '' };
  const err = { s: '' };
  child.stdout.on('data', (c: Buffer) => {
    collect(c, out);
  });
  child.stderr.on('data', (c: Buffer) => {
    collect(c, err);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
  });

  const waitForLog = (msg: string, timeout = 30_000): Promise<LogLine> =>
    eventually(
      () => {
        const line = lines.find((l) => l.msg === msg);
        if (line === undefined) {
          throw new Error(
            `no "${msg}" yet; last lines: ${JSON.stringify(lines.slice(-5))} ${rawOutput.join('\n')}`,
          );
        }
        return line;
      },
      { timeout, interval: 50, message: `operator ${pid}: log "${msg}"` },
    );

  return { child, pid, lines, rawOutput, exited, waitForLog };
}

/** Start an operator process and wait until its manager runs. */
export async function startOperator(opts: StartOptions): Promise<OperatorProcess> {
  const p = spawnOperator(opts);
  const port = (l: LogLine): number => (l.address as { port: number }).port;
  const started = await Promise.race([
    p.waitForLog('manager started'),
    p.exited.then(({ code }) => {
      throw new Error(`operator exited (${code}) during start-up: ${JSON.stringify(p.lines)}`);
    }),
  ]);
  return {
    ...p,
    identity: String(started.identity),
    healthPort: port(await p.waitForLog('serving health probes')),
    metricsPort: port(await p.waitForLog('serving metrics over HTTPS')),
  };
}

const tempDirs = new Set<string>();

/** For `after` hooks: SIGKILL every child still running, delete the token kubeconfigs. */
export function cleanUp(): void {
  for (const child of children) {
    if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  }
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

export interface HttpAnswer {
  status: number;
  body: string;
}

function answer(res: http.IncomingMessage, resolve: (a: HttpAnswer) => void): void {
  let body = '';
  res.on('data', (c: Buffer) => (body += c.toString()));
  res.on('end', () => {
    resolve({ status: res.statusCode ?? 0, body });
  });
}

export function probe(port: number, urlPath: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
        answer(res, resolve);
      })
      .on('error', reject);
  });
}

export function scrape(port: number, token?: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    https
      .get(
        {
          host: '127.0.0.1',
          port,
          path: '/metrics',
          agent: false,
          rejectUnauthorized: false,
          headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
        },
        (res) => {
          answer(res, resolve);
        },
      )
      .on('error', reject);
  });
}

/** The value of a sample in a Prometheus text exposition, e.g. `x{name="a"}`; undefined if absent. */
export function sample(body: string, series: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

export function adminClient(): KubeClient {
  return KubeClient.fromKubeConfig(kubeConfig(), { userAgent: 'frappe-operator-tests' });
}

/** A token of ServiceAccount `sa`, from the TokenRequest API (the API's minimum life is 600 s). */
export async function serviceAccountToken(
  namespace: string,
  sa: string,
  expirationSeconds = 3600,
): Promise<string> {
  const res = (await adminClient().createRaw(
    `/api/v1/namespaces/${namespace}/serviceaccounts/${sa}/token`,
    {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds },
    },
  )) as { status?: { token?: string } };
  const token = res.status?.token;
  if (token === undefined) throw new Error(`TokenRequest for ${namespace}/${sa} returned no token`);
  return token;
}

/** Give ServiceAccount `reader` of `namespace` get on /metrics; returns its token. */
export async function metricsReaderToken(namespace: string): Promise<string> {
  const role = `${namespace}-metrics-reader`;
  await kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'reader', namespace } },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRole',
          metadata: { name: role },
          rules: [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }],
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRoleBinding',
          metadata: { name: role },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
          subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace }],
        },
      ],
    }),
  });
  return serviceAccountToken(namespace, 'reader');
}

/** The current cluster of the test kubeconfig: its server and CA certificate (PEM). */
export function testClusterEndpoint(): { server: string; ca: Buffer } {
  const cluster = kubeConfig().getCurrentCluster();
  if (cluster === null) throw new Error('the test kubeconfig has no current cluster');
  const { server, caData, caFile } = cluster;
  if (caData !== undefined) return { server, ca: Buffer.from(caData, 'base64') };
  if (caFile !== undefined) return { server, ca: fs.readFileSync(caFile) };
  throw new Error('the test kubeconfig has no cluster CA');
}

/** A kubeconfig for the test cluster that authenticates with `token` (file in a temp dir). */
export async function tokenKubeconfig(token: string): Promise<string> {
  const { server, ca } = testClusterEndpoint();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sa-kubeconfig-'));
  tempDirs.add(dir);
  const file = path.join(dir, 'config');
  await writeKubeconfig(file, server, ca.toString('base64'), { token });
  return file;
}

/**
 * Starts `frappe-operator run` (this checkout's src/cli.ts) as process `name` of `supervisor`,
 * as the install bundle runs it: under the manager ServiceAccount's token, with leader election,
 * in the bundle's namespace; metrics and health on ports it picks (its log says which).
 */
export async function startBundleOperator(supervisor: Supervisor, name: string): Promise<void> {
  const token = await serviceAccountToken(NAMESPACE, MANAGER_NAME);
  await supervisor.start(
    name,
    process.execPath,
    [
      OPERATOR_CLI,
      'run',
      '--metrics-bind-address=127.0.0.1:0',
      '--health-probe-bind-address=127.0.0.1:0',
      '--leader-elect=true',
    ],
    {
      PATH: process.env.PATH,
      KUBECONFIG: await tokenKubeconfig(token),
      FRAPPE_OPERATOR_NAMESPACE: NAMESPACE,
      FRAPPE_OPERATOR_IMAGE: OPERATOR_IMAGE,
    },
  );
}
