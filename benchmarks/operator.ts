// The operator under measurement: `frappe-operator run` as a child process of its own, so that
// the memory and CPU time measured are the operator's and nothing else's — read from
// /proc/<pid>/status (VmRSS now, VmHWM the peak since it started) and /proc/<pid>/stat. Its
// metrics (rest_client_requests_total, the controller's workers and queue depth) come from its
// own /metrics endpoint.
//
// By default it runs as the container image runs it: the JavaScript of `npm run build`
// (tsconfig.build.json, compiled once into a temporary directory). `--operator=source` runs
// src/cli.ts as the playground does; Node then strips the types as it loads each file, and the
// type stripper (swc compiled to WebAssembly) stays in memory: about 25 MiB more RSS.
//
// The operator runs with its defaults but for: leader election off (one replica), logs at `warn`,
// and `metricsAuth: none` — a TokenReview per scrape would be an operator write in the audit log.
import { readFileSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OPERATOR_NODE_OPTIONS } from '../src/deploy/names.ts';
import { eventually } from '../src/dev/eventually.ts';
import { run } from '../src/dev/exec.ts';
import { freePorts } from '../src/dev/ports.ts';
import { Supervisor } from '../src/dev/supervisor.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const NAME = 'frappe-operator';
const START_TIMEOUT_MS = 60_000;

/** How the operator's code is run: compiled as for the image, or from the TypeScript sources. */
export type OperatorCode = 'build' | 'source';

/**
 * The operator's entry point for `code`. A build goes to <dir>/dist, beside a package.json
 * marking it ESM and a link to our node_modules, as the image lays it out; built once, it serves
 * every scenario's operator.
 */
export async function prepareOperator(code: OperatorCode, dir: string): Promise<string> {
  if (code === 'source') return join(ROOT, 'src', 'cli.ts');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  const outDir = join(dir, 'dist');
  await run(process.execPath, [
    TSC,
    '-p',
    join(ROOT, 'tsconfig.build.json'),
    '--outDir',
    outDir,
    '--sourceMap',
    'false',
  ]);
  return join(outDir, 'cli.js');
}

/** One sample of a Prometheus text exposition. */
export interface MetricSample {
  labels: Record<string, string>;
  value: number;
}

export interface OperatorProcess {
  pid: number;
  /** VmRSS (now) and VmHWM (peak since start) of the process, in bytes. */
  memory(): { rssBytes: number; peakRssBytes: number };
  /** CPU time the process has used (user + system), in seconds. */
  cpuSeconds(): number;
  /** Scrape /metrics; the samples of every series, by metric name. */
  metrics(): Promise<Map<string, MetricSample[]>>;
  stop(): Promise<void>;
  /** For an exit handler: SIGKILL, synchronously. */
  kill(): void;
}

/**
 * Starts the operator (`cli`, of prepareOperator) with `kubeconfigPath` in `namespace` and
 * resolves once /readyz answers 200 (every informer synced), which is when it has started.
 */
export async function startOperator(opts: {
  cli: string;
  workDir: string;
  kubeconfigPath: string;
  namespace: string;
  log: (line: string) => void;
}): Promise<OperatorProcess> {
  const supervisor = new Supervisor(opts.workDir, opts.log);
  const [metricsPort, healthPort] = await freePorts(2);
  if (metricsPort === undefined || healthPort === undefined) throw new Error('no free ports');
  await supervisor.start(
    NAME,
    process.execPath,
    [
      opts.cli,
      'run',
      '--leader-elect=false',
      `--metrics-bind-address=127.0.0.1:${String(metricsPort)}`,
      `--health-probe-bind-address=127.0.0.1:${String(healthPort)}`,
    ],
    {
      PATH: process.env.PATH,
      KUBECONFIG: opts.kubeconfigPath,
      FRAPPE_OPERATOR_NAMESPACE: opts.namespace,
      FRAPPE_LOG_LEVEL: 'warn',
      FRAPPE_METRICS_AUTH: 'none',
      NODE_OPTIONS: OPERATOR_NODE_OPTIONS,
    },
  );
  const pid = supervisor.pid(NAME);
  if (pid === undefined) throw new Error(`${NAME} did not start`);
  await eventually(
    async () => {
      const failure = supervisor.failure();
      if (failure !== undefined) throw failure;
      const status = await get(http, healthPort, '/readyz');
      if (status.code !== 200) throw new Error(`/readyz: ${String(status.code)} ${status.body}`);
    },
    { timeout: START_TIMEOUT_MS, interval: 50, message: `${NAME} (pid ${String(pid)}) ready` },
  );
  return {
    pid,
    memory: () => {
      const status = readFileSync(`/proc/${String(pid)}/status`, 'utf8');
      return { rssBytes: kib(status, 'VmRSS'), peakRssBytes: kib(status, 'VmHWM') };
    },
    cpuSeconds: () => cpuSeconds(readFileSync(`/proc/${String(pid)}/stat`, 'utf8')),
    metrics: async () => {
      const res = await get(https, metricsPort, '/metrics');
      if (res.code !== 200) throw new Error(`/metrics: ${String(res.code)} ${res.body}`);
      return parseMetrics(res.body);
    },
    stop: () => supervisor.stop(NAME),
    kill: () => {
      supervisor.killAllSync();
    },
  };
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ: 100 on every Linux architecture). */
const USER_HZ = 100;

/** utime + stime of a /proc/<pid>/stat line, in seconds (fields 14 and 15, after `(comm)`). */
function cpuSeconds(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
}

/** A `Vm…: 1234 kB` line of /proc/<pid>/status, in bytes. */
function kib(status: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  if (m?.[1] === undefined) throw new Error(`no ${field} in /proc/<pid>/status`);
  return Number(m[1]) * 1024;
}

// One keep-alive agent per protocol: the driver scrapes often while it waits for the controller
// to go idle, and a TLS handshake per scrape would load the operator for nothing.
const agents = {
  http: new http.Agent({ keepAlive: true }),
  https: new https.Agent({ keepAlive: true, rejectUnauthorized: false }),
};

function get(
  proto: typeof http | typeof https,
  port: number,
  path: string,
): Promise<{ code: number; body: string }> {
  const agent = proto === https ? agents.https : agents.http;
  return new Promise((resolve, reject) => {
    proto
      .get({ host: '127.0.0.1', port, path, agent }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString('utf8')));
        res.on('end', () => {
          resolve({ code: res.statusCode ?? 0, body });
        });
      })
      .on('error', reject);
  });
}

/** The samples of a Prometheus text exposition (comments skipped), by metric name. */
export function parseMetrics(text: string): Map<string, MetricSample[]> {
  const byName = new Map<string, MetricSample[]>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m?.[1] === undefined || m[3] === undefined) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      if (l[1] !== undefined && l[2] !== undefined) labels[l[1]] = l[2];
    }
    const samples = byName.get(m[1]) ?? [];
    samples.push({ labels, value: Number(m[3]) });
    byName.set(m[1], samples);
  }
  return byName;
}
