// The benchmark's results (also written as JSON) and their human-readable tables: one per
// scenario, benches (./benches.ts) and sites (./sites.ts).
import type { Write, WriteCounts } from './audit.ts';
import { distribution, type Distribution } from './measure.ts';
import type { OperatorCode } from './operator.ts';

export interface PhaseResult {
  writes: WriteCounts;
  /** rest_client_requests_total of the operator, by method. */
  requests: Record<string, number>;
  /** controller_runtime_reconcile_total of the operator, by controller. */
  reconciles: Record<string, number>;
  /** Wall time of the reconciles in the phase (their sum over workers), by controller. */
  reconcileSeconds: Record<string, number>;
  /** CPU time the operator process used in the phase (user + system), in seconds. */
  cpuSeconds: number;
}

export interface Environment {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  /** 1-minute load average of the machine when the scenario started and ended. */
  loadAverage: { start: number; end: number };
  node: string;
  kubernetes: string;
  nodes: number;
  operatorUser: string;
  apiserverLimits: string;
}

/** The operator process's RSS in bytes (/proc/<pid>/status), at the points every scenario has. */
export interface OperatorMemory {
  pid: number;
  /** VmRSS once it had started: every informer synced (/readyz 200). */
  started: number;
  /** VmRSS before the scenario's objects were created (the driver's informers synced too). */
  baseline: number;
  /** The peak VmRSS sampled during convergence, and VmRSS right after it. */
  convergencePeak: number;
  afterConvergence: number;
  /** VmHWM at the end: the peak over the process's whole life, between samples too. */
  peak: number;
}

/** The settings every scenario ran with. */
export interface ScenarioConfig {
  quietSeconds: number;
  timeoutSeconds: number;
  operator: OperatorCode;
}

/** What `npm run bench` measured: each scenario that ran. */
export interface Results {
  benches?: BenchResult;
  sites?: SiteResult;
}

export interface BenchResult {
  startedAt: string;
  config: ScenarioConfig & {
    benches: number;
    sample: string;
    patch: string;
  };
  environment: Environment;
  convergence: PhaseResult & {
    firstReadySeconds: Distribution;
    settledSeconds: Distribution;
    totalSeconds: number;
    /** From the last bench settled to the controller idle: the end of the write window. */
    idleAfterSeconds: number;
  };
  quiet: PhaseResult & { seconds: number };
  wave: PhaseResult & { seconds: Distribution; totalSeconds: number; idleAfterSeconds: number };
  memory: OperatorMemory & { wavePeak: number; afterWave: number };
}

export interface SiteResult {
  startedAt: string;
  config: ScenarioConfig & {
    sites: number;
    /** The bench the sites run on, and its siteReconcileConcurrency. */
    bench: string;
    siteReconcileConcurrency: number;
    /** The sites' dbConfig, as applied. */
    database: string;
  };
  environment: Environment;
  /** From the bench's create request until it settled, before any site existed. */
  benchSettledSeconds: number;
  /**
   * The site controller's worker pool (controller_runtime_max_concurrent_reconciles) and the
   * most reconciles seen in flight at once (controller_runtime_active_workers, sampled).
   */
  siteWorkers: { max: number; peakActive: number };
  convergence: PhaseResult & {
    readySeconds: Distribution;
    /**
     * The parts of a site's time: create → its <site>-init Job seen (the operator), the Job seen
     * → Complete (kcm's Job controller, the scheduler, kwok), Complete → site Ready (the operator).
     */
    stages: { toJobSeconds: Distribution; jobSeconds: Distribution; afterJobSeconds: Distribution };
    /** From the first create request to the last site Ready. */
    totalSeconds: number;
    idleAfterSeconds: number;
  };
  quiet: PhaseResult & { seconds: number };
  memory: OperatorMemory & { afterQuiet: number };
}

/** Columns padded to their widest cell: the first left-aligned, the others right-aligned. */
function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows.map(
    (row) =>
      '  ' +
      row
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
  );
}

const s = (x: number): string => `${x.toFixed(1)} s`;
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const VERBS = ['create', 'update', 'patch', 'delete'] as const;
const BENCH_MEMORY_ROWS = [
  ['right after start (informers synced)', 'started'],
  ['before the benches', 'baseline'],
  ['peak during convergence (sampled)', 'convergencePeak'],
  ['after convergence', 'afterConvergence'],
  ['peak during the change wave (sampled)', 'wavePeak'],
  ['after the change wave', 'afterWave'],
  ['peak over the whole run (VmHWM)', 'peak'],
] as const satisfies readonly (readonly [string, Exclude<keyof BenchResult['memory'], 'pid'>])[];
const SITE_MEMORY_ROWS = [
  ['right after start (informers synced)', 'started'],
  ['before the sites (bench settled)', 'baseline'],
  ['peak during convergence (sampled)', 'convergencePeak'],
  ['after convergence', 'afterConvergence'],
  ['after the quiet period', 'afterQuiet'],
  ['peak over the whole run (VmHWM)', 'peak'],
] as const satisfies readonly (readonly [string, Exclude<keyof SiteResult['memory'], 'pid'>])[];

