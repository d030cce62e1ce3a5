// The test runner behind `npm test`, `npm run test:unit` and `npm run test:integration`:
//
//   node test/run.ts unit | integration | all
//
// unit runs test/unit/**/*.test.ts with no cluster. integration and all first make sure the
// control plane binaries exist (building them with visible progress if needed), start ONE
// cluster, hand it to the tests through environment variables (test/harness/env.ts), run every
// file in one `node --test` process (so the output ends with one summary), then stop the cluster
// and exit with the test run's code. If the cluster cannot be built or started the tests still
// run, with the reason in the environment, so every integration test fails with it; the run then
// exits non-zero whatever the tests did. SIGINT/SIGTERM stop the tests, then the cluster.
// The other tools the tests run (TEST_TOOLS of src/dev/build.ts: the backup tests' S3 server,
// helm, the monitoring test's exporters) are built here too, before the tests start, so no test
// waits on a build; test files start their own instances. If one cannot be built, the reason goes
// to the tests the same way (test/harness/tools.ts) and the run fails.
import { spawn } from 'node:child_process';
import { glob } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ensureGoTool, TEST_TOOLS } from '../src/dev/build.ts';
import { startCluster, type Cluster } from '../src/dev/cluster.ts';
import { clusterEnv, ENV } from './harness/env.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MODES = {
  unit: ['test/unit/**/*.test.ts'],
  integration: ['test/integration/**/*.test.ts'],
  all: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'],
} as const;
/** Test files run in parallel; integration tests mostly wait on the apiserver. */
const CONCURRENCY = 4;

function say(line: string): void {
  process.stderr.write(`[test-run] ${line}\n`);
}

async function testFiles(patterns: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const p of patterns) for await (const f of glob(p, { cwd: ROOT })) files.push(f);
  return files.sort();
}

let interrupted: NodeJS.Signals | undefined;
let killTests: ((sig: NodeJS.Signals) => void) | undefined;

/** Read through a call: TypeScript cannot see the signal handler assign `interrupted`. */
function signalled(): NodeJS.Signals | undefined {
  return interrupted;
}

function onSignal(sig: NodeJS.Signals): void {
  // A second signal escalates: the test process gets SIGKILL.
  const escalate = interrupted !== undefined;
  interrupted = sig;
  say(`${sig}: stopping the tests and the test cluster…`);
  killTests?.(escalate ? 'SIGKILL' : 'SIGTERM');
}

async function main(mode: string | undefined): Promise<number> {
  if (mode !== 'unit' && mode !== 'integration' && mode !== 'all') {
    say(`usage: node test/run.ts unit|integration|all (got ${mode ?? 'nothing'})`);
    return 2;
  }
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const files = await testFiles(MODES[mode]);
  if (files.length === 0) {
    say(`no test files match ${MODES[mode].join(' ')}`);
    return 1;
  }

  const env: NodeJS.ProcessEnv = { ...process.env };
  let cluster: Cluster | undefined;
  let clusterError: string | undefined;
  const toolErrors: Record<string, string> = {};
  if (mode !== 'unit') {
    // Built first, so a live cluster never idles through a build; a failure fails the tests
    // that use the tool (test/harness/tools.ts), with its reason, and then the run.
    for (const tool of TEST_TOOLS) {
      try {
        await ensureGoTool(tool, {
          log: (l) =>
            process.stderr.write(`[${tool.name}] ${l}
`),
        });
      } catch (e) {
        toolErrors[tool.name] = e instanceof Error ? e.message : String(e);
        say(
          `${tool.name} (${tool.role}) could not be built; its tests will fail:\n${toolErrors[tool.name] ?? ''}`,
        );
      }
    }
    env[ENV.toolErrors] = JSON.stringify(toolErrors);
    try {
      cluster = await startCluster({ log: (l) => process.stderr.write(`[test-cluster] ${l}\n`) });
      Object.assign(env, clusterEnv(cluster));
    } catch (e) {
      clusterError = e instanceof Error ? e.message : String(e);
      env[ENV.error] = clusterError;
      say(`the test control plane could not start; integration tests will fail:\n${clusterError}`);
    }
  }
  try {
    if (signalled() !== undefined) return 130;
    const code = await runTests(files, env);
    const sig = signalled();
    if (sig !== undefined) return sig === 'SIGINT' ? 130 : 143;
    if (clusterError !== undefined) {
      say(`failed: the test control plane could not start: ${clusterError.split('\n')[0] ?? ''}`);
      return code === 0 ? 1 : code;
    }
    const failedTools = Object.keys(toolErrors);
    if (failedTools.length > 0) {
      say(`failed: could not build ${failedTools.join(', ')}`);
      return code === 0 ? 1 : code;
    }
    return code;
  } finally {
    await cluster?.stop();
  }
}

/**
 * Runs `node --test` in its own process group, so a signal reaches the test files' processes and
 * any kubectl they started, and none survives the run. Private clusters started by test files
 * have groups of their own and are stopped by their test process (cluster.ts signal handling).
 */
function runTests(files: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--test', `--test-concurrency=${CONCURRENCY}`, ...files],
      { cwd: ROOT, env, stdio: 'inherit', detached: true },
    );
    const group = child.pid;
    killTests = (sig) => {
      if (group !== undefined) signalGroup(group, sig);
    };
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      killTests = undefined;
      const result = code ?? (signal === null ? 1 : 128);
      if (group === undefined) {
        resolve(result);
        return;
      }
      void reapGroup(group).then(() => {
        resolve(result);
      }, reject);
    });
  });
}

/** Waits up to 15 s for what is left of the test process group (test files stopping private
 * clusters, say), then SIGKILLs the rest (a kubectl orphaned by an interrupted test). */
async function reapGroup(group: number): Promise<void> {
  for (let i = 0; i < 75 && signalGroup(group, 0); i++) await sleep(200);
  if (signalGroup(group, 'SIGKILL')) say(`killed processes left by the tests (group ${group})`);
}

/** Signals process group `group`; false when it has no process left. */
function signalGroup(group: number, sig: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-group, sig);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw e;
  }
}

main(process.argv[2]).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    say(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exitCode = 1;
  },
);
