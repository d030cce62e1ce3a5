// The init container `assets` run for real: its command, as the builder emits it, runs with the
// machine's shell against directory trees shaped like the two layouts of the official
// frappe/erpnext images (frappe/frappe_docker images/production/Containerfile):
//   - since 2026-04 the build moves the built assets to /home/frappe/frappe-bench/assets and the
//     image has no sites/assets;
//   - before, they are in /home/frappe/frappe-bench/sites/assets.
// In both, `assets/<app>` is an absolute symlink to `apps/<app>/<app>/public` (Frappe's
// build.py links by absolute path), and `assets.json` is what `bench build` writes.
// The script's paths are assignments at its top (`name=/path`); the test prefixes them with a
// temporary root, and checks that no other absolute path is left, so nothing outside the tree
// is touched.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  readlink,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { componentDeployment } from '../../../../src/controllers/bench/components.ts';
import { DEPLOYMENT_COMPONENTS } from '../../../../src/controllers/bench/context.ts';
import type { Container } from '../../../../src/controllers/shared/k8s.ts';
import { context, initialized, planOf, prodBench } from './fixtures.ts';

const BENCH = '/home/frappe/frappe-bench';

function assetsInit(component: (typeof DEPLOYMENT_COMPONENTS)[number] = 'nginx'): Container {
  const d = componentDeployment(planOf(prodBench(), context(initialized())), component);
  const init = d.spec.template.spec?.initContainers?.find((c) => c.name === 'assets');
  assert.ok(init !== undefined, `${component}: no init container assets`);
  return init;
}

