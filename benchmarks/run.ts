// `npm run bench [-- --benches=20 --quiet=60 --timeout=600]`: the operator's benchmark
// (benchmarks/README.md says how to read it).
//
// A private control plane (src/dev/cluster.ts) with our CRDs, KEDA's fixture CRDs and
// enough kwok Nodes for the benches; the operator, `frappe-operator run` (src/cli.ts) as a child
// process (./operator.ts), leader election off, authenticated as the install bundle's
// ServiceAccount with its RBAC (config/rbac). Then, for N copies of
// config/samples/frappebench.yaml (the guide's prod-bench: HPA on gunicorn, KEDA on
// worker-short/long), each in its own namespace:
//
//   convergence  create all N at once → each first Ready=True, and each settled (Ready, phase
//                Ready, every component at its replicas, gunicorn at the HPA's minReplicas);
//   quiet        Q seconds after the last bench settled, during which nothing changes: the
//                operator must write nothing;
//   change wave  the guide's vertical-scaling patch on every bench → its gunicorn Deployment has
//                the new resources and the bench has settled again at the new generation.
//
// Per phase: per-bench times (p50/p95/max) from watch events, the operator's writes from the
// apiserver's audit log (by its ServiceAccount, per bench namespace), its
// rest_client_requests_total by method, and the operator process's RSS: right after it started,
// sampled every 100 ms in each phase, and its peak. Prints a table, writes the numbers as JSON
// under os.tmpdir(), and stops everything it started — also on Ctrl-C.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { API_VERSION, KIND, type FrappeBench } from '../src/api/v1alpha1/index.ts';
import { CONTROLLER_NAME } from '../src/controllers/bench/index.ts';
import { deploymentRolledOut } from '../src/controllers/bench/status.ts';
import type { Deployment } from '../src/controllers/shared/objects.ts';
import { parseQuantity } from '../src/controllers/shared/quantity.ts';
import { KubeClient } from '../src/kube/client.ts';
import { Informer } from '../src/kube/informer.ts';
import { KubeConfig } from '../src/kube/kubeconfig.ts';
import { stderrLogger } from '../src/kube/logger.ts';
import { benchLine, benchReady, benchSettled } from '../src/dev/bench-status.ts';
import { startCluster, type Cluster } from '../src/dev/cluster.ts';
import { eventually } from '../src/dev/eventually.ts';
import { loadPatch, PATCHES } from '../src/dev/guide/guide.ts';
import { waitForAll } from '../src/dev/informer-wait.ts';
import { kubectl } from '../src/dev/kubectl.ts';
import { nodesManifest } from '../src/dev/manifests.ts';
import {
  createOperatorIdentity,
  installCrds,
  OPERATOR_NAMESPACE,
  readSample,
  RESTRICTED_PSS,
} from '../src/dev/operator-setup.ts';
import { K8S_VERSION } from '../src/dev/versions.ts';
import { useCluster } from '../test/harness/env.ts';
import { createTestNamespace } from '../test/harness/namespace.ts';
import { countWrites, readWrites } from './audit.ts';
import {
  controllerIdle,
  distribution,
  MemorySampler,
  requestsBetween,
  requestsByMethod,
} from './measure.ts';
import { startOperator, type OperatorCode, type OperatorProcess } from './operator.ts';
import { formatReport, type BenchResult, type PhaseResult } from './report.ts';

const SAMPLE = 'frappebench.yaml';
const PATCH = 'prod-bench-vertical-scaling.patch.json';
/**
 * CPU one bench requests at most, in the change wave: three gunicorn pods at the patch's 2 CPU,
 * one more while the rolling update surges, and about 1.2 CPU for the other components and Redis
 * (the defaults of src/controllers/shared/resources.ts). The cluster gets Nodes for that.
 */
const CPU_PER_BENCH = 10;

interface Flags {
  benches: number;
  quietSeconds: number;
  timeoutSeconds: number;
  operator: OperatorCode;
}

