// Cleans up after earlier runs that were SIGKILLed before they could stop their cluster. Each run
// keeps owner.pid (the runner) and pids/<name>.pid (its children) in its work dir. A dir whose
// owner is gone is stale: its children are killed, but a pid is only trusted when
// /proc/<pid>/exe is one of the control plane's binaries and /proc/<pid>/cmdline names that work dir,
// so a recycled pid is never killed. Never kill by name.
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const COMPONENT_BINARIES = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kwok',
  // The backup tests' S3 server (s3-gateway.ts), whose work dirs live beside the clusters'.
  'versitygw',
];

function exeName(pid: number): string | undefined {
  try {
    return basename(readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, ''));
  } catch (e) {
    // ENOENT: no such process; EACCES: not ours. Either way not a process we may touch.
    if (['ENOENT', 'EACCES', 'ESRCH'].includes((e as NodeJS.ErrnoException).code ?? '')) {
      return undefined;
    }
    throw e;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw e;
  }
}

async function readPid(path: string): Promise<number | undefined> {
  const n = Number((await readFile(path, 'utf8')).trim());
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** True while the run that created `dir` is alive (a node process with that pid). */
async function ownerAlive(dir: string): Promise<boolean> {
  const ownerFile = join(dir, 'owner.pid');
  // A run writes owner.pid right after creating its dir: a young dir without one is starting.
  if (!existsSync(ownerFile)) return Date.now() - (await stat(dir)).mtimeMs < 60_000;
  const pid = await readPid(ownerFile);
  return pid !== undefined && (exeName(pid)?.startsWith('node') ?? false);
}

/** Reaps stale work dirs under `root`, skipping `keep` (this run's own). */
export async function reapStaleWorkDirs(
  root: string,
  keep: string,
  log: (line: string) => void,
): Promise<void> {
  if (!existsSync(root)) return;
  for (const entry of await readdir(root)) {
    const dir = join(root, entry);
    if (dir === keep || (await ownerAlive(dir))) continue;
    const pidsDir = join(dir, 'pids');
    const killed: number[] = [];
    if (existsSync(pidsDir)) {
      for (const f of await readdir(pidsDir)) {
        const pid = await readPid(join(pidsDir, f));
        if (pid === undefined) continue;
        const exe = exeName(pid);
        if (exe === undefined || !COMPONENT_BINARIES.includes(exe)) continue;
        if (!cmdline(pid).includes(dir)) continue;
        process.kill(pid, 'SIGKILL');
        killed.push(pid);
      }
    }
    for (let i = 0; i < 50 && killed.some((p) => exeName(p) !== undefined); i++) await sleep(100);
    log(
      `reaped stale test cluster ${dir}` +
        (killed.length > 0 ? ` (killed ${killed.join(', ')})` : ''),
    );
    await rm(dir, { recursive: true, force: true });
  }
}
