// What a supervised child does when its runner is SIGKILLed (no handler runs): it dies with it,
// through the parent-death signal the supervisor has setpriv set (src/dev/supervisor.ts).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventually } from '../../harness/eventually.ts';

const RUNNER = fileURLToPath(new URL('../../fixtures/supervised-runner.ts', import.meta.url));

test('a supervised child does not outlive its SIGKILLed runner', async (t) => {
  const workDir = await mkdtemp(join(tmpdir(), 'frappe-supervisor-'));
  t.after(() => rm(workDir, { recursive: true, force: true }));
  const runner = spawn(process.execPath, [RUNNER, workDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => runner.kill('SIGKILL'));
  let out = '';
  runner.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const child = await eventually(
    () => {
      const pid = Number(out.trim());
      assert.ok(Number.isInteger(pid) && pid > 0, `the runner printed its child's pid: ${out}`);
      return pid;
    },
    { timeout: 30_000, message: 'the runner started its child' },
  );
  // The child runs `sleep` itself once setpriv has exec'd it (same pid); its pid file names it.
  await eventually(
    async () => {
      const cmdline = await readFile(`/proc/${String(child)}/cmdline`, 'utf8');
      assert.deepEqual(cmdline.split('\0'), ['sleep', '300', '']);
    },
    { timeout: 10_000, message: 'setpriv exec’d sleep' },
  );
  assert.equal(Number(await readFile(join(workDir, 'pids', 'sleeper.pid'), 'utf8')), child);

  runner.kill('SIGKILL');
  await eventually(
    () => {
      assert.ok(!existsSync(`/proc/${String(child)}`), `child ${String(child)} still runs`);
    },
    { timeout: 10_000, message: 'the child died with its runner' },
  );
});
