// The Dockerfile and what it relies on, without building it (test/integration/image builds and
// runs it with podman): its Node is the one package.json pins, its user is the numeric non-root
// UID that the bundle's `runAsNonRoot` (with no runAsUser) relies on, the launcher execs node on
// src/cli.ts, and .dockerignore lets only what the build copies reach it.
import assert from 'node:assert/strict';
import { access, constants, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { managerPodSpec } from '../../../src/deploy/manager.ts';
import { run } from '../../../src/dev/exec.ts';
import { dockerfileArgs } from '../../harness/image.ts';

const ROOT = new URL('../../../', import.meta.url);
const read = (file: string): Promise<string> => readFile(new URL(file, ROOT), 'utf8');

describe('Dockerfile', () => {
  it('builds on the Node release package.json pins, and Debian bookworm', async () => {
    const pkg = JSON.parse(await read('package.json')) as {
      devDependencies: Record<string, string>;
      engines: { node: string };
    };
    const node = pkg.devDependencies['node'];
    assert.match(node ?? '', /^24\.\d+\.\d+$/);
    assert.equal(pkg.engines.node, '>=24 <25');
    const args = await dockerfileArgs();
    assert.equal(args['NODE_IMAGE'], `docker.io/library/node:${node ?? ''}-bookworm-slim`);
    assert.equal(args['RUNTIME_IMAGE'], 'docker.io/library/debian:bookworm-slim');
  });

  it('runs frappe-operator as the numeric non-root user the bundle’s runAsNonRoot relies on', async () => {
    const text = await read('Dockerfile');
    const final = text.slice(text.lastIndexOf('\nFROM '));
    assert.match(final, /^USER 65532:65532$/m);
    assert.match(final, /^ENTRYPOINT \["frappe-operator"\]$/m);
    assert.doesNotMatch(final, /npm/, 'the final stage has no npm');
    const pod = managerPodSpec();
    assert.equal(pod.securityContext?.runAsNonRoot, true);
    assert.equal(pod.securityContext.runAsUser, undefined);
    assert.equal(pod.containers[0]?.securityContext?.runAsUser, undefined);
  });

  it('has a launcher that execs node on src/cli.ts (in a checkout, the pinned Node)', async () => {
    const launcher = fileURLToPath(new URL('bin/frappe-operator', ROOT));
    await access(launcher, constants.X_OK);
    assert.match(await readFile(launcher, 'utf8'), /^exec "\$node" "\$app\/src\/cli\.ts" "\$@"$/m);
    // Run from another directory, as a PATH entry would: the CLI answers.
    const res = await run(launcher, ['crds', '--help'], { cwd: tmpdir() });
    assert.match(res.stdout, /frappe-operator crds/);
  });

  it('.dockerignore lets in package.json, package-lock.json, src/ and the launcher only', async () => {
    const rules = (await read('.dockerignore'))
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#'));
    assert.deepEqual(rules, [
      '*',
      '!package.json',
      '!package-lock.json',
      '!src/',
      '!bin/frappe-operator',
    ]);
  });
});
