// The Redis password on its way into redis.conf (issue 9 B7): the redis container's real start
// script runs with the machine's shell against a temporary tree (its paths prefixed, a stand-in
// redis-server that prints the config it was given), and the config line is read back the way
// Redis reads it (sdssplitargs: double quotes, backslash escapes). Passwords with quotes,
// backslashes, spaces and shell syntax come back intact as one argument; passwords Redis's
// config cannot hold (line breaks, NUL, empty) are refused before any pod sees them. A changed
// password changes the Redis pod templates, bench-init's inputs and the TriggerAuthentication.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { triggerAuthentication } from '../../../../src/controllers/bench/autoscaling.ts';
import type { RedisPasswordState } from '../../../../src/controllers/bench/context.ts';
import { initInputs } from '../../../../src/controllers/bench/init.ts';
import {
  PASSWORD_HASH_ANNOTATION,
  redisPasswordProblem,
  redisStatefulSet,
} from '../../../../src/controllers/bench/redis.ts';
import { context, planOf, prodBenchManifest, stored } from './fixtures.ts';

const authBench = stored({
  ...prodBenchManifest,
  spec: { ...prodBenchManifest.spec, redisConfig: { auth: { enabled: true } } },
});
const planWith = (redisPassword?: RedisPasswordState) =>
  planOf(authBench, { ...context(), ...(redisPassword === undefined ? {} : { redisPassword }) });

/** Redis's sdssplitargs for one line: the arguments, or undefined when unbalanced. */
function splitArgs(line: string): string[] | undefined {
  const args: string[] = [];
  let i = 0;
  for (;;) {
    while (i < line.length && /\s/.test(line[i] ?? '')) i++;
    if (i >= line.length) return args;
    let cur = '';
    let inq = false;
    let insq = false;
    for (;;) {
      const c = line[i];
      if (inq) {
        if (c === undefined) return undefined;
        if (
          c === '\\' &&
          line[i + 1] === 'x' &&
          /^[0-9a-fA-F]{2}$/.test(line.slice(i + 2, i + 4))
        ) {
          cur += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
          i += 3;
        } else if (c === '\\' && i + 1 < line.length) {
          const n = line[i + 1] ?? '';
          cur +=
            ({ n: '\n', r: '\r', t: '\t', b: '\b', a: '\x07' } as Record<string, string>)[n] ?? n;
          i++;
        } else if (c === '"') {
          if (i + 1 < line.length && !/\s/.test(line[i + 1] ?? '')) return undefined;
          i++;
          break;
        } else cur += c;
      } else if (insq) {
        if (c === undefined) return undefined;
        if (c === '\\' && line[i + 1] === "'") {
          cur += "'";
          i++;
        } else if (c === "'") {
          if (i + 1 < line.length && !/\s/.test(line[i + 1] ?? '')) return undefined;
          i++;
          break;
        } else cur += c;
      } else if (c === undefined || /\s/.test(c)) {
        break;
      } else if (c === '"') inq = true;
      else if (c === "'") insq = true;
      else cur += c;
      i++;
    }
    args.push(cur);
  }
}

describe('the Redis password in redis.conf', () => {
  let tmp = '';
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'frappe-redis-'));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  /** Run the redis container's script with `password` in its Secret file: the config written. */
  async function configFor(password: string, n: number): Promise<string> {
    const root = join(tmp, String(n));
    const sts = redisStatefulSet(planWith({ state: 'Ok', hash: 'h' }), 'queue');
    const redis = sts.spec.template.spec?.containers.find((c) => c.name === 'redis');
    const [shell = '', flag = '', script = ''] = redis?.command ?? [];
    assert.equal(`${shell} ${flag}`, 'sh -c');
    const rooted = script
      .replaceAll('/redis-conf', `${root}/redis-conf`)
      .replaceAll('/etc/redis-auth', `${root}/etc/redis-auth`)
      .replaceAll('--dir /data', `--dir ${root}/data`);
    await mkdir(join(root, 'redis-conf'), { recursive: true });
    await mkdir(join(root, 'etc/redis-auth'), { recursive: true });
    await mkdir(join(root, 'bin'), { recursive: true });
    await writeFile(join(root, 'etc/redis-auth/password'), password);
    // The stand-in redis-server prints the config file it is started with.
    await writeFile(join(root, 'bin/redis-server'), '#!/bin/sh\ncat "$1"\n');
    await chmod(join(root, 'bin/redis-server'), 0o755);
    const res = spawnSync(shell, [flag, rooted], {
      encoding: 'utf8',
      env: { PATH: `${join(root, 'bin')}:${process.env.PATH ?? ''}` },
    });
    assert.equal(res.status, 0, res.stderr);
    return res.stdout;
  }

  const passwords = [
    'simple',
    'with "double" quotes',
    'back\\slash and \\" both',
    "single 'quotes' and spaces",
    '$(touch /tmp/pwned) `id` ${HOME} %s %d',
    'trailing backslash\\',
    '\\x41 is not A',
    'tab\there and ünïcode',
  ];
  passwords.forEach((password, n) => {
    it(`${JSON.stringify(password)} reaches Redis intact`, async () => {
      const conf = await configFor(password, n);
      const lines = conf.split('\n').filter((l) => l !== '');
      assert.equal(lines.length, 1, conf);
      assert.deepEqual(splitArgs(lines[0] ?? ''), ['requirepass', password]);
    });
  });

  it('refuses what redis.conf cannot hold, never quoting the value', () => {
    for (const bad of ['', 'two\nlines', 'trailing-newline\n', 'carriage\rreturn', 'nul\0byte']) {
      const problem = redisPasswordProblem(Buffer.from(bad));
      assert.ok(problem !== undefined, JSON.stringify(bad));
      // A fixed description, never built from the value.
      assert.match(problem, /^(is empty|contains a line break .*|contains a NUL byte)$/);
    }
    for (const good of passwords) assert.equal(redisPasswordProblem(Buffer.from(good)), undefined);
  });
});

describe('a changed password rolls out together', () => {
  it('changes the Redis pod templates, bench-init inputs and the TriggerAuthentication', () => {
    const a = planWith({ state: 'Ok', hash: 'aaaaaaaaaaaaaaaa' });
    const b = planWith({ state: 'Ok', hash: 'bbbbbbbbbbbbbbbb' });
    for (const role of ['cache', 'queue'] as const) {
      assert.equal(
        redisStatefulSet(a, role).spec.template.metadata?.annotations?.[PASSWORD_HASH_ANNOTATION],
        'aaaaaaaaaaaaaaaa',
      );
      assert.equal(
        redisStatefulSet(b, role).spec.template.metadata?.annotations?.[PASSWORD_HASH_ANNOTATION],
        'bbbbbbbbbbbbbbbb',
      );
    }
    assert.notDeepEqual(initInputs(a), initInputs(b));
    assert.equal(
      triggerAuthentication(b)?.metadata.annotations?.[PASSWORD_HASH_ANNOTATION],
      'bbbbbbbbbbbbbbbb',
    );
  });
});
