// The image-layout test: the scripts of the bench-init Job and of the init container `assets`
// run for real — their commands, as the builders emit them, with the machine's shell and
// python3 — against directory trees shaped like the two layouts of the official frappe/erpnext
// images (frappe/frappe_docker images/production/Containerfile):
//   - since 2026-04 the build moves the built assets to /home/frappe/frappe-bench/assets and the
//     image has no sites/assets;
//   - before, they are in /home/frappe/frappe-bench/sites/assets.
// Both have apps/<app>/<app>/__init__.py with `__version__`, sites/ (common_site_config.json
// `{}`), and env/bin/python (here a link to the machine's python3). In both, `assets/<app>` is an
// absolute symlink to `apps/<app>/<app>/public` (Frappe's build.py links by absolute path), and
// `assets.json` is what `bench build` writes.
// Each script's paths are assignments at its top (`name=/path`, `NAME = '/path'`); the test
// prefixes them with a temporary root, and checks that no other absolute path is left, so
// nothing outside the tree is touched.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
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
import { benchInitRequest, initConfigMap } from '../../../../src/controllers/bench/init.ts';
import type { BenchPlan } from '../../../../src/controllers/bench/plan.ts';
import { DEPLOYMENT_COMPONENTS } from '../../../../src/controllers/bench/context.ts';
import type { Container } from '../../../../src/controllers/shared/k8s.ts';
import { context, initialized, planOf, prodBench, prodBenchManifest, stored } from './fixtures.ts';

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

/** The machine's python3, standing in for the image's env/bin/python. */
const PYTHON = execFileSync('sh', ['-c', 'command -v python3'], { encoding: 'utf8' }).trim();

/** The apps of the images (prod-bench requires erpnext and hrms) and their versions. */
const APP_VERSIONS = { frappe: '15.51.0', erpnext: '15.48.2', hrms: '15.39.1' } as const;

/**
 * The parts of an image both layouts share: apps (with `__version__` in `__init__.py` and a
 * built bundle in frappe's public dir), sites with common_site_config.json `{}` (the images'
 * build writes it) and apps.txt, env/bin with gunicorn and python.
 */
