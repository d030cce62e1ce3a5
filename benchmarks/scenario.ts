// What every scenario of the benchmark stands on: a started control plane with our CRDs and
// KEDA's fixture CRDs, enough kwok Nodes for its pods, namespaces enforcing the restricted Pod
// Security Standard, the operator's identity and process (./operator.ts), the driver's client
// and informers, and the instruments read from the operator (./measure.ts): its requests by
// method and reconciles by controller (a phase's difference of them), whether its controllers
// are idle.
import os from 'node:os';
import type { KubeObject } from '../src/kube/client.ts';
import { KubeClient } from '../src/kube/client.ts';
import { Informer, type InformerOptions } from '../src/kube/informer.ts';
import { KubeConfig } from '../src/kube/kubeconfig.ts';
import { stderrLogger } from '../src/kube/logger.ts';
import { parseQuantity } from '../src/controllers/shared/quantity.ts';
import type { Cluster } from '../src/dev/cluster.ts';
import { eventually } from '../src/dev/eventually.ts';
import { kubectl } from '../src/dev/kubectl.ts';
import { nodesManifest } from '../src/dev/manifests.ts';
import {
  createOperatorIdentity,
  installCrds,
  OPERATOR_NAMESPACE,
  RESTRICTED_PSS,
} from '../src/dev/operator-setup.ts';
import { K8S_VERSION } from '../src/dev/versions.ts';
import { useCluster } from '../test/harness/env.ts';
import { createTestNamespace } from '../test/harness/namespace.ts';
import { countWrites, readWrites, type Write, type WriteCounts } from './audit.ts';
import { controllerIdle, countsBetween, sumBy } from './measure.ts';
import { startOperator, type OperatorProcess } from './operator.ts';
import type { Environment, OperatorMemory, PhaseResult, ScenarioConfig } from './report.ts';

/** What `stop()` stops, once started: the driver's informers, then the operator. */
export interface Running {
  operator?: OperatorProcess;
  informers: { stop(): Promise<void> }[];
}

/** What every scenario is given: a started control plane, the operator's entry point, and where
 * to record what must be stopped. */
export interface Bed {
  cluster: Cluster;
  /** The operator's entry point (prepareOperator). */
  cli: string;
  running: Running;
}

/** The flags every scenario reads. */
export type ScenarioFlags = ScenarioConfig;

export const say = (line: string): void => {
  process.stderr.write(`[bench] ${line}\n`);
};

export const seconds = (ms: number): number => Math.round(ms) / 1000;

/** The operator's counters at one time. */
export interface Counters {
  /** rest_client_requests_total, by method. */
  requests: Record<string, number>;
  /** controller_runtime_reconcile_total, by controller. */
  reconciles: Record<string, number>;
  /** controller_runtime_reconcile_time_seconds (its sum), by controller. */
  reconcileSeconds: Record<string, number>;
  /** The operator process's CPU time (user + system), in seconds. */
  cpuSeconds: number;
}

/** A phase: the writes of its window and the operator's counters between its ends. */
export const phaseResult = (
  writes: WriteCounts,
  before: Counters,
  after: Counters,
): PhaseResult => ({
  writes,
  requests: countsBetween(before.requests, after.requests),
  reconciles: countsBetween(before.reconciles, after.reconciles),
  reconcileSeconds: Object.fromEntries(
    Object.entries(countsBetween(before.reconcileSeconds, after.reconcileSeconds)).map(([c, v]) => [
      c,
      Math.round(v * 10) / 10,
    ]),
  ),
  cpuSeconds: Math.round((after.cpuSeconds - before.cpuSeconds) * 100) / 100,
});

export interface Scenario {
  /** How long a phase may wait for its objects. */
  timeoutMs: number;
  cluster: Cluster;
  namespaces: string[];
  operator: OperatorProcess;
  /** The operator's user name, as the audit log records it. */
  username: string;
  /** Admin, in this process. */
  driver: KubeClient;
  nodes: number;
  /** An informer of the driver, started, synced, and stopped with the scenario. */
  watch<T extends KubeObject>(opts: Omit<InformerOptions, 'logger'>): Promise<Informer<T>>;
  /**
   * The operator's memory for the result: its pid, VmRSS right after it started, the scenario's
   * own `readings`, and VmHWM now (call it last).
   */
  memory<R extends Omit<OperatorMemory, 'pid' | 'started' | 'peak'>>(
    readings: R,
  ): OperatorMemory & R;
  /** The operator's counters now, for a phase's PhaseResult. */
  counters(): Promise<Counters>;
  /** Waits until no reconcile of `controllers` is in flight or queued; returns when. */
  idle(controllers: readonly string[]): Promise<number>;
  /**
   * What every result starts with: when the scenario started (ISO 8601), its config (the flags
   * every scenario reads, and the scenario's own `config`), and the machine, the cluster and the
   * operator, with the load average then and now.
   */
  header<C extends object>(
    config: C,
  ): { startedAt: string; config: ScenarioConfig & C; environment: Environment };
  /**
   * Reads the operator's writes from the audit log (once every measurement is done) and returns
   * what a phase is: its writes in [from, to) per unit of `units` as `unitOf` tells, and the
   * counters between `before` and `after`.
   */
  phases(
    units: readonly string[],
    unitOf: (w: Write) => string | undefined,
  ): Promise<(from: number, to: number, before: Counters, after: Counters) => PhaseResult>;
}

