// The benchmark's result (also written as JSON) and its human-readable table.
import type { WriteCounts } from './audit.ts';
import { distribution, type Distribution } from './measure.ts';
import type { OperatorCode } from './operator.ts';

export interface PhaseResult {
  writes: WriteCounts;
  /** rest_client_requests_total of the operator, by method. */
  requests: Record<string, number>;
}

export interface BenchResult {
  startedAt: string;
  config: {
    benches: number;
    quietSeconds: number;
    timeoutSeconds: number;
    operator: OperatorCode;
    sample: string;
    patch: string;
  };
  environment: {
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    /** 1-minute load average of the machine when the run started and ended. */
    loadAverage: { start: number; end: number };
    node: string;
    kubernetes: string;
    nodes: number;
    operatorUser: string;
    apiserverLimits: string;
  };
  convergence: PhaseResult & {
    firstReadySeconds: Distribution;
    settledSeconds: Distribution;
    totalSeconds: number;
    /** From the last bench settled to the controller idle: the end of the write window. */
    idleAfterSeconds: number;
  };
  quiet: PhaseResult & { seconds: number };
  wave: PhaseResult & { seconds: Distribution; totalSeconds: number; idleAfterSeconds: number };
  /** The operator process's RSS in bytes (/proc/<pid>/status). */
  memory: {
    pid: number;
    /** VmRSS once it had started: every informer synced (/readyz 200). */
    started: number;
    /** VmRSS before the benches were created (the driver's informers synced too). */
    baseline: number;
    convergencePeak: number;
    afterConvergence: number;
    wavePeak: number;
    afterWave: number;
    /** VmHWM at the end: the peak over the process's whole life, between samples too. */
    peak: number;
  };
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
const MEMORY_ROWS = [
  ['right after start (informers synced)', 'started'],
  ['before the benches', 'baseline'],
  ['peak during convergence (sampled)', 'convergencePeak'],
  ['after convergence', 'afterConvergence'],
  ['peak during the change wave (sampled)', 'wavePeak'],
  ['after the change wave', 'afterWave'],
  ['peak over the whole run (VmHWM)', 'peak'],
] as const satisfies readonly (readonly [string, Exclude<keyof BenchResult['memory'], 'pid'>])[];

function writeRow(label: string, w: WriteCounts): string[] {
  const per = distribution(w.perBench);
  return [
    label,
    String(w.total),
    `${String(per.p50)} / ${String(per.p95)} / ${String(per.max)}`,
    ...VERBS.map((v) => String(w.byVerb[v] ?? 0)),
    String(w.elsewhere),
    String(w.failed),
  ];
}

function topResources(w: WriteCounts): string {
  return Object.entries(w.byResource)
    .sort((a, b) => b[1] - a[1])
    .map(([r, n]) => `${r} ${String(n)}`)
    .join(', ');
}

/** The quiet period's verdict: none, or what was written and when the last write came. */
function quietVerdict(w: WriteCounts): string[] {
  if (w.total === 0)
    return ['  quiet period: 0 writes — OK, the operator wrote nothing while nothing changed'];
  const last = w.lastAt === undefined ? 0 : (w.lastAt - w.from) / 1000;
  return [
    `  quiet period: ${String(w.total)} writes — NOT ZERO; the last at +${s(last)}, none in the ` +
      `${s((w.to - w.from) / 1000 - last)} after it. The first of them:`,
    ...w.sample.map(
      (x) =>
        `    +${s((x.at - w.from) / 1000)} ${x.verb} ${x.resource} ${x.namespace}/${x.name} → ${String(x.code)}`,
    ),
  ];
}

export function formatReport(r: BenchResult): string {
  const e = r.environment;
  const c = r.convergence;
  const methods = [...new Set([c, r.quiet, r.wave].flatMap((p) => Object.keys(p.requests)))].sort();
  const requestRow = (label: string, p: PhaseResult) => [
    label,
    ...methods.map((m) => String(p.requests[m] ?? 0)),
  ];
  const quiet = r.quiet.writes;
  const lines = [
    `Frappe Operator benchmark, ${r.startedAt}`,
    `  ${String(r.config.benches)} × ${r.config.sample} (the guide's prod-bench: HPA on gunicorn, KEDA on worker-short/long), one namespace each, restricted Pod Security`,
    `  machine: ${String(e.cpus)} CPUs (${e.cpuModel}), ${String(e.memoryGiB)} GiB, load average ${e.loadAverage.start.toFixed(2)} at the start, ${e.loadAverage.end.toFixed(2)} at the end; Node ${e.node}`,
    `  cluster: Kubernetes ${e.kubernetes}, kwok, ${String(e.nodes)} Nodes`,
    `  operator: \`frappe-operator run\` in its own process, ${r.config.operator === 'build' ? 'compiled as for the image (npm run build)' : 'from src/cli.ts (types stripped by Node)'}, leader election off, as ${e.operatorUser}`,
    `  apiserver: ${e.apiserverLimits}`,
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
    ...table([
      ['', 'total', 'per bench p50 / p95 / max', ...VERBS, 'elsewhere', 'failed'],
      writeRow(`convergence (${s(c.totalSeconds)})`, c.writes),
      writeRow(`quiet (${s(r.quiet.seconds)})`, quiet),
      writeRow(`change wave (${s(r.wave.totalSeconds)})`, r.wave.writes),
    ]),
    ...quietVerdict(quiet),
    `  by resource, convergence: ${topResources(c.writes)}`,
    `  by resource, change wave: ${topResources(r.wave.writes)}`,
    '',
    'requests of the operator (rest_client_requests_total, by method)',
    ...table([
      ['', ...methods],
      requestRow('convergence', c),
      requestRow('quiet', r.quiet),
      requestRow('change wave', r.wave),
    ]),
    '',
    `memory of the operator process (pid ${String(r.memory.pid)}, /proc/<pid>/status)`,
    ...table([['', 'RSS'], ...MEMORY_ROWS.map(([label, key]) => [label, mib(r.memory[key])])]),
    '',
  ];
  return lines.join('\n');
}
