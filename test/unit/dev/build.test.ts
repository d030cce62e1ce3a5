// The progress of a component build (src/dev/build.ts ensureComponent): one line when it starts
// (what, and where its full log is), one when it ends (how long it took) — the build's own
// output (`go build -v` lists every package) goes to that log only; a cached component prints
// nothing; a failed build says where its log is and leaves no half-built directory.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ensureComponent, type Component } from '../../../src/dev/build.ts';

const TOOL: Component = { name: 'tool', version: 'v1.2.3', what: 'tool v1.2.3 (first build 1 s)' };

describe('component builds', () => {
  test('one line to start and one to end, the build output in the log', async (t) => {
    const root = await mkdtemp(join(tmpdir(), 'frappe-build-'));
    t.after(() => rm(root, { recursive: true, force: true }));
    const lines: string[] = [];
    const dir = await ensureComponent(
      root,
      TOOL,
      async (out, log) => {
        for (let i = 0; i < 1400; i++) log(`example.com/pkg${String(i)}`);
        await writeFile(join(out, 'tool'), '');
        return 'tool@v1.2.3';
      },
      (l) => lines.push(l),
    );
    const logPath = join(root, 'logs', 'tool-v1.2.3.log');
    assert.equal(dir, join(root, 'tool', 'v1.2.3'));
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.equal(lines[0], `building tool v1.2.3 (first build 1 s)… full log: ${logPath}`);
    assert.match(lines[1] ?? '', new RegExp(`^built tool v1\\.2\\.3 in \\d+s → ${dir}$`));
    assert.equal(
      readFileSync(logPath, 'utf8')
        .split('\n')
        .filter((l) => l !== '').length,
      1400,
    );
    assert.match(readFileSync(join(dir, 'BUILD-INFO'), 'utf8'), /^tool@v1\.2\.3\n/);

    const again: string[] = [];
    await ensureComponent(
      root,
      TOOL,
      () => Promise.reject(new Error('not built twice')),
      (l) => again.push(l),
    );
    assert.deepEqual(again, [], 'a cached component prints nothing');
  });

  test('a failed build names its log and leaves nothing half built', async (t) => {
    const root = await mkdtemp(join(tmpdir(), 'frappe-build-'));
    t.after(() => rm(root, { recursive: true, force: true }));
    const lines: string[] = [];
    await assert.rejects(
      ensureComponent(
        root,
        TOOL,
        (_out, log) => {
          log('compile error');
          return Promise.reject(new Error('go build failed'));
        },
        (l) => lines.push(l),
      ),
      /go build failed/,
    );
    const logPath = join(root, 'logs', 'tool-v1.2.3.log');
    assert.match(
      lines.at(-1) ?? '',
      new RegExp(`^building tool v1\\.2\\.3 failed after \\d+s: full log ${logPath}$`),
    );
    assert.equal(readFileSync(logPath, 'utf8'), 'compile error\n');
    assert.ok(!existsSync(join(root, 'tool', 'v1.2.3')));
  });
});
