// Runs `frappe-operator …` as a child process, as a container of the operator's image would:
// `node src/cli.ts …` with this run's (pinned) Node, a clean environment of the caller's choosing,
// and the termination message written to a file of its own — so argv, env and exit codes are
// real. runContainer() (run-container.ts) uses it for containers of the operator's Jobs; tests
// of the backup agent call runAgent() directly.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The operator's program, as the image's `frappe-operator` runs it. */
export const OPERATOR_CLI = join(ROOT, 'src', 'cli.ts');
export const OPERATOR_COMMAND = 'frappe-operator';
const DEFAULT_TIMEOUT_MS = 120_000;

export interface ProcessResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface OperatorProcessOptions {
  /** The whole environment of the process (nothing is inherited). */
  env: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
}

/** `frappe-operator args…` as a child process; resolves when it exits (killed on timeout). */
export function runOperatorProcess(
  args: readonly string[],
  opts: OperatorProcessOptions,
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [OPERATOR_CLI, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: opts.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timeout = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, timeout);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${OPERATOR_COMMAND} ${args.join(' ')}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString('utf8');
      if (signal !== null) {
        reject(
          new Error(
            `${OPERATOR_COMMAND} ${args.join(' ')} killed by ${signal}` +
              (signal === 'SIGKILL' ? ` (timeout ${timeout} ms?)` : '') +
              `; stderr:\n${stderr}`,
          ),
        );
        return;
      }
      resolve({ exitCode: code ?? 1, stdout: Buffer.concat(out).toString('utf8'), stderr });
    });
  });
}

/**
 * The environment a test gives the agent: PATH, plus what it adds — no AWS_* of ours. The SDK's
 * default credential chain would ask the EC2 metadata address, which is off limits here:
 * AWS_EC2_METADATA_DISABLED keeps it on this machine.
 */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  };
}

export interface AgentResult extends ProcessResult {
  /** The termination message file's content ('' if the agent wrote none). */
  terminationMessage: string;
  /** The termination message as JSON, when it is. */
  report: Record<string, unknown> | undefined;
}

/**
 * `frappe-operator backup-agent args…` with a clean environment (plus `env`), its termination
 * message written to a temporary file and read back.
 */
export async function runAgent(
  args: readonly string[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<AgentResult> {
  const dir = await mkdtemp(join(tmpdir(), 'frappe-agent-'));
  const terminationPath = join(dir, 'termination-log');
  try {
    const result = await runOperatorProcess(['backup-agent', ...args], {
      env: cleanEnv({ TERMINATION_MESSAGE_PATH: terminationPath, ...opts.env }),
      cwd: dir,
      ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
    });
    const terminationMessage = await readOptional(terminationPath);
    return { ...result, terminationMessage, report: parseReport(terminationMessage) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function readOptional(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw e;
  }
}

export function parseReport(text: string): Record<string, unknown> | undefined {
  if (text === '') return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch (e) {
    // Not JSON: the caller asserts on terminationMessage itself.
    if (e instanceof SyntaxError) return undefined;
    throw e;
  }
}
