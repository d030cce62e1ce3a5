// The sites scenario: N FrappeSites on one bench (config/samples/frappebench.yaml, the guide's
// prod-bench, which asks for siteReconcileConcurrency 20), in one namespace:
//
//   bench        the bench is created and settles, before any site exists;
//   convergence  create all N sites at once → each Ready=True at its generation: bench Ready,
//                Secrets generated, database, its <site>-init Job complete (kwok completes the
//                pod), its Ingress, migrated;
//   quiet        Q seconds after the controllers are idle, during which nothing changes: the
//                operator must write nothing.
//
// The sites use the external database provider with one shared connection Secret (keys
// `username`, `password`) and `dbConfig.host`: the operator then needs no MariaDB Operator, so
// nothing but the operator and the control plane is measured — a MariaDB stand-in setting Ready
// on 3 × N Database/User/Grant objects would add its own writes and watch load to the machine
// the numbers come from. Nothing connects to the host: under kwok no container runs.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { API_VERSION, KIND, type FrappeBench, type FrappeSite } from '../src/api/v1alpha1/index.ts';
import { CONTROLLER_NAME as BENCH_CONTROLLER } from '../src/controllers/bench/index.ts';
import { CONTROLLER_NAME as SITE_CONTROLLER } from '../src/controllers/site/index.ts';
import { parseQuantity } from '../src/controllers/shared/quantity.ts';
import { jobResources } from '../src/controllers/shared/resources.ts';
import { describeBy, waitForAll } from '../src/dev/informer-wait.ts';
import { readSample } from '../src/dev/operator-setup.ts';
import type { JobObject } from '../src/runtime/jobs.ts';
import { benchLine, benchSettled, siteLine, siteReady } from '../src/dev/progress.ts';
import { bySiteName } from './audit.ts';
import { BENCH_SAMPLE, CPU_PER_BENCH } from './benches.ts';
import { controllerGauge, distribution, MemorySampler } from './measure.ts';
import type { SiteResult } from './report.ts';
import { say, seconds, startScenario, type Bed, type ScenarioFlags } from './scenario.ts';

/** Pods of the bench, at most (its components, Redis, bench-init, a surge pod). */
const BENCH_PODS = 20;
const CONNECTION_SECRET = 'frappe-db';
const DB_HOST = 'mariadb.databases.svc.cluster.local';
/** How often the site controller's in-flight reconciles are sampled. */
const WORKER_SAMPLE_MS = 250;

export interface SiteFlags extends ScenarioFlags {
  sites: number;
}

