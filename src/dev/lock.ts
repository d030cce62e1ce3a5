// A cross-process lock file (`<cache>/.lock`) so that two test runs on one machine don't build the
// same binaries at once. The file holds the owner's pid; a lock whose owner is gone is stale and
// taken over, so a killed build never blocks later runs.
import { open, readFile, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export async function withLock<T>(
  path: string,
  log: (line: string) => void,
  fn: () => Promise<T>,
): Promise<T> {
  let announced = false;
  for (;;) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = Number((await readOwner(path)).trim());
    if (!Number.isInteger(owner) || owner <= 0 || !isAlive(owner)) {
      // Stale: its owner died (or the file was half written). Remove and retry.
      await rm(path, { force: true });
      continue;
    }
    if (!announced) {
      log(`waiting for another build (pid ${owner}, lock ${path})…`);
      announced = true;
    }
    await sleep(2000);
  }
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}

/** The lock file's content, or '' if its owner removed it since our open() failed. */
async function readOwner(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw e;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
