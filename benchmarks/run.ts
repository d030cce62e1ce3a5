// `npm run bench [-- --scenario=all|benches|sites --benches=20 --sites=200 --quiet=60
// --timeout=600 --operator=build|source]`: the operator's benchmark (benchmarks/README.md says
// how to read it).
//
// Each scenario gets a private control plane of its own (src/dev/cluster.ts) and a fresh
// operator, `frappe-operator run` (src/cli.ts) as a child process (./operator.ts, compiled once
// for every scenario), leader election off, authenticated as the install bundle's
// ServiceAccount with its RBAC (config/rbac), so neither scenario's numbers carry the other's
// objects:
//
//   benches  N copies of the guide's prod-bench, one namespace each: convergence, quiet, the
//            vertical-scaling change wave (./benches.ts);
//   sites    M FrappeSites on one prod-bench (siteReconcileConcurrency 20): convergence, quiet
//            (./sites.ts).
//
// Per phase: per-object times (p50/p95/max) from watch events, the operator's writes from the
// apiserver's audit log (by its ServiceAccount, per bench or per site), its
// rest_client_requests_total by method and reconciles by controller, and the operator process's
// RSS: right after it started, sampled every 100 ms in each phase, and its peak. Prints a table
// per scenario, writes the numbers as JSON under os.tmpdir(), and stops everything it started —
// also on Ctrl-C.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startCluster, type Cluster } from '../src/dev/cluster.ts';
import { measureBenches, type BenchFlags } from './benches.ts';
import { prepareOperator } from './operator.ts';
import { formatBenchReport, formatSiteReport, type Results } from './report.ts';
import { say, type Running } from './scenario.ts';
import { measureSites, type SiteFlags } from './sites.ts';

const SCENARIOS = ['benches', 'sites'] as const;
type ScenarioName = (typeof SCENARIOS)[number];

interface Flags extends BenchFlags, SiteFlags {
  scenarios: ScenarioName[];
}

function parseFlags(argv: string[]): Flags {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      scenario: { type: 'string', default: 'all' },
      benches: { type: 'string', default: '20' },
      sites: { type: 'string', default: '200' },
      quiet: { type: 'string', default: '60' },
      timeout: { type: 'string', default: '600' },
      operator: { type: 'string', default: 'build' },
    },
  });
  const operator = values.operator;
  if (operator !== 'build' && operator !== 'source') {
    throw new Error(`--operator=${operator}: expected build or source`);
  }
  const scenario = values.scenario;
  const scenarios = SCENARIOS.filter((s) => scenario === 'all' || scenario === s);
  if (scenarios.length === 0) {
    throw new Error(`--scenario=${scenario}: expected all, ${SCENARIOS.join(' or ')}`);
  }
  const int = (flag: string, v: string, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
      throw new Error(`--${flag}=${v}: expected an integer ≥ ${min}`);
    return n;
  };
  return {
    scenarios,
    benches: int('benches', values.benches, 1),
    sites: int('sites', values.sites, 1),
    quietSeconds: int('quiet', values.quiet, 0),
    timeoutSeconds: int('timeout', values.timeout, 1),
    operator,
  };
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const running: Running = { informers: [] };
  const dir = join(os.tmpdir(), 'frappe-operator-bench');
  await mkdir(dir, { recursive: true });
  const buildDir = await mkdtemp(join(dir, 'operator-'));
  let cluster: Cluster | undefined;
  /** Stops the current scenario's informers, operator and control plane. */
  const stopScenario = async (): Promise<void> => {
    await Promise.all(running.informers.splice(0).map((i) => i.stop()));
    await running.operator?.stop();
    running.operator = undefined;
    await cluster?.stop();
    cluster = undefined;
  };
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await stopScenario();
      await rm(buildDir, { recursive: true, force: true });
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
    const startedAt = new Date().toISOString();
    say(`scenarios: ${flags.scenarios.join(', ')}; preparing the operator (${flags.operator})`);
    const cli = await prepareOperator(flags.operator, buildDir);
    const results: Results = {};
    const reports: string[] = [];
    for (const scenario of flags.scenarios) {
      say(`scenario ${scenario}: starting a control plane`);
      cluster = await startCluster({ log: say });
      const bed = { cluster, cli, running };
      if (scenario === 'benches') {
        results.benches = await measureBenches(bed, flags);
        reports.push(formatBenchReport(results.benches));
      } else {
        results.sites = await measureSites(bed, flags);
        reports.push(formatSiteReport(results.sites));
      }
      await stopScenario();
    }
    const path = join(dir, `result-${startedAt.replaceAll(':', '-')}.json`);
    await writeFile(path, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`${reports.join('\n')}\nresults (JSON): ${path}\n`);
  } finally {
    await stop();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    say(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(1);
  },
);