/**
 * Readies the bed's cluster for a scenario: CRDs, Nodes with `cpu` CPUs and room for `pods` pods,
 * `namespaces` (restricted Pod Security, each `<prefix>-<random>`), and the operator as its
 * ServiceAccount, started once its informers have synced.
 */
export async function startScenario(
  { cluster, cli, running }: Bed,
  flags: ScenarioFlags,
  opts: { cpu: number; pods: number; namespaces: string[] },
): Promise<Scenario> {
  const startedAt = new Date().toISOString();
  const loadAtStart = os.loadavg()[0] ?? 0;
  useCluster(cluster);
  await installCrds(cluster, ['keda']);
  const nodes = await addNodes(cluster, opts.cpu, opts.pods);
  const identity = await createOperatorIdentity(cluster);
  const namespaces = await Promise.all(
    opts.namespaces.map((prefix) => createTestNamespace(prefix, RESTRICTED_PSS)),
  );
  say(
    `cluster ready: ${String(nodes)} nodes, ${String(namespaces.length)} namespaces; starting the operator`,
  );
  const operator = await startOperator({
    cli,
    workDir: cluster.workDir,
    kubeconfigPath: identity.kubeconfigPath,
    namespace: OPERATOR_NAMESPACE,
    log: say,
  });
  running.operator = operator;
  const started = operator.memory().rssBytes;
  const driver = KubeClient.fromKubeConfig(KubeConfig.fromFiles([cluster.kubeconfigPath]), {
    userAgent: 'frappe-bench-driver',
  });
  const { quietSeconds, timeoutSeconds, operator: code } = flags;
  return {
    timeoutMs: timeoutSeconds * 1000,
    cluster,
    namespaces,
    operator,
    username: identity.username,
    driver,
    nodes,
    watch: async <T extends KubeObject>(o: Omit<InformerOptions, 'logger'>) => {
      const informer = new Informer<T>(driver, { ...o, logger: stderrLogger });
      running.informers.push(informer);
      informer.start();
      await informer.waitForSync();
      return informer;
    },
    counters: async () => {
      const metrics = await operator.metrics();
      return {
        requests: sumBy(metrics, 'rest_client_requests_total', 'method'),
        reconciles: sumBy(metrics, 'controller_runtime_reconcile_total', 'controller'),
        reconcileSeconds: sumBy(
          metrics,
          'controller_runtime_reconcile_time_seconds_sum',
          'controller',
        ),
        cpuSeconds: operator.cpuSeconds(),
      };
    },
    // A phase's write window ends once the reconcile that finished it (and its Events) is done.
    idle: async (controllers) => {
      await eventually(
        async () => {
          const metrics = await operator.metrics();
          const busy = controllers.filter((c) => !controllerIdle(metrics, c));
          if (busy.length > 0) throw new Error(`reconciles in flight: ${busy.join(', ')}`);
        },
        { timeout: 60_000, interval: 20, message: `controllers ${controllers.join(', ')} idle` },
      );
      return Date.now();
    },
    phases: async (units, unitOf) => {
      const writes = await readWrites(cluster.auditLogPath, identity.username);
      return (from, to, before, after) =>
        phaseResult(countWrites(writes, from, to, units, unitOf), before, after);
    },
    memory: (readings) => ({
      pid: operator.pid,
      started,
      ...readings,
      peak: operator.memory().peakRssBytes,
    }),
    header: (config) => ({
      startedAt,
      config: { quietSeconds, timeoutSeconds, operator: code, ...config },
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
    }),
  };
}

interface NodeManifest {
  metadata: { name: string; labels: Record<string, string> };
  status: { allocatable: { cpu: string; pods: string } };
}

/**
 * Adds kwok Nodes like the harness's until the cluster has `cpu` CPUs and room for `pods` pods,
 * and waits until they are Ready; returns the number of Nodes.
 */
async function addNodes(cluster: Cluster, cpu: number, pods: number): Promise<number> {
  const { items } = JSON.parse(nodesManifest()) as { items: NodeManifest[] };
  const template = items[0];
  if (template === undefined) throw new Error('the harness defines no Nodes');
  const { allocatable } = template.status;
  const total = Math.max(
    items.length,
    Math.ceil(cpu / parseQuantity(allocatable.cpu)),
    Math.ceil(pods / Number(allocatable.pods)),
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