export async function measureSites(bed: Bed, flags: SiteFlags): Promise<SiteResult> {
  const n = flags.sites;
  // Room for every site-init pod at once, beside the bench's.
  const initCpu = parseQuantity(jobResources(undefined, 'siteInit').requests?.cpu ?? '0');
  const sc = await startScenario(bed, flags, {
    cpu: CPU_PER_BENCH + n * initCpu,
    pods: BENCH_PODS + n,
    namespaces: ['sites'],
  });
  const { operator, driver } = sc;
  const ns = sc.namespaces[0] ?? '';
  const sample = (await readSample(BENCH_SAMPLE)) as FrappeBench;
  const bench = sample.metadata.name ?? '';
  const controllers = [BENCH_CONTROLLER, SITE_CONTROLLER];

  const benches = await sc.watch<FrappeBench>({
    apiVersion: API_VERSION,
    kind: KIND.FrappeBench,
    namespace: ns,
  });
  const sites = await sc.watch<FrappeSite>({
    apiVersion: API_VERSION,
    kind: KIND.FrappeSite,
    namespace: ns,
  });
  const jobs = await sc.watch<JobObject>({
    apiVersion: 'batch/v1',
    kind: 'Job',
    namespace: ns,
    labelSelector: 'app.kubernetes.io/component=site-init',
  });
  // When each site's init Job was first seen, and first seen Complete: the part of a site's
  // time that is kcm's Job controller, the scheduler and kwok rather than the operator.
  const jobSeenAt = new Map<string, number>();
  const jobDoneAt = new Map<string, number>();
  const onJob = (job: JobObject): void => {
    const site = job.metadata.labels?.site;
    if (site === undefined) return;
    const now = Date.now();
    if (!jobSeenAt.has(site)) jobSeenAt.set(site, now);
    const complete = job.status?.conditions?.some(
      (c) => c.type === 'Complete' && c.status === 'True',
    );
    if (complete === true && !jobDoneAt.has(site)) jobDoneAt.set(site, now);
  };
  jobs.addEventHandler({
    add: onJob,
    update: (_old, job) => {
      onJob(job);
    },
  });

  // The bench the sites run on, settled, and the connection Secret they share.
  say(`creating bench ${ns}/${bench} and Secret ${CONNECTION_SECRET}`);
  await driver.create({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: CONNECTION_SECRET, namespace: ns },
    stringData: { username: 'frappe', password: randomBytes(16).toString('hex') },
  });
  const benchCreated = Date.now();
  await driver.create({ ...sample, metadata: { name: bench, namespace: ns } });
  const benchAt = await waitForAll({
    what: `bench ${ns}/${bench} settled`,
    keys: [bench],
    informers: [benches],
    done: (b) => benchSettled(benches.get(ns, b)),
    describe: describeBy((b) => benches.get(ns, b), benchLine),
    timeoutMs: sc.timeoutMs,
  });
  const benchSettledSeconds = seconds((benchAt.get(bench) ?? NaN) - benchCreated);
  await sc.idle(controllers);

  const memory = new MemorySampler(() => operator.memory().rssBytes);
  const baseline = memory.now();
  memory.peak();
  let peakActive = 0;
  const workers = setInterval(() => {
    void operator.metrics().then(
      (m) => {
        peakActive = Math.max(
          peakActive,
          controllerGauge(m, 'controller_runtime_active_workers', SITE_CONTROLLER),
        );
      },
      (err: unknown) => {
        say(`sampling the site workers: ${String(err)}`);
      },
    );
  }, WORKER_SAMPLE_MS);

  // 1. Convergence.
  const names = Array.from(
    { length: n },
    (_, i) => `site-${String(i + 1).padStart(String(n).length, '0')}`,
  );
  const dbConfig = {
    provider: 'external',
    connectionSecretRef: { name: CONNECTION_SECRET },
    host: DB_HOST,
  };
  const counters0 = await sc.counters();
  say(`creating ${String(n)} sites on bench ${ns}/${bench}`);
  const createdAt = new Map<string, number>();
  const t0 = Date.now();
  const ready = waitForAll({
    what: 'sites Ready=True',
    keys: names,
    informers: [sites],
    done: (s) => siteReady(sites.get(ns, s)),
    describe: describeBy((s) => sites.get(ns, s), siteLine),
    timeoutMs: sc.timeoutMs,
  });
  await Promise.all(
    names.map((name) => {
      createdAt.set(name, Date.now());
      return driver.create({
        apiVersion: API_VERSION,
        kind: KIND.FrappeSite,
        metadata: { name, namespace: ns },
        spec: {
          benchRef: { name: bench },
          siteName: `${name}.example.com`,
          apps: ['erpnext'],
          dbConfig,
        },
      });
    }),
  );
  const readyAt = await ready;
  const readyAll = Math.max(...readyAt.values());
  const t1 = await sc.idle(controllers);
  clearInterval(workers);
  const afterConvergence = memory.now();
  const convergencePeak = memory.peak();
  const counters1 = await sc.counters();
  const maxWorkers = controllerGauge(
    await operator.metrics(),
    'controller_runtime_max_concurrent_reconciles',
    SITE_CONTROLLER,
  );
  say(
    `all ${String(n)} sites Ready after ${String(seconds(readyAll - t0))} s; quiet for ${String(flags.quietSeconds)} s`,
  );

  // 2. Quiet: the measurement window itself, nothing is awaited.
  await sleep(flags.quietSeconds * 1000);
  const t2 = Date.now();
  const counters2 = await sc.counters();
  const afterQuiet = memory.now();
  memory.stop();
  say('reading the audit log');

  const phase = await sc.phases(names, bySiteName(ns, names));
  const between = (from: Map<string, number>, to: Map<string, number>) =>
    distribution(names.map((s) => seconds((to.get(s) ?? NaN) - (from.get(s) ?? NaN))));
  return {
    ...sc.header({
      sites: n,
      bench: `config/samples/${BENCH_SAMPLE}`,
      siteReconcileConcurrency: sample.spec.siteReconcileConcurrency ?? 0,
      database: `dbConfig ${JSON.stringify(dbConfig)}, one Secret for every site (no MariaDB Operator)`,
    }),
    benchSettledSeconds,
    siteWorkers: { max: maxWorkers, peakActive },
    convergence: {
      readySeconds: between(createdAt, readyAt),
      stages: {
        toJobSeconds: between(createdAt, jobSeenAt),
        jobSeconds: between(jobSeenAt, jobDoneAt),
        afterJobSeconds: between(jobDoneAt, readyAt),
      },
      totalSeconds: seconds(readyAll - t0),
      idleAfterSeconds: seconds(t1 - readyAll),
      ...phase(t0, t1, counters0, counters1),
    },
    quiet: { seconds: seconds(t2 - t1), ...phase(t1, t2, counters1, counters2) },
    memory: sc.memory({ baseline, convergencePeak, afterConvergence, afterQuiet }),
  };
}
