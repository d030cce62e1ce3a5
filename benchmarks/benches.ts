// The benches scenario: N copies of config/samples/frappebench.yaml (the guide's prod-bench: HPA
// on gunicorn, KEDA on worker-short/long), each in its own namespace:
//
//   convergence  create all N at once → each first Ready=True, and each settled (Ready, phase
//                Ready, every component at its replicas, gunicorn at the HPA's minReplicas);
//   quiet        Q seconds after the last bench settled, during which nothing changes: the
//                operator must write nothing;
//   change wave  the guide's vertical-scaling patch on every bench → its gunicorn Deployment has
//                the new resources and the bench has settled again at the new generation.
import { setTimeout as sleep } from 'node:timers/promises';
import { API_VERSION, KIND, type FrappeBench } from '../src/api/v1alpha1/index.ts';
import { CONTROLLER_NAME } from '../src/controllers/bench/index.ts';
import { deploymentRolledOut } from '../src/controllers/bench/status.ts';
import type { Deployment } from '../src/controllers/shared/objects.ts';
import { parseQuantity } from '../src/controllers/shared/quantity.ts';
import { loadPatch, PATCHES } from '../src/dev/guide/guide.ts';
import { describeBy, waitForAll } from '../src/dev/informer-wait.ts';
import { readSample } from '../src/dev/operator-setup.ts';
import { benchLine, benchReady, benchSettled } from '../src/dev/progress.ts';
import { byNamespace } from './audit.ts';
import { distribution, MemorySampler } from './measure.ts';
import type { BenchResult } from './report.ts';
import { say, seconds, startScenario, type Bed, type ScenarioFlags } from './scenario.ts';

/** The guide's prod-bench, as the sites scenario runs its sites on too. */
export const BENCH_SAMPLE = 'frappebench.yaml';
const PATCH = 'prod-bench-vertical-scaling.patch.json';
/**
 * CPU one bench requests at most, in the change wave: three gunicorn pods at the patch's 2 CPU,
 * one more while the rolling update surges, and about 1.2 CPU for the other components and Redis
 * (the defaults of src/controllers/shared/resources.ts). The cluster gets Nodes for that.
 */
export const CPU_PER_BENCH = 10;

export interface BenchFlags extends ScenarioFlags {
  benches: number;
}

export async function measureBenches(bed: Bed, flags: BenchFlags): Promise<BenchResult> {
  const n = flags.benches;
  const sc = await startScenario(bed, flags, {
    cpu: n * CPU_PER_BENCH,
    pods: 0,
    namespaces: Array.from({ length: n }, (_, i) => `bench-${String(i + 1)}`),
  });
  const { namespaces, operator, driver } = sc;
  const sample = await readSample(BENCH_SAMPLE);
  const name = sample.metadata.name ?? '';
  const patchFixture = PATCHES.find((p) => p.file === PATCH);
  if (patchFixture === undefined) throw new Error(`no guide patch ${PATCH}`);
  const patch = JSON.parse(await loadPatch(patchFixture)) as {
    spec: { componentResources: { gunicorn: Resources } };
  };
  const idle = () => sc.idle([CONTROLLER_NAME]);

  const benches = await sc.watch<FrappeBench>({ apiVersion: API_VERSION, kind: KIND.FrappeBench });
  const gunicorns = await sc.watch<Deployment>({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    labelSelector:
      'app.kubernetes.io/component=gunicorn,app.kubernetes.io/managed-by=frappe-operator',
  });
  const bench = (ns: string) => benches.get(ns, name);
  const describe = describeBy(bench, benchLine);

  const memory = new MemorySampler(() => operator.memory().rssBytes);
  const baseline = memory.now();
  memory.peak();

  // 1. Convergence.
  const counters0 = await sc.counters();
  say(`creating ${String(n)} benches`);
  const createdAt = new Map<string, number>();
  const t0 = Date.now();
  const everyBench = (what: string, done: (ns: string) => boolean) =>
    waitForAll({
      what,
      keys: namespaces,
      informers: [benches],
      done,
      describe,
      timeoutMs: sc.timeoutMs,
    });
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
  const counters1 = await sc.counters();
  const since = (at: Map<string, number>, from: Map<string, number>) =>
    namespaces.map((ns) => (at.get(ns) ?? NaN) - (from.get(ns) ?? NaN));
  say(
    `all ${String(n)} benches settled after ${String(seconds(settledAll - t0))} s; quiet for ${String(flags.quietSeconds)} s`,
  );

  // 2. Quiet: the measurement window itself, nothing is awaited.
  await sleep(flags.quietSeconds * 1000);
  const t2 = Date.now();
  const counters2 = await sc.counters();
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
    timeoutMs: sc.timeoutMs,
  });
  const waveAll = Math.max(...waveAt.values());
  const t4 = await idle();
  const wavePeak = memory.peak();
  const afterWave = memory.now();
  memory.stop();
  const counters3 = await sc.counters();
  say(`change wave done after ${String(seconds(waveAll - t3))} s; reading the audit log`);

  const phase = await sc.phases(namespaces, byNamespace);
  const toSeconds = (ms: number[]) => distribution(ms.map(seconds));
  return {
    ...sc.header({
      benches: n,
      sample: `config/samples/${BENCH_SAMPLE}`,
      patch: `src/dev/guide/${PATCH}`,
    }),
    convergence: {
      firstReadySeconds: toSeconds(since(readyAt, createdAt)),
      settledSeconds: toSeconds(since(settledAt, createdAt)),
      totalSeconds: seconds(settledAll - t0),
      idleAfterSeconds: seconds(t1 - settledAll),
      ...phase(t0, t1, counters0, counters1),
    },
    quiet: { seconds: seconds(t2 - t1), ...phase(t1, t2, counters1, counters2) },
    wave: {
      seconds: toSeconds(since(waveAt, patchedAt)),
      totalSeconds: seconds(waveAll - t3),
      idleAfterSeconds: seconds(t4 - waveAll),
      ...phase(t3, t4, counters2, counters3),
    },
    memory: sc.memory({ baseline, convergencePeak, afterConvergence, wavePeak, afterWave }),
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
