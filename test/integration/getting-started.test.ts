// docs/getting-started.md, followed as a newcomer would (issue 12): the playground started as the
// page says (`npm start`, i.e. `frappe-operator dev`), the two `export` lines it prints pasted
// into a second shell, and every ```bash block of the page run there in order — through the
// site's readiness, the operator's children, `render`, and the first backup to Succeeded. Then
// the playground is killed with SIGKILL (no handler runs) and none of its processes — the
// control plane's, the operator's — may outlive it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/dev/exec.ts';
import { eventually } from '../harness/eventually.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PAGE = join(ROOT, 'docs/getting-started.md');
const READY_TIMEOUT_MS = 8 * 60_000;

/** The ```bash blocks of the page, in order (```sh blocks are shown, not run). */
function bashBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```bash\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? '');
}

/** Whether `pid` still runs (a zombie waiting for its reaper has already died). */
function running(pid: number): boolean {
  let status: string;
  try {
    status = readFileSync(`/proc/${String(pid)}/status`, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  return !/^State:\s+Z/m.test(status);
}

it('docs/getting-started.md: a Ready site and a completed backup on the playground; SIGKILL leaves no process', async (t) => {
  const blocks = bashBlocks(readFileSync(PAGE, 'utf8'));
  assert.ok(blocks.length >= 4, `the page has its bash blocks (${String(blocks.length)})`);

  const playground = spawn(process.execPath, [join(ROOT, 'src/cli.ts'), 'dev'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  playground.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  playground.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const alive = () => playground.exitCode === null && playground.signalCode === null;
  // Its work dir, left behind by the SIGKILL (the next start's reaper would remove it).
  const left: { workDir?: string } = {};
  t.after(async () => {
    if (alive()) playground.kill('SIGKILL');
    if (left.workDir !== undefined) await rm(left.workDir, { recursive: true, force: true });
  });

  await eventually(
    () => {
      if (!alive()) throw new Error(`the playground exited early:\n${stderr.slice(-3000)}`);
      assert.ok(stdout.includes('The playground is running'), stderr.slice(-1000));
    },
    { timeout: READY_TIMEOUT_MS, interval: 500, message: 'the playground running' },
  );
  const workDir = /and deletes (\S+)\.\n/.exec(stdout)?.[1];
  assert.ok(workDir !== undefined, stdout);
  left.workDir = workDir;
  // The second shell: the export lines as printed, then each block, as a user pastes them.
  const exports = stdout.split('\n').filter((l) => /^\s*export [A-Z]+=/.test(l));
  assert.equal(exports.length, 2, `two export lines:\n${stdout}`);
  for (const [i, block] of blocks.entries()) {
    const res = await run('bash', ['-euo', 'pipefail', '-c', `${exports.join('\n')}\n${block}`], {
      cwd: ROOT,
      allowFailure: true,
    });
    assert.equal(
      res.code,
      0,
      `block ${String(i + 1)} of the page failed:\n${block}\n--- stdout\n${res.stdout}\n--- stderr\n${res.stderr}`,
    );
    t.diagnostic(`block ${String(i + 1)}: ${res.stdout.trim().split('\n').slice(-3).join(' | ')}`);
  }

  // SIGKILL: no handler runs; the kernel's parent-death signal ends every child.
  const pidsDir = join(workDir, 'pids');
  const pids = readdirSync(pidsDir).map((f) => ({
    name: f.replace(/\.pid$/, ''),
    pid: Number(readFileSync(join(pidsDir, f), 'utf8')),
  }));
  assert.ok(
    pids.some((p) => p.name === 'frappe-operator') && pids.some((p) => p.name === 'kube-apiserver'),
    `the operator and the control plane ran: ${JSON.stringify(pids)}`,
  );
  playground.kill('SIGKILL');
  await eventually(
    () => {
      const left = pids.filter((p) => running(p.pid));
      assert.deepEqual(left, [], 'processes outliving the killed playground');
    },
    { timeout: 30_000, message: 'every process of the playground gone' },
  );
});
