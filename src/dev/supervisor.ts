// Runs the control plane's long-lived processes and stops exactly those, by pid. Each child gets
// its own process group (so a terminal's Ctrl-C reaches only the runner, which then stops the
// children in order), its output in logs/<name>.log and its pid in pids/<name>.pid (read by the
// stale-run reaper after a SIGKILLed runner). An exit nobody asked for is recorded with the tail
// of the child's log, so readiness waits fail fast with the reason.
//
// A runner killed with SIGKILL runs no handler, so each child is started through util-linux's
// `setpriv --pdeathsig SIGKILL`, which sets the kernel's parent-death signal and execs the
// command (same pid): the kernel kills the child the moment its runner dies, and nothing of a
// playground or a test cluster outlives it. Without setpriv (not Linux) the children are
// started directly and the next run's reaper (./reaper.ts) ends what a killed runner left.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { lastLines } from './exec.ts';

const STOP_GRACE_MS = 10_000;

/** util-linux's setpriv, when this machine has it. */
const SETPRIV = (process.env['PATH'] ?? '')
  .split(':')
  .filter((dir) => dir.startsWith('/'))
  .map((dir) => join(dir, 'setpriv'))
  .find((path) => existsSync(path));

interface Child {
  name: string;
  proc: ChildProcess;
  pid: number;
  logPath: string;
  exited: Promise<void>;
  done: boolean;
  stopping: boolean;
}

export class Supervisor {
  readonly workDir: string;
  private readonly log: (line: string) => void;
  private readonly children: Child[] = [];
  private unexpected: Error | undefined;

  constructor(workDir: string, log: (line: string) => void) {
    this.workDir = workDir;
    this.log = log;
  }

  logPath(name: string): string {
    return join(this.workDir, 'logs', `${name}.log`);
  }

  /** Starts `bin args` as `name`; a previous child of that name must have been stopped. */
  async start(name: string, bin: string, args: string[], env?: NodeJS.ProcessEnv): Promise<void> {
    const logPath = this.logPath(name);
    const fd = openSync(logPath, 'a');
    let proc: ChildProcess;
    try {
      const [command, argv] =
        SETPRIV === undefined
          ? [bin, args]
          : [SETPRIV, ['--pdeathsig', 'SIGKILL', '--', bin, ...args]];
      proc = spawn(command, argv, {
        cwd: this.workDir,
        env: env ?? process.env,
        stdio: ['ignore', fd, fd],
        detached: true,
      });
    } finally {
      closeSync(fd);
    }
    const pid = proc.pid;
    if (pid === undefined) {
      const err = await new Promise<Error>((resolve) => proc.once('error', resolve));
      throw new Error(`cannot start ${name} (${bin}): ${err.message}`, { cause: err });
    }
    const child: Child = {
      name,
      proc,
      pid,
      logPath,
      done: false,
      stopping: false,
      exited: new Promise((resolve) => {
        proc.once('exit', (code, signal) => {
          child.done = true;
          if (!child.stopping) {
            const how = signal === null ? `exit code ${code ?? '?'}` : `signal ${signal}`;
            const err = new Error(
              `${name} (pid ${pid}) exited unexpectedly (${how}); last lines of ${logPath}:\n` +
                this.tail(name),
            );
            this.unexpected ??= err;
            this.log(err.message);
          }
          resolve();
        });
      }),
    };
    this.children.push(child);
    await writeFile(join(this.workDir, 'pids', `${name}.pid`), `${pid}\n`);
  }

  pid(name: string): number | undefined {
    return this.live(name)?.pid;
  }

  /** The first unexpected exit (a child died on its own), or the cluster being stopped. */
  failure(): Error | undefined {
    return this.unexpected;
  }

  /** The last `n` lines of a child's log. */
  tail(name: string, n = 40): string {
    const path = this.logPath(name);
    return existsSync(path) ? lastLines(readFileSync(path, 'utf8'), n) : '(no log)';
  }

  /** SIGTERM, up to 10 s, then SIGKILL; resolves once the process is gone. */
  async stop(name: string): Promise<void> {
    const child = this.live(name);
    if (child === undefined) return;
    child.stopping = true;
    signal(child.pid, 'SIGTERM');
    const inTime = await Promise.race([
      child.exited.then(() => true),
      sleep(STOP_GRACE_MS).then(() => false),
    ]);
    if (!inTime) {
      this.log(`${name} (pid ${child.pid}) ignored SIGTERM for 10 s: SIGKILL`);
      signal(child.pid, 'SIGKILL');
      await child.exited;
    }
    await rm(join(this.workDir, 'pids', `${name}.pid`), { force: true });
  }

  /** Stops every child, newest first. A start still waiting for readiness then fails at once. */
  async stopAll(): Promise<void> {
    this.unexpected ??= new Error('the test cluster was stopped while starting');
    for (const child of [...this.children].reverse()) await this.stop(child.name);
  }

  /** Last resort on process exit, where nothing async can run: SIGKILL every live child. */
  killAllSync(): void {
    for (const child of this.children) {
      if (!child.done) {
        child.stopping = true;
        signal(child.pid, 'SIGKILL');
      }
    }
  }

  private live(name: string): Child | undefined {
    return this.children.find((c) => c.name === name && !c.done);
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (e) {
    // ESRCH: it exited between our check and the signal, which is what we wanted.
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}
