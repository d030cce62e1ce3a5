// Helpers of the FrappeBench integration tests: the CRDs, an in-process manager running only the
// bench controller for one test namespace (so tests running in parallel never reconcile each
// other's benches), and typed reads of what the controller wrote.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import type {
  ComponentName,
  ComponentScalingStatus,
  FrappeBench,
} from '../../../src/api/v1alpha1/index.ts';
import { OperatorConfigHolder } from '../../../src/config/holder.ts';
import { KubeClient, type KubeObject } from '../../../src/kube/client.ts';
import { stderrLogger } from '../../../src/kube/logger.ts';
import { setupBenchController } from '../../../src/controllers/bench/index.ts';
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

/** What a describe block's tests use: their namespace and a client of the test cluster. */
export interface BenchTestEnv {
  readonly ns: string;
  readonly client: KubeClient;
}

/**
 * Registers the hooks of a describe block: our CRDs (and KEDA's fixture CRDs with `keda`), a
 * fresh namespace named after `prefix` with `labels`, and a bench operator for it; all torn down
 * after the block. The returned object is filled in by the `before` hook.
 */
export function useBenchOperator(
  prefix: string,
  opts: { labels?: Record<string, string>; keda?: boolean } = {},
): BenchTestEnv {
  let ns = '';
  let op: RunningOperator | undefined;
  before(async () => {
    await applyOurCrds();
    if (opts.keda === true) await applyFixtureCrds(['keda']);
    ns = await createTestNamespace(prefix, opts.labels);
    op = await startBenchOperator(ns);
  });
  after(async () => {
    await op?.stop();
    if (ns !== '') await deleteNamespace(ns);
  });
  return {
    get ns() {
      return ns;
    },
    get client() {
      if (op === undefined) throw new Error('the bench operator has not started (before hook)');
      return op.client;
    },
  };
}

export interface RunningOperator {
  client: KubeClient;
  stop: () => Promise<void>;
}

/** A manager with the bench controller for `namespace`, configured by `env` (FRAPPE_*). */
export async function startBenchOperator(
  namespace: string,
  env: Record<string, string> = {},
  kubeconfig = kubeConfig(),
): Promise<RunningOperator> {
  const client = KubeClient.fromKubeConfig(kubeconfig);
  const { holder } = OperatorConfigHolder.fromStartup({ configMapData: undefined, env });
  const manager = new Manager({
    client,
    namespace,
    // Only this test's namespace, as `watchNamespaces` restricts the operator.
    namespaces: [namespace],
    leaderElection: false,
    healthProbeAddress: undefined,
    metricsAddress: undefined,
    metricsAuthorization: false,
    gracefulShutdownTimeoutMs: 10_000,
    logger: stderrLogger,
  });
  manager.addController(setupBenchController(manager, holder));
  await manager.start();
  return { client, stop: () => manager.stop() };
}

export async function getBench(client: KubeClient, ns: string, name: string): Promise<FrappeBench> {
  const b = await client.get<FrappeBench>('vyogo.tech/v1alpha1', 'FrappeBench', ns, name);
  if (b === undefined) throw new Error(`FrappeBench ${ns}/${name} not found`);
  return b;
}

export function condition(bench: FrappeBench, type: string) {
  return bench.status?.conditions?.find((c) => c.type === type);
}

/** Wait until the bench's condition `type` has `status` (and `reason`, when given). */
export function waitForCondition(
  client: KubeClient,
  ns: string,
  name: string,
  type: string,
  status: 'True' | 'False',
  reason?: string,
  timeout = 90_000,
): Promise<FrappeBench> {
  return eventually(
    async () => {
      const b = await getBench(client, ns, name);
      const c = condition(b, type);
      if (c?.status !== status || (reason !== undefined && c.reason !== reason)) {
        throw new Error(
          `${type} is ${c?.status ?? 'unset'}/${c?.reason ?? ''} (${c?.message ?? ''}); phase ${b.status?.phase ?? ''}; conditions ${JSON.stringify(b.status?.conditions?.map((x) => `${x.type}=${x.status}/${x.reason}`))}`,
        );
      }
      return b;
    },
    {
      timeout,
      interval: 250,
      message: `FrappeBench ${ns}/${name} ${type}=${status}${reason === undefined ? '' : `/${reason}`}`,
    },
  );
}

/** Wait until the bench's status.componentScaling[component] passes `check`; returns it. */
export function waitForScaling(
  client: KubeClient,
  ns: string,
  name: string,
  component: ComponentName,
  check: (s: ComponentScalingStatus | undefined) => void,
): Promise<ComponentScalingStatus | undefined> {
  return eventually(
    async () => {
      const s = (await getBench(client, ns, name)).status?.componentScaling?.[component];
      check(s);
      return s;
    },
    { timeout: 60_000, interval: 250, message: `FrappeBench ${ns}/${name} ${component} scaling` },
  );
}

/** Wait until a Warning event `reason` is listed in `ns`, as `kubectl get events` shows it. */
export async function waitForWarningEvent(
  ns: string,
  reason: string,
  kubeconfigPath?: string,
): Promise<void> {
  await eventually(
    async () => {
      const events = await kubectl(
        [
          'get',
          'events',
          '--field-selector',
          `reason=${reason}`,
          '-o',
          'jsonpath={.items[*].type}',
        ],
        { namespace: ns, ...(kubeconfigPath === undefined ? {} : { kubeconfigPath }) },
      );
      assert.match(events.stdout, /Warning/);
    },
    { timeout: 60_000, message: `a Warning event ${reason} in ${ns}` },
  );
}

/** The object, waiting until it exists. */
export function waitFor<T extends KubeObject>(
  client: KubeClient,
  apiVersion: string,
  kind: string,
  ns: string,
  name: string,
  check: (obj: T) => void = () => undefined,
  timeout = 60_000,
): Promise<T> {
  return eventually(
    async () => {
      const obj = await client.get<T>(apiVersion, kind, ns, name);
      if (obj === undefined) throw new Error(`${kind} ${ns}/${name} does not exist`);
      check(obj);
      return obj;
    },
    { timeout, interval: 250, message: `${kind} ${ns}/${name}` },
  );
}

/** Wait until the object is gone. */
export function waitForGone(
  client: KubeClient,
  apiVersion: string,
  kind: string,
  ns: string,
  name: string,
  timeout = 60_000,
): Promise<void> {
  return eventually(
    async () => {
      if ((await client.get(apiVersion, kind, ns, name)) !== undefined) {
        throw new Error(`${kind} ${ns}/${name} still exists`);
      }
    },
    { timeout, interval: 250, message: `${kind} ${ns}/${name} deleted` },
  );
}

/** `kubectl apply` of a manifest object in `ns`. */
export async function apply(obj: unknown, ns: string, kubeconfigPath?: string): Promise<void> {
  await kubectl(['apply', '-f', '-'], {
    namespace: ns,
    input: JSON.stringify(obj),
    ...(kubeconfigPath === undefined ? {} : { kubeconfigPath }),
  });
}

/** `kubectl patch --type=merge` as the guide does. */
export async function patchBench(ns: string, name: string, patch: unknown): Promise<void> {
  await kubectl(['patch', 'frappebench', name, '--type=merge', '-p', JSON.stringify(patch)], {
    namespace: ns,
  });
}