/** The init container's command with its paths under `root`. */
function commandUnder(root: string): string[] {
  const command = assetsInit().command ?? [];
  assert.equal(command.length, 3, 'sh -c <script>');
  const [shell, flag, script = ''] = command;
  let assignments = 0;
  const rooted = script.replace(/^(\w+)=\//gm, (_, name: string) => {
    assignments++;
    return `${name}=${root}/`;
  });
  assert.equal(assignments, 4, 'the script assigns new, old, out and log');
  // Any other absolute path would escape the tree.
  const others = rooted
    .split('\n')
    .filter((line) => !/^\w+=/.test(line))
    .filter((line) => /(^|[\s"'>=])\//.test(line));
  assert.deepEqual(others, [], 'absolute paths outside the assignments');
  return [shell ?? '', flag ?? '', rooted];
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  terminationMessage: string | undefined;
}

async function run(root: string): Promise<Run> {
  await mkdir(join(root, 'assets'), { recursive: true }); // the emptyDir
  await mkdir(join(root, 'dev'), { recursive: true });
  const [shell = '', ...args] = commandUnder(root);
  const res = spawnSync(shell, args, { encoding: 'utf8', timeout: 30_000 });
  if (res.error !== undefined) throw res.error;
  const terminationMessage = await readFile(join(root, 'dev/termination-log'), 'utf8').catch(
    (e: unknown) => {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    },
  );
  return { code: res.status, stdout: res.stdout, stderr: res.stderr, terminationMessage };
}

async function write(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}

/**
 * The parts of an image both layouts share: apps (with a built bundle in frappe's public dir),
 * sites with common_site_config.json and apps.txt, env/bin.
 */
async function imageBase(root: string): Promise<void> {
  const bench = join(root, BENCH);
  await write(join(bench, 'apps/frappe/frappe/public/dist/js/desk.bundle.ABC123.js'), 'desk();\n');
  await write(join(bench, 'apps/erpnext/erpnext/public/dist/js/erpnext.bundle.DEF456.js'), '');
  await write(join(bench, 'sites/common_site_config.json'), '{}\n');
  await write(join(bench, 'sites/apps.txt'), 'frappe\nerpnext\n');
  await write(join(bench, 'env/bin/gunicorn'), '#!/bin/sh\n');
}

/** Built assets as `bench build` leaves them in `dir`: assets.json and per-app symlinks. */
async function builtAssets(root: string, dir: string, manifest: string): Promise<void> {
  const bench = join(root, BENCH);
  await write(join(bench, dir, 'assets.json'), manifest);
  await mkdir(join(bench, dir, 'css'), { recursive: true });
  for (const app of ['frappe', 'erpnext']) {
    await symlink(join(bench, 'apps', app, app, 'public'), join(bench, dir, app));
  }
}

const NEW_MANIFEST = '{"desk.bundle.js": "/assets/frappe/dist/js/desk.bundle.ABC123.js"}\n';
const OLD_MANIFEST = '{"desk.bundle.js": "/assets/frappe/dist/js/desk.bundle.OLD999.js"}\n';

describe('init container assets, run against both image layouts', () => {
  let tmp = '';
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'frappe-assets-'));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  /** The emptyDir holds the image's assets: assets.json and working app links. */
  async function assertCopied(root: string, manifest: string): Promise<void> {
    const out = join(root, 'assets');
    assert.equal(await readFile(join(out, 'assets.json'), 'utf8'), manifest);
    for (const app of ['frappe', 'erpnext']) {
      assert.ok((await lstat(join(out, app))).isSymbolicLink(), `${app} stays a symlink`);
      assert.equal(await readlink(join(out, app)), join(root, BENCH, 'apps', app, app, 'public'));
    }
    // The link resolves: nginx serves the bundle through it.
    assert.equal(
      await readFile(join(out, 'frappe/dist/js/desk.bundle.ABC123.js'), 'utf8'),
      'desk();\n',
    );
  }

  it('images since 2026-04: copies /home/frappe/frappe-bench/assets', async () => {
    const root = join(tmp, 'new');
    await imageBase(root);
    await builtAssets(root, 'assets', NEW_MANIFEST);
    const res = await run(root);
    assert.equal(res.code, 0, res.stderr);
    await assertCopied(root, NEW_MANIFEST);
    assert.match(res.stdout, new RegExp(`from ${root}${BENCH}/assets\\n`));
    assert.equal(res.terminationMessage, undefined);
  });

  it('older images: copies the image’s own sites/assets', async () => {
    const root = join(tmp, 'old');
    await imageBase(root);
    await builtAssets(root, 'sites/assets', OLD_MANIFEST);
    const res = await run(root);
    assert.equal(res.code, 0, res.stderr);
    await assertCopied(root, OLD_MANIFEST);
    assert.match(res.stdout, new RegExp(`from ${root}${BENCH}/sites/assets\\n`));
  });

  it('both present: the newer layout wins', async () => {
    const root = join(tmp, 'both');
    await imageBase(root);
    await builtAssets(root, 'assets', NEW_MANIFEST);
    await builtAssets(root, 'sites/assets', OLD_MANIFEST);
    const res = await run(root);
    assert.equal(res.code, 0, res.stderr);
    await assertCopied(root, NEW_MANIFEST);
  });

  it('no assets.json in either place: fails, naming both paths, on stderr and in the termination message', async () => {
    const root = join(tmp, 'none');
    await imageBase(root);
    // Directories without a build: an assets dir with css only, and an empty sites/assets.
    await mkdir(join(root, BENCH, 'assets/css'), { recursive: true });
    await mkdir(join(root, BENCH, 'sites/assets'), { recursive: true });
    const res = await run(root);
    assert.notEqual(res.code, 0);
    const expected =
      `assets: the image has no built assets: neither ${root}${BENCH}/assets/assets.json ` +
      `(images since 2026-04) nor ${root}${BENCH}/sites/assets/assets.json (older images) exists. ` +
      'Use an image whose build ran bench build, such as frappe/erpnext.';
    assert.equal(res.stderr, `${expected}\n`);
    assert.equal(res.terminationMessage, expected);
    assert.deepEqual(await readdir(join(root, 'assets')), [], 'nothing copied');
  });

  it('an empty image (no bench directory at all) fails the same way', async () => {
    const root = join(tmp, 'empty');
    const res = await run(root);
    assert.notEqual(res.code, 0);
    assert.match(res.terminationMessage ?? '', /the image has no built assets/);
  });
});

describe('init container assets in the pod', () => {
  for (const component of DEPLOYMENT_COMPONENTS) {
    it(`${component}: mounts only its emptyDir, never the sites volume over the image's sites`, () => {
      const d = componentDeployment(planOf(prodBench(), context(initialized())), component);
      const pod = d.spec.template.spec;
      assert.ok(pod !== undefined);
      const init = assetsInit(component);
      assert.deepEqual(init.volumeMounts, [{ name: 'assets', mountPath: '/assets' }]);
      assert.deepEqual(
        pod.volumes?.find((v) => v.name === 'assets'),
        { name: 'assets', emptyDir: {} },
      );
      // The serving container mounts that emptyDir at sites/assets, over the sites volume.
      const main = pod.containers[0];
      assert.deepEqual(
        main?.volumeMounts?.find((m) => m.name === 'assets'),
        { name: 'assets', mountPath: `${BENCH}/sites/assets` },
      );
      // Requests and limits of API.md §3.2 (50m/64Mi → 500m/256Mi).
      assert.deepEqual(init.resources, {
        requests: { cpu: '50m', memory: '64Mi' },
        limits: { cpu: '500m', memory: '256Mi' },
      });
    });
  }
});