function writeRow(label: string, w: WriteCounts): string[] {
  const per = distribution(w.perUnit);
  return [
    label,
    String(w.total),
    `${String(per.p50)} / ${String(per.p95)} / ${String(per.max)}`,
    ...VERBS.map((v) => String(w.byVerb[v] ?? 0)),
    String(w.elsewhere),
    String(w.failed),
  ];
}

/** The writes table of a scenario whose unit (bench, site) is `unit`. */
function writesTable(
  unit: string,
  elsewhere: string,
  rows: readonly (readonly [string, WriteCounts])[],
): string[] {
  return table([
    ['', 'total', `per ${unit} p50 / p95 / max`, ...VERBS, elsewhere, 'failed'],
    ...rows.map(([label, w]) => writeRow(label, w)),
  ]);
}

/** The counters of each phase (requests by method, reconciles by controller), a column a key. */
function countersTable(
  phases: readonly (readonly [string, PhaseResult])[],
  counters: (p: PhaseResult) => Record<string, number>,
): string[] {
  const keys = [...new Set(phases.flatMap(([, p]) => Object.keys(counters(p))))].sort();
  return table([
    ['', ...keys],
    ...phases.map(([label, p]) => [label, ...keys.map((k) => String(counters(p)[k] ?? 0))]),
  ]);
}

/**
 * What the operator process did in each phase — requests by method, reconciles by controller and
 * their time, CPU time — and its memory.
 */
function operatorSection<M extends OperatorMemory>(
  phases: readonly (readonly [string, PhaseResult])[],
  memory: M,
  rows: readonly (readonly [string, keyof M])[],
): string[] {
  return [
    '',
    'requests of the operator (rest_client_requests_total, by method)',
    ...countersTable(phases, (p) => p.requests),
    '',
    'reconciles of the operator (controller_runtime_reconcile_total, by controller)',
    ...countersTable(phases, (p) => p.reconciles),
    '  their wall time in seconds, summed over the workers (controller_runtime_reconcile_time_seconds):',
    ...countersTable(phases, (p) => p.reconcileSeconds),
    `  CPU time of the operator process (/proc/<pid>/stat): ${phases.map(([label, p]) => `${label} ${s(p.cpuSeconds)}`).join(', ')}`,
    '',
    `memory of the operator process (pid ${String(memory.pid)}, /proc/<pid>/status)`,
    ...table([['', 'RSS'], ...rows.map(([label, key]) => [label, mib(Number(memory[key]))])]),
    '',
  ];
}

/** The writes of the unit that wrote most, in order, each with its time into the window. */
function busiest(unit: string, w: WriteCounts): string[] {
  const b = w.busiest;
  if (b === undefined) return [];
  return [
    `  the busiest ${unit}, ${b.unit}: ${String(b.writes.length)} writes`,
    ...b.writes.map((x) => writeLine(w, x, x.name)),
  ];
}

/** How the run was set up: machine, cluster, operator, apiserver. */
function environmentLines(e: Environment, operator: OperatorCode): string[] {
  return [
    `  machine: ${String(e.cpus)} CPUs (${e.cpuModel}), ${String(e.memoryGiB)} GiB, load average ${e.loadAverage.start.toFixed(2)} at the start, ${e.loadAverage.end.toFixed(2)} at the end; Node ${e.node}`,
    `  cluster: Kubernetes ${e.kubernetes}, kwok, ${String(e.nodes)} Nodes`,
    `  operator: \`frappe-operator run\` in its own process, ${operator === 'build' ? 'compiled as for the image (npm run build)' : 'from src/cli.ts (types stripped by Node)'}, leader election off, as ${e.operatorUser}`,
    `  apiserver: ${e.apiserverLimits}`,
  ];
}

function topResources(w: WriteCounts): string {
  return Object.entries(w.byResource)
    .sort((a, b) => b[1] - a[1])
    .map(([r, n]) => `${r} ${String(n)}`)
    .join(', ');
}

/** One write of window `w`: when into it, what, which object (`name`), the answer. */
const writeLine = (w: WriteCounts, x: Write, name: string): string =>
  `    +${s((x.at - w.from) / 1000)} ${x.verb} ${x.resource} ${name} → ${String(x.code)}`;

/** The quiet period's verdict: none, or what was written and when the last write came. */
function quietVerdict(w: WriteCounts): string[] {
  if (w.total === 0)
    return ['  quiet period: 0 writes — OK, the operator wrote nothing while nothing changed'];
  const last = w.lastAt === undefined ? 0 : (w.lastAt - w.from) / 1000;
  return [
    `  quiet period: ${String(w.total)} writes — NOT ZERO; the last at +${s(last)}, none in the ` +
      `${s((w.to - w.from) / 1000 - last)} after it. The first of them:`,
    ...w.sample.map((x) => writeLine(w, x, `${x.namespace}/${x.name}`)),
  ];
}

