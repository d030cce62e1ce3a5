// Child-process plumbing of the local control plane: run a command to completion while streaming its
// output line by line (for build progress), and collect stdout/stderr for error messages.
import { spawn } from 'node:child_process';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
  /** Called with every complete output line (stdout and stderr), e.g. `go build -v` progress. */
  onLine?: (line: string) => void;
  /** Resolve with a non-zero code instead of rejecting. */
  allowFailure?: boolean;
}

/** Runs `cmd args` (no shell) and resolves when it exits; rejects with stderr on failure. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const lineSplitter = () => {
      let rest = '';
      return (chunk: Buffer) => {
        if (opts.onLine === undefined) return;
        rest += chunk.toString('utf8');
        const lines = rest.split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) opts.onLine(line);
      };
    };
    const onOut = lineSplitter();
    const onErr = lineSplitter();
    child.stdout.on('data', (c: Buffer) => {
      out.push(c);
      onOut(c);
    });
    child.stderr.on('data', (c: Buffer) => {
      err.push(c);
      onErr(c);
    });
    child.on('error', (e) => {
      reject(new Error(`cannot run ${cmd}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      const result: RunResult = {
        code: code ?? 128,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      };
      if (result.code === 0 || opts.allowFailure === true) {
        resolve(result);
        return;
      }
      const why = signal === null ? `exit code ${result.code}` : `signal ${signal}`;
      const tail = lastLines(result.stderr || result.stdout, 40);
      reject(new Error(`${cmd} ${args.join(' ')} failed (${why}):\n${tail}`));
    });
    child.stdin.on('error', () => {
      // The child may exit before reading its input (EPIPE); its exit status reports the failure.
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** The last `n` lines of a text, for error messages that quote a log. */
export function lastLines(text: string, n: number): string {
  const lines = text.trimEnd().split('\n');
  return lines.slice(-n).join('\n');
}