function parseFlags(argv: string[]): Flags {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      benches: { type: 'string', default: '20' },
      quiet: { type: 'string', default: '60' },
      timeout: { type: 'string', default: '600' },
      operator: { type: 'string', default: 'build' },
    },
  });
  const operator = values.operator;
  if (operator !== 'build' && operator !== 'source') {
    throw new Error(`--operator=${operator}: expected build or source`);
  }
  const int = (flag: string, v: string, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
      throw new Error(`--${flag}=${v}: expected an integer ≥ ${min}`);
    return n;
  };
  return {
    benches: int('benches', values.benches, 1),
    quietSeconds: int('quiet', values.quiet, 0),
    timeoutSeconds: int('timeout', values.timeout, 1),
    operator,
  };
}

/** What `stop()` stops, once started: the driver's informers, then the operator. */
interface Running {
  operator?: OperatorProcess;
  informers: { stop(): Promise<void> }[];
}

const say = (line: string): void => {
  process.stderr.write(`[bench] ${line}\n`);
};

const seconds = (ms: number): number => Math.round(ms) / 1000;

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const cluster = await startCluster({ log: say });
  const running: Running = { informers: [] };
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await Promise.all(running.informers.map((i) => i.stop()));
      await running.operator?.stop();
      await cluster.stop();
    })();
    return stopping;
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    say(`${sig}: stopping the operator and the control plane…`);
    void stop().then(() => process.exit(130));
  };
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);
  process.on('exit', () => running.operator?.kill());
  try {
    const result = await measure(cluster, flags, running);
    const dir = join(os.tmpdir(), 'frappe-operator-bench');
    await mkdir(dir, { recursive: true });
    const path = join(dir, `result-${result.startedAt.replaceAll(':', '-')}.json`);
    await writeFile(path, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${formatReport(result)}\nresults (JSON): ${path}\n`);
  } finally {
    await stop();
  }
}

async function measure(cluster: Cluster, flags: Flags, running: Running): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  const loadAtStart = os.loadavg()[0] ?? 0;
  const n = flags.benches;
  const timeoutMs = flags.timeoutSeconds * 1000;
  useCluster(cluster);
  await installCrds(cluster, ['keda']);
  const nodes = await addNodes(cluster, n);
  const identity = await createOperatorIdentity(cluster);
  const namespaces = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      createTestNamespace(`bench-${String(i + 1)}`, RESTRICTED_PSS),
    ),
  );
  const sample = await readSample(SAMPLE);
  const name = sample.metadata.name ?? '';
  const patchFixture = PATCHES.find((p) => p.file === PATCH);
  if (patchFixture === undefined) throw new Error(`no guide patch ${PATCH}`);
  const patch = JSON.parse(await loadPatch(patchFixture)) as {
    spec: { componentResources: { gunicorn: Resources } };
  };
  say(`cluster ready: ${String(nodes)} nodes, ${String(n)} namespaces; starting the operator`);

  // The operator, as its ServiceAccount; started once its informers have synced.
  const operator = await startOperator({
    code: flags.operator,
    workDir: cluster.workDir,
    kubeconfigPath: identity.kubeconfigPath,
    namespace: OPERATOR_NAMESPACE,
    log: say,
  });
  running.operator = operator;
  const started = operator.memory().rssBytes;
  const requests = async () => requestsByMethod(await operator.metrics());
  /** A phase's write window ends once the reconcile that finished it (and its Events) is done. */
  const idle = async (): Promise<number> => {
    await eventually(
      async () => {
        if (!controllerIdle(await operator.metrics(), CONTROLLER_NAME)) {
          throw new Error('a reconcile is in flight');
        }
      },
      { timeout: 60_000, interval: 20, message: `controller ${CONTROLLER_NAME} idle` },
    );
    return Date.now();
  };

  // The driver: admin, in this process.
  const driver = KubeClient.fromKubeConfig(KubeConfig.fromFiles([cluster.kubeconfigPath]), {
    userAgent: 'frappe-bench-driver',
  });
  const benches = new Informer<FrappeBench>(driver, {
    apiVersion: API_VERSION,
    kind: KIND.FrappeBench,
    logger: stderrLogger,
  });
  const gunicorns = new Informer<Deployment>(driver, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    labelSelector:
      'app.kubernetes.io/component=gunicorn,app.kubernetes.io/managed-by=frappe-operator',
    logger: stderrLogger,
  });
  running.informers.push(benches, gunicorns);
  benches.start();
  gunicorns.start();
  await Promise.all([benches.waitForSync(), gunicorns.waitForSync()]);
  const bench = (ns: string) => benches.get(ns, name);
  const describe = (ns: string): string => {
    const b = bench(ns);
    return b === undefined ? 'not seen' : benchLine(b);
  };

  const memory = new MemorySampler(() => operator.memory().rssBytes);
  const baseline = memory.now();
  memory.peak();

  // 1. Convergence.
  const requests0 = await requests();
  say(`creating ${String(n)} benches`);
  const createdAt = new Map<string, number>();
  const t0 = Date.now();
  const everyBench = (what: string, done: (ns: string) => boolean) =>
    waitForAll({ what, keys: namespaces, informers: [benches], done, describe, timeoutMs });
  const firstReady = everyBench('benches Ready=True', (ns) => benchReady(bench(ns)));
  const settled = everyBench('benches settled', (ns) => benchSettled(bench(ns)));
  await Promise.all(
    namespaces.map((ns) => {
      createdAt.set(ns, Date.now());
      return driver.create({ ...sample, metadata: { name, namespace: ns } });
    }),
  );
  const [readyAt, settledAt] = await Promise.all([firstReady, settled]);
  const settledAll = Math.max(...settledAt.values());
  const t1 = await idle();
  const afterConvergence = memory.now();
  const convergencePeak = memory.peak();
  const requests1 = await requests();
  const since = (at: Map<string, number>, from: Map<string, number>) =>
    namespaces.map((ns) => (at.get(ns) ?? NaN) - (from.get(ns) ?? NaN));
  say(
    `all ${String(n)} benches settled after ${String(seconds(settledAll - t0))} s; quiet for ${String(flags.quietSeconds)} s`,
  );

  // 2. Quiet: the measurement window itself, nothing is awaited.
  await sleep(flags.quietSeconds * 1000);
  const t2 = Date.now();
  const requests2 = await requests();
  memory.peak();

  // 3. The change wave: the guide's vertical-scaling patch on every bench.
  say(`patching every bench (${PATCH})`);
  const patchedAt = new Map<string, number>();
  const targetGeneration = new Map<string, number>();
  const t3 = Date.now();
  await Promise.all(
    namespaces.map(async (ns) => {
      patchedAt.set(ns, Date.now());
      const b = await driver.patch<FrappeBench>(
        API_VERSION,
        KIND.FrappeBench,
        ns,
        name,
        patch,
        'merge',
      );
      targetGeneration.set(ns, b.metadata.generation ?? 0);
    }),
  );
  const wanted = patch.spec.componentResources.gunicorn;
  const waveAt = await waitForAll({
    what: 'gunicorn rolled out with the new resources and benches settled',
    keys: namespaces,
    informers: [benches, gunicorns],
    done: (ns) => {
      const b = bench(ns);
      const d = gunicorns.get(ns, `${name}-gunicorn`);
      return (
        b !== undefined &&
        (b.metadata.generation ?? 0) >= (targetGeneration.get(ns) ?? Infinity) &&
        benchSettled(b) &&
        d !== undefined &&
        sameResources(d.spec.template.spec?.containers[0]?.resources, wanted) &&
        deploymentRolledOut(d)
      );
    },
    describe,
    timeoutMs,
  });
  const waveAll = Math.max(...waveAt.values());
  const t4 = await idle();
  const wavePeak = memory.peak();
  const afterWave = memory.now();
  memory.stop();
  const peak = operator.memory().peakRssBytes;
  const requests3 = await requests();
  say(`change wave done after ${String(seconds(waveAll - t3))} s; reading the audit log`);

  const writes = await readWrites(cluster.auditLogPath, identity.username);
  const toSeconds = (ms: number[]) => distribution(ms.map(seconds));
  const phase = (
    from: number,
    to: number,
    requestsBefore: Record<string, number>,
    requestsAfter: Record<string, number>,
  ): PhaseResult => ({
    writes: countWrites(writes, from, to, namespaces),
    requests: requestsBetween(requestsBefore, requestsAfter),
  });
  return {
    startedAt,
    config: {
      benches: n,
      quietSeconds: flags.quietSeconds,
      timeoutSeconds: flags.timeoutSeconds,
      operator: flags.operator,
      sample: `config/samples/${SAMPLE}`,
      patch: `src/dev/guide/${PATCH}`,
    },
    environment: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      loadAverage: { start: loadAtStart, end: os.loadavg()[0] ?? 0 },
      node: process.version,
      kubernetes: K8S_VERSION,
      nodes,
      operatorUser: identity.username,
      apiserverLimits:
        '--max-requests-inflight, --max-mutating-requests-inflight and API Priority and Fairness at their defaults (not changed)',
    },
    convergence: {
      firstReadySeconds: toSeconds(since(readyAt, createdAt)),
      settledSeconds: toSeconds(since(settledAt, createdAt)),
      totalSeconds: seconds(settledAll - t0),
      idleAfterSeconds: seconds(t1 - settledAll),
      ...phase(t0, t1, requests0, requests1),
    },
    quiet: { seconds: seconds(t2 - t1), ...phase(t1, t2, requests1, requests2) },
    wave: {
      seconds: toSeconds(since(waveAt, patchedAt)),
      totalSeconds: seconds(waveAll - t3),
      idleAfterSeconds: seconds(t4 - waveAll),
      ...phase(t3, t4, requests2, requests3),
    },
    memory: {
      pid: operator.pid,
      started,
      baseline,
      convergencePeak,
      afterConvergence,
      wavePeak,
      afterWave,
      peak,
    },
  };
}

interface Resources {
  requests?: Record<string, string>;
  limits?: Record<string, string>;
}

/** Whether a container's resources are `wanted`, quantities compared by value. */
function sameResources(actual: Resources | undefined, wanted: Resources): boolean {
  const same = (a: Record<string, string> | undefined, w: Record<string, string> | undefined) =>
    Object.entries(w ?? {}).every(
      ([k, v]) => a?.[k] !== undefined && parseQuantity(a[k]) === parseQuantity(v),
    );
  return same(actual?.requests, wanted.requests) && same(actual?.limits, wanted.limits);
}

interface NodeManifest {
  metadata: { name: string; labels: Record<string, string> };
  status: { allocatable: { cpu: string } };
}

/**
 * Adds kwok Nodes like the harness's until the cluster has CPU_PER_BENCH for every bench, and
 * waits until they are Ready; returns the number of Nodes.
 */
async function addNodes(cluster: Cluster, benches: number): Promise<number> {
  const { items } = JSON.parse(nodesManifest()) as { items: NodeManifest[] };
  const template = items[0];
  if (template === undefined) throw new Error('the harness defines no Nodes');
  const total = Math.max(
    items.length,
    Math.ceil((benches * CPU_PER_BENCH) / parseQuantity(template.status.allocatable.cpu)),
  );
  const extra = Array.from({ length: total - items.length }, (_, i) => {
    const nodeName = `kwok-node-${String(items.length + i)}`;
    return {
      ...template,
      metadata: {
        ...template.metadata,
        name: nodeName,
        labels: { ...template.metadata.labels, 'kubernetes.io/hostname': nodeName },
      },
    };
  });
  if (extra.length === 0) return total;
  await kubectl(cluster, ['apply', '--server-side', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: extra }),
  });
  for (const node of extra) {
    await eventually(
      async () => {
        const r = await kubectl(cluster, [
          'get',
          `node/${node.metadata.name}`,
          '-o',
          'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
        ]);
        if (r.stdout !== 'True') throw new Error(`Ready=${r.stdout || 'unknown'}`);
      },
      { timeout: 60_000, message: `node ${node.metadata.name} Ready (kwok)` },
    );
  }
  return total;
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    say(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(1);
  },
);