export function formatBenchReport(r: BenchResult): string {
  const e = r.environment;
  const c = r.convergence;
  const phases = [
    ['convergence', c],
    ['quiet', r.quiet],
    ['change wave', r.wave],
  ] as const;
  const quiet = r.quiet.writes;
  const lines = [
    `Frappe Operator benchmark: benches, ${r.startedAt}`,
    `  ${String(r.config.benches)} × ${r.config.sample} (the guide's prod-bench: HPA on gunicorn, KEDA on worker-short/long), one namespace each, restricted Pod Security`,
    ...environmentLines(e, r.config.operator),
    '',
    'time per bench',
    ...table([
      ['', 'p50', 'p95', 'max', 'all done'],
      [
        'convergence: create → first Ready=True',
        s(c.firstReadySeconds.p50),
        s(c.firstReadySeconds.p95),
        s(c.firstReadySeconds.max),
        '',
      ],
      [
        'convergence: create → settled',
        s(c.settledSeconds.p50),
        s(c.settledSeconds.p95),
        s(c.settledSeconds.max),
        s(c.totalSeconds),
      ],
      [
        `change wave: patch → gunicorn rolled out with the new resources, settled`,
        s(r.wave.seconds.p50),
        s(r.wave.seconds.p95),
        s(r.wave.seconds.max),
        s(r.wave.totalSeconds),
      ],
    ]),
    '  settled: Ready=True and phase Ready at the current generation, every component at its replicas, gunicorn at the HPA minReplicas',
    `  a phase's writes are counted until the controller is idle (no reconcile in flight or queued): ` +
      `+${s(c.idleAfterSeconds)} after the last bench settled, +${s(r.wave.idleAfterSeconds)} after the wave`,
    '',
    `API writes by the operator (audit log, user ${e.operatorUser})`,
    ...writesTable('bench', 'elsewhere', [
      [`convergence (${s(c.totalSeconds)})`, c.writes],
      [`quiet (${s(r.quiet.seconds)})`, quiet],
      [`change wave (${s(r.wave.totalSeconds)})`, r.wave.writes],
    ]),
    ...quietVerdict(quiet),
    `  by resource, convergence: ${topResources(c.writes)}`,
    `  by resource, change wave: ${topResources(r.wave.writes)}`,
    ...operatorSection(phases, r.memory, BENCH_MEMORY_ROWS),
  ];
  return lines.join('\n');
}

export function formatSiteReport(r: SiteResult): string {
  const { environment: e, convergence: c } = r;
  const quiet = r.quiet.writes;
  const lines = [
    `Frappe Operator benchmark: sites, ${r.startedAt}`,
    `  ${String(r.config.sites)} FrappeSites on one ${r.config.bench} (siteReconcileConcurrency ${String(r.config.siteReconcileConcurrency)}), one namespace, restricted Pod Security`,
    `  database: ${r.config.database}`,
    ...environmentLines(e, r.config.operator),
    `  site workers: ${String(r.siteWorkers.max)} (controller_runtime_max_concurrent_reconciles), at most ${String(r.siteWorkers.peakActive)} seen in flight at once (sampled)`,
    `  the bench settled ${s(r.benchSettledSeconds)} after its create, before the sites were created`,
    '',
    'time per site',
    ...table([
      ['', 'p50', 'p95', 'max', 'all done'],
      [
        'convergence: create → Ready=True',
        s(c.readySeconds.p50),
        s(c.readySeconds.p95),
        s(c.readySeconds.max),
        s(c.totalSeconds),
      ],
      ...(
        [
          ['  create → <site>-init Job created (operator)', c.stages.toJobSeconds],
          ['  Job created → Complete (kcm, scheduler, kwok)', c.stages.jobSeconds],
          ['  Job Complete → site Ready (operator)', c.stages.afterJobSeconds],
        ] as const
      ).map(([label, d]) => [label, s(d.p50), s(d.p95), s(d.max), '']),
    ]),
    "  Ready=True at the site's generation: bench Ready, Secrets, database, <site>-init Job done (kwok completes its pod), Ingress, migrated",
    `  all done: first create → last Ready; writes are counted until the controllers are idle, +${s(c.idleAfterSeconds)} after the last site Ready`,
    '',
    `API writes by the operator (audit log, user ${e.operatorUser})`,
    ...writesTable('site', 'bench & elsewhere', [
      [`convergence (${s(c.totalSeconds)})`, c.writes],
      [`quiet (${s(r.quiet.seconds)})`, quiet],
    ]),
    ...quietVerdict(quiet),
    `  by resource, convergence: ${topResources(c.writes)}`,
    ...busiest('site', c.writes),
    ...operatorSection(
      [
        ['convergence', c],
        ['quiet', r.quiet],
      ],
      r.memory,
      SITE_MEMORY_ROWS,
    ),
  ];
  return lines.join('\n');
}
