// A real S3-compatible server on 127.0.0.1 for the backup tests (and anything local that needs a
// bucket): Versity Gateway (github.com/versity/versitygw, Apache 2.0), built from the Go module
// proxy and cached like the control plane (build.ts), serving a temporary directory.
//
// Why Versity Gateway: it is `go install`-able from the module proxy, licensed Apache 2.0 (MinIO
// is AGPL), small to build (one binary, a few minutes), and a full S3 protocol implementation —
// SigV4 authentication, multipart uploads, Content-MD5 checks, ListObjectsV2, DeleteObjects — so
// the agent meets real S3 behaviour, not an in-memory fake.
//
// How it runs: `versitygw --port 127.0.0.1:<free port> --quiet --iam-dir <dir>/iam posix
// --sidecar <dir>/meta <dir>/data`, with the root access key and secret generated per start and
// passed through the environment (ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY), never argv.
//   - `--iam-dir` turns on its internal IAM: only then does an unknown access key get S3's own
//     answer, InvalidAccessKeyId (single-account mode answers XAdminUserNotFound).
//   - `--sidecar` keeps object metadata in files rather than extended attributes, so it works on
//     any filesystem a temp dir may be on.
// The work dir is `<tmp>/frappe-operator-test/s3-XXXXXX/` with owner.pid and pids/versitygw.pid,
// so the control plane's stale-run reaper (reaper.ts) also removes a gateway whose test process
// was SIGKILLed. The process stays in its starter's process group: a signal to the test run
// reaches it too. It is stopped by pid (SIGTERM, then SIGKILL).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureS3GatewayBinary } from './build.ts';
import { WORK_ROOT } from './cluster.ts';
import { lastLines } from './exec.ts';
import { freePorts } from './ports.ts';
import { reapStaleWorkDirs } from './reaper.ts';

export interface S3Gateway {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  region: string;
  /** The root user's credentials (generated for this start). */
  accessKeyId: string;
  secretAccessKey: string;
  workDir: string;
  /** The directory the `posix` backend serves: `<dataDir>/<bucket>/<key>`. */
  dataDir: string;
  logPath: string;
  pid: number;
  /** Stops the server by pid and deletes its work dir; idempotent. */
  stop(): Promise<void>;
}

export interface S3GatewayOptions {
  log?: (line: string) => void;
}

const REGION = 'us-east-1';
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;
const ATTEMPTS = 3;

/** Builds (once) and starts the gateway; fails with its log when it cannot start. */
export async function startS3Gateway(opts: S3GatewayOptions = {}): Promise<S3Gateway> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`[s3-gateway] ${line}\n`));
  const bin = await ensureS3GatewayBinary({ log });
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(bin, log);
    } catch (e) {
      if (attempt < ATTEMPTS && e instanceof PortTakenError) {
        log(`${e.message}; retrying with another port`);
        continue;
      }
      throw e;
    }
  }
}

class PortTakenError extends Error {}

/** Random credentials of S3's shapes: a 20-character key id and a 40-character secret. */
function credentials(): { accessKeyId: string; secretAccessKey: string } {
  const alnum = (n: number) =>
    randomBytes(n * 2)
      .toString('base64')
      .replace(/[^A-Za-z0-9]/g, '')
      .slice(0, n);
  return {
    accessKeyId: `AKIA${alnum(16).toUpperCase()}`,
    secretAccessKey: alnum(40),
  };
}

async function startOnce(bin: string, log: (line: string) => void): Promise<S3Gateway> {
  await mkdir(WORK_ROOT, { recursive: true });
  const workDir = await mkdtemp(join(WORK_ROOT, 's3-'));
  await writeFile(join(workDir, 'owner.pid'), `${process.pid}\n`);
  await reapStaleWorkDirs(WORK_ROOT, workDir, log);
  const dataDir = join(workDir, 'data');
  for (const d of ['data', 'meta', 'iam', 'logs', 'pids']) {
    await mkdir(join(workDir, d), { recursive: true, mode: 0o700 });
  }
  const [port] = await freePorts(1);
  if (port === undefined) throw new Error('freePorts returned no port');
  const creds = credentials();
  const logPath = join(workDir, 'logs', 'versitygw.log');
  const args = [
    '--port',
    `127.0.0.1:${port}`,
    '--quiet',
    '--region',
    REGION,
    '--iam-dir',
    join(workDir, 'iam'),
    'posix',
    '--sidecar',
    join(workDir, 'meta'),
    dataDir,
  ];
  const fd = openSync(logPath, 'a');
  let proc: ChildProcess;
  try {
    proc = spawn(bin, args, {
      cwd: workDir,
      env: {
        ...process.env,
        ROOT_ACCESS_KEY_ID: creds.accessKeyId,
        ROOT_SECRET_ACCESS_KEY: creds.secretAccessKey,
      },
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  const pid = proc.pid;
  if (pid === undefined) {
    const err = await new Promise<Error>((resolve) => proc.once('error', resolve));
    await rm(workDir, { recursive: true, force: true });
    throw new Error(`cannot start versitygw (${bin}): ${err.message}`, { cause: err });
  }
  await writeFile(join(workDir, 'pids', 'versitygw.pid'), `${pid}\n`);
  let exited: string | undefined;
  const exit = new Promise<void>((resolve) => {
    proc.once('exit', (code, signal) => {
      exited = signal === null ? `exit code ${code ?? '?'}` : `signal ${signal}`;
      resolve();
    });
  });
  const killSync = () => {
    if (exited === undefined) signal(pid, 'SIGKILL');
    rmSync(workDir, { recursive: true, force: true });
  };
  process.on('exit', killSync);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (exited === undefined) {
        signal(pid, 'SIGTERM');
        const inTime = await Promise.race([
          exit.then(() => true),
          sleep(STOP_GRACE_MS).then(() => false),
        ]);
        if (!inTime) {
          signal(pid, 'SIGKILL');
          await exit;
        }
      }
      process.off('exit', killSync);
      await rm(workDir, { recursive: true, force: true });
    })();
    return stopping;
  };

  const endpoint = `http://127.0.0.1:${port}`;
  const tail = () => (existsSync(logPath) ? lastLines(readFileSync(logPath, 'utf8'), 40) : '');
  try {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (exited !== undefined) {
        const text = tail();
        const msg = `versitygw (pid ${pid}) exited while starting (${exited}); last lines of ${logPath}:\n${text}`;
        throw text.includes('address already in use') ? new PortTakenError(msg) : new Error(msg);
      }
      if (await answers(endpoint)) break;
      if (Date.now() > deadline) {
        throw new Error(
          `versitygw (pid ${pid}) did not answer on ${endpoint} within ${READY_TIMEOUT_MS / 1000} s; last lines of ${logPath}:\n${tail()}`,
        );
      }
      await sleep(100);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  log(`versitygw (pid ${pid}) serving ${dataDir} on ${endpoint}`);
  return { endpoint, region: REGION, ...creds, workDir, dataDir, logPath, pid, stop };
}

/** True once the server answers HTTP at all (an unsigned request gets 403: it is up). */
function answers(endpoint: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`${endpoint}/`, { method: 'GET', timeout: 2000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => {
      resolve(false);
    });
    req.end();
  });
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (e) {
    // ESRCH: it is gone already, which is what we wanted.
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}