async function imageBase(root: string): Promise<void> {
  const bench = join(root, BENCH);
  for (const [app, version] of Object.entries(APP_VERSIONS)) {
    await write(join(bench, 'apps', app, app, '__init__.py'), `__version__ = "${version}"\n`);
  }
  await write(join(bench, 'apps/frappe/frappe/public/dist/js/desk.bundle.ABC123.js'), 'desk();\n');
  await write(join(bench, 'apps/erpnext/erpnext/public/dist/js/erpnext.bundle.DEF456.js'), '');
  await write(join(bench, 'sites/common_site_config.json'), '{}\n');
  await write(join(bench, 'sites/apps.txt'), 'frappe\nerpnext\n');
  await write(join(bench, 'env/bin/gunicorn'), '#!/bin/sh\n');
  await symlink(PYTHON, join(bench, 'env/bin/python'));
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

// ---- bench-init --------------------------------------------------------------------------

interface BenchInitRun {
  code: number | null;
  stderr: string;
  report: unknown;
}

/**
 * Run the bench-init Job's container of `plan` against the tree at `root`: its command (python,
 * `-c`, the script with its paths under `root`), its env with the mounted files' paths under
 * `root`, and the files those mounts hold (the ConfigMap's data, the Redis password).
 */
async function runBenchInit(
  root: string,
  plan: BenchPlan,
  files: { password?: string } = {},
): Promise<BenchInitRun> {
  const container = benchInitRequest(plan).job.spec.template.spec?.containers[0];
  assert.ok(container !== undefined);
  const [python = '', flag = '', script = ''] = container.command ?? [];
  assert.equal(python, `${BENCH}/env/bin/python`);
  assert.equal(flag, '-c');
  let assignments = 0;
  const rooted = script.replace(/^(\w+) = '\//gm, (_, name: string) => {
    assignments++;
    return `${name} = '${root}/`;
  });
  assert.equal(assignments, 2, 'the script assigns BENCH and TERMINATION_LOG');
  const others = rooted
    .split('\n')
    .filter((line) => !/^\w+ = '/.test(line))
    .filter((line) => /['"]\//.test(line));
  assert.deepEqual(others, [], 'absolute paths outside the assignments');

  // The mounts: the ConfigMap's data and the password Secret's file, at their paths under root.
  const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
  for (const e of container.env ?? []) env[e.name] = e.value ?? '';
  const config = initConfigMap(plan).data?.['common_site_config.json'];
  assert.ok(config !== undefined);
  env.BENCH_INIT_CONFIG_FILE = join(root, env.BENCH_INIT_CONFIG_FILE ?? '');
  await write(env.BENCH_INIT_CONFIG_FILE, config);
  if (env.BENCH_INIT_REDIS_PASSWORD_FILE !== undefined) {
    env.BENCH_INIT_REDIS_PASSWORD_FILE = join(root, env.BENCH_INIT_REDIS_PASSWORD_FILE);
    await write(env.BENCH_INIT_REDIS_PASSWORD_FILE, files.password ?? '');
  }
  await mkdir(join(root, 'dev'), { recursive: true });
  const res = spawnSync(join(root, python), [flag, rooted], {
    encoding: 'utf8',
    env,
    cwd: join(root, BENCH),
    timeout: 30_000,
  });
  if (res.error !== undefined) throw res.error;
  const log = await readFile(join(root, 'dev/termination-log'), 'utf8');
  return { code: res.status, stderr: res.stderr, report: JSON.parse(log) as unknown };
}

const readJson = async (path: string): Promise<unknown> =>
  JSON.parse(await readFile(path, 'utf8')) as unknown;

/** prod-bench of the guide (erpnext, hrms), bench-init's plan. */
const prodPlan = (): BenchPlan => planOf(prodBench(), context());

describe('the image layouts: bench-init, then the assets init container', () => {
  let tmp = '';
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'frappe-layout-'));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  const layouts = [
    { layout: 'since 2026-04', dir: 'assets', manifest: NEW_MANIFEST },
    { layout: 'before 2026-04', dir: 'sites/assets', manifest: OLD_MANIFEST },
  ];
  for (const { layout, dir, manifest } of layouts) {
    it(`images ${layout} (assets in ${dir}): apps.txt, the merged common_site_config.json, assets.json`, async () => {
      const root = join(tmp, dir.replace('/', '-'));
      await imageBase(root);
      await builtAssets(root, dir, manifest);
      const sites = join(root, BENCH, 'sites');
      // The sites volume already holds a config: keys bench-init does not manage are kept, the
      // ones it manages are replaced.
      await write(
        join(sites, 'common_site_config.json'),
        JSON.stringify({ db_host: 'mariadb.databases.svc', redis_cache: 'redis://old:6379' }),
      );

      const init = await runBenchInit(root, prodPlan());
      assert.equal(init.code, 0, init.stderr);
      // Every app directory of the image, frappe first — never a subset.
      assert.equal(await readFile(join(sites, 'apps.txt'), 'utf8'), 'frappe\nerpnext\nhrms\n');
      assert.deepEqual(await readJson(join(sites, 'common_site_config.json')), {
        db_host: 'mariadb.databases.svc',
        redis_cache: 'redis://prod-bench-redis-cache.production.svc:6379',
        redis_queue: 'redis://prod-bench-redis-queue.production.svc:6379',
        redis_socketio: 'redis://prod-bench-redis-queue.production.svc:6379',
        socketio_port: 9000,
        bench_id: 'production-prod-bench',
      });
      assert.deepEqual(init.report, {
        apps: Object.entries(APP_VERSIONS).map(([name, version]) => ({ name, version })),
      });

      const assets = await run(root);
      assert.equal(assets.code, 0, assets.stderr);
      assert.equal(await readFile(join(root, 'assets', 'assets.json'), 'utf8'), manifest);
    });
  }

  it('commonSiteConfig, typed, and a Redis password reach common_site_config.json', async () => {
    const root = join(tmp, 'config');
    await imageBase(root);
    const bench = stored({
      ...prodBenchManifest,
      spec: {
        ...prodBenchManifest.spec,
        commonSiteConfig: { maintenance_mode: '0', mail_server: 'smtp.example.com' },
        redisConfig: { auth: { enabled: true } },
      },
    });
    const init = await runBenchInit(root, planOf(bench, context()), { password: 'p@ss w/rd\n' });
    assert.equal(init.code, 0, init.stderr);
    const config = (await readJson(join(root, BENCH, 'sites/common_site_config.json'))) as Record<
      string,
      unknown
    >;
    assert.equal(config.maintenance_mode, 0);
    assert.equal(config.mail_server, 'smtp.example.com');
    assert.equal(
      config.redis_queue,
      'redis://:p%40ss%20w%2Frd@prod-bench-redis-queue.production.svc:6379',
    );
  });

  it('an app the bench lists is missing from the image: fails, naming it', async () => {
    const root = join(tmp, 'missing-app');
    await imageBase(root);
    await rm(join(root, BENCH, 'apps/hrms'), { recursive: true });
    const init = await runBenchInit(root, prodPlan());
    assert.equal(init.code, 1);
    assert.deepEqual(init.report, {
      error: 'AppsMissing',
      message:
        'the image has no app hrms (it has frappe, erpnext): build the apps into the image or ' +
        'remove them from spec.apps/appsJSON',
    });
  });

  it('a tree without built assets: bench-init succeeds, the assets init container fails, saying so', async () => {
    const root = join(tmp, 'no-assets');
    await imageBase(root);
    assert.equal((await runBenchInit(root, prodPlan())).code, 0);
    const assets = await run(root);
    assert.equal(assets.code, 1);
    assert.equal(
      assets.terminationMessage,
      `assets: the image has no built assets: neither ${root}${BENCH}/assets/assets.json ` +
        `(images since 2026-04) nor ${root}${BENCH}/sites/assets/assets.json (older images) ` +
        'exists. Use an image whose build ran bench build, such as frappe/erpnext.',
    );
  });
});

describe('bench-init reads what it merges from a mounted file', () => {
  it('commonSiteConfig reaches the Job as an immutable ConfigMap of its content, never as env', () => {
    const value = 'a-value-long-enough-to-find-'.repeat(10);
    const plan = (v: string) =>
      planOf(
        stored({
          ...prodBenchManifest,
          spec: { ...prodBenchManifest.spec, commonSiteConfig: { mail_password_hint: v } },
        }),
        context(),
      );
    const job = benchInitRequest(plan(value)).job;
    assert.ok(!JSON.stringify(job).includes(value), 'the value is not in the Job');
    const cm = initConfigMap(plan(value));
    assert.equal(cm.immutable, true);
    assert.match(cm.data?.['common_site_config.json'] ?? '', new RegExp(value));
    const pod = job.spec.template.spec;
    assert.deepEqual(
      pod?.volumes?.find((v) => v.name === 'init-config')?.configMap?.name,
      cm.metadata.name,
    );
    assert.deepEqual(
      pod?.containers[0]?.env?.map((e) => e.name),
      ['USER', 'HOME', 'BENCH_INIT_APPS', 'BENCH_INIT_CONFIG_FILE'],
    );
    // New content, new name: a pod never reads a ConfigMap its Job was not made for.
    const other = initConfigMap(plan(`${value}x`));
    assert.notEqual(other.metadata.name, cm.metadata.name);
    assert.match(cm.metadata.name ?? '', /^prod-bench-init-config-[0-9a-f]{8}$/);
  });
});
