// The operator's container image, built and run for real with podman (as root, runc, the
// settings of containers.conf next to this file, passed as CONTAINERS_CONF). Nothing is pulled:
//
// 1. Base images. The Dockerfile names two (its ARG defaults): the official Node image for the
//    `deps` stage and Debian slim for the final one. Both are made here under those names:
//    `debootstrap --variant=minbase bookworm`, trimmed (apt lists and caches, docs but their
//    copyright files, man pages, locales), imported with `podman import` as the Debian image;
//    then a two-line build on it adds the Node binary of the npm `node` package that
//    package.json pins (node_modules/node; its ELF binary, checked by magic and `--version`) as
//    /usr/local/bin/node and the npm that Node release bundles (NPM_VERSION, fetched with
//    `npm pack`) as /usr/local/bin/npm: the Node image. Both carry the label BASE_KEY_LABEL =
//    the cache key, a hash of everything that went into them (the recipe below, the Node
//    binary's SHA-256, the npm version, the image names).
// 2. The cache: `podman save` of both images to
//    `${FRAPPE_K8S_CACHE:-~/.cache/frappe-operator}/images/node-<version>-bookworm-<key>.tar`.
//    Images already in podman's storage with the right key are used as they are; else the archive
//    is loaded; else they are built (under the cache's images/.lock) and saved.
// 3. `podman build --pull=never` of the Dockerfile (context: the checkout, filtered by
//    .dockerignore), host network for the deps stage's `npm ci --omit=dev` (the registry is the
//    only thing it reaches); a TLS-intercepting proxy's CA in NODE_EXTRA_CA_CERTS is handed to
//    npm as the build secret `npm-ca`. podman's layer cache makes a rebuild of unchanged inputs
//    take seconds. Tests run the image by its ID (from --iidfile), never by a tag another build
//    may have moved.
//
// Everything needs root (debootstrap, rootful podman); a missing tool is an error naming the
// packages to install (.ci/run installs them), never a skip.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { appendFile, copyFile, mkdir, mkdtemp, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheRoot, formatDuration } from '../../src/dev/build.ts';
import { run, lastLines, type RunResult } from '../../src/dev/exec.ts';
import { withLock } from '../../src/dev/lock.ts';
import { OPERATOR_IMAGE } from '../../src/deploy/names.ts';
import type { Container, PodSpec } from '../../src/controllers/shared/k8s.ts';
import { parseQuantity } from '../../src/controllers/shared/quantity.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOCKERFILE = join(ROOT, 'Dockerfile');
/** podman's configuration for these tests: runc, explicit ulimits (see the file). */
const CONTAINERS_CONF = fileURLToPath(new URL('containers.conf', import.meta.url));
/** The `node` npm package (a devDependency): the Node binary of the base image. */
const NODE_PACKAGE = join(ROOT, 'node_modules', 'node');

const DEBIAN_SUITE = 'bookworm';
const DEBIAN_MIRROR = process.env['FRAPPE_DEBIAN_MIRROR'] || 'http://deb.debian.org/debian';
/**
 * The npm of the Node image: the one the pinned Node release bundles (Node 24.21.0 ships npm
 * 11.19.0, per its changelog), as the official image has. Bump it with the `node` devDependency.
 */
const NPM_VERSION = '11.19.0';
/** On both base images: the cache key they were made with. */
export const BASE_KEY_LABEL = 'tech.vyogo.frappe-operator.test-base-key';

/** Trimming the debootstrapped tree, as Debian's slim images do (run with sh in its root). */
const TRIM = [
  'rm -rf var/cache/apt/archives/*.deb var/cache/apt/*.bin var/lib/apt/lists/*',
  'find usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete',
  'find usr/share/doc -mindepth 1 -depth -type d -empty -delete',
  'rm -rf usr/share/man/* usr/share/info/* usr/share/locale/* var/log/*.log var/log/apt/*',
  // Host files debootstrap copied in; the container runtime provides its own.
  ': > etc/resolv.conf',
  ': > etc/hostname',
];
/** Keeps what a derived image installs as small: dpkg skips the same paths. */
const DPKG_SLIM = [
  'path-exclude /usr/share/doc/*',
  'path-include /usr/share/doc/*/copyright',
  'path-exclude /usr/share/man/*',
  'path-exclude /usr/share/info/*',
  'path-exclude /usr/share/locale/*',
  '',
].join('\n');
const RUNTIME_CHANGES = [
  'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  'CMD ["bash"]',
];
const NODE_CONTAINERFILE = (runtimeImage: string, nodeVersion: string): string =>
  [
    `FROM ${runtimeImage}`,
    `ENV NODE_VERSION=${nodeVersion}`,
    'COPY node /usr/local/bin/node',
    'COPY npm /usr/local/lib/node_modules/npm',
    'RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm' +
      ' && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx' +
      ' && node --version && npm --version',
    'CMD ["node"]',
    '',
  ].join('\n');

type Log = (line: string) => void;

/** podman with this harness's configuration. */
export function podman(args: string[], opts: { allowFailure?: boolean } = {}): Promise<RunResult> {
  return run('podman', args, { env: podmanEnv(), ...opts });
}

function podmanEnv(): NodeJS.ProcessEnv {
  return { ...process.env, CONTAINERS_CONF };
}

/** Fails with what to install when podman, runc, debootstrap or root are missing. */
export async function requireImageTools(): Promise<void> {
  const missing: string[] = [];
  for (const [tool, args] of [
    ['podman', ['--version']],
    ['runc', ['--version']],
    ['debootstrap', ['--version']],
  ] as const) {
    try {
      await run(tool, [...args]);
    } catch (e) {
      missing.push(`${tool} (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`);
    }
  }
  const problems = missing.length > 0 ? [`missing: ${missing.join(', ')}`] : [];
  if (process.getuid?.() !== 0) problems.push('not root: debootstrap and rootful podman need root');
  if (problems.length > 0) {
    throw new Error(
      `the image tests build and run the operator's image with podman: ${problems.join('; ')}. ` +
        'Install with `apt-get install -y --no-install-recommends podman runc debootstrap` as root ' +
        '(.ci/run does).',
    );
  }
}

interface BaseImages {
  /** The Dockerfile's NODE_IMAGE and RUNTIME_IMAGE, as tagged here. */
  nodeImage: string;
  runtimeImage: string;
  nodeVersion: string;
  key: string;
  archive: string;
  /** How they came to be in podman's storage this time. */
  source: 'present' | 'loaded' | 'built';
  seconds: number;
}

/** The ARG defaults of the Dockerfile, e.g. NODE_IMAGE → docker.io/library/node:24…-slim. */
export async function dockerfileArgs(): Promise<Record<string, string>> {
  const text = await readFile(DOCKERFILE, 'utf8');
  const args: Record<string, string> = {};
  for (const m of text.matchAll(/^ARG\s+([A-Z_]+)=(\S+)\s*$/gm)) {
    const [, name, value] = m;
    if (name !== undefined && value !== undefined) args[name] = value;
  }
  return args;
}

/** The Node binary of node_modules/node: its real ELF file and version. */
async function nodeBinary(): Promise<{ path: string; version: string }> {
  const pkg = JSON.parse(await readFile(join(NODE_PACKAGE, 'package.json'), 'utf8')) as {
    version: string;
  };
  // node_modules/node/bin/node is the platform package's binary (node-<os>-<arch>/bin/node,
  // hard-linked by the package's install script); take the platform package's own file.
  const candidates = [
    join(NODE_PACKAGE, 'node_modules', `node-${process.platform}-${process.arch}`, 'bin', 'node'),
    join(NODE_PACKAGE, 'bin', 'node'),
  ];
  for (const path of candidates) {
    if (!existsSync(path)) continue;
    const fh = await open(path, 'r');
    const magic = Buffer.alloc(4);
    await fh.read(magic, 0, 4, 0);
    await fh.close();
    if (!magic.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) continue;
    const version = (await run(path, ['--version'])).stdout.trim();
    if (version !== `v${pkg.version}`) {
      throw new Error(`${path} says ${version}, node_modules/node is ${pkg.version}`);
    }
    return { path, version: pkg.version };
  }
  throw new Error(`no ELF Node binary in ${candidates.join(' or ')}: run npm ci`);
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The Dockerfile's base images in podman's storage: present, loaded from the cache, or built. */
async function ensureBaseImages(log: Log): Promise<BaseImages> {
  const started = Date.now();
  const args = await dockerfileArgs();
  const nodeImage = args['NODE_IMAGE'];
  const runtimeImage = args['RUNTIME_IMAGE'];
  if (nodeImage === undefined || runtimeImage === undefined) {
    throw new Error(`${DOCKERFILE} lacks ARG NODE_IMAGE=… or ARG RUNTIME_IMAGE=…`);
  }
  const node = await nodeBinary();
  if (!nodeImage.endsWith(`:${node.version}-${DEBIAN_SUITE}-slim`)) {
    throw new Error(
      `the Dockerfile's NODE_IMAGE ${nodeImage} is not Node ${node.version} on ${DEBIAN_SUITE} ` +
        '(package.json pins that Node): update one of them',
    );
  }
  const recipe = {
    debootstrap: { suite: DEBIAN_SUITE, variant: 'minbase' },
    trim: TRIM,
    dpkgSlim: DPKG_SLIM,
    runtimeChanges: RUNTIME_CHANGES,
    nodeContainerfile: NODE_CONTAINERFILE(runtimeImage, node.version),
    nodeSha256: await sha256File(node.path),
    npm: NPM_VERSION,
    images: [runtimeImage, nodeImage],
  };
  const key = createHash('sha256').update(JSON.stringify(recipe)).digest('hex').slice(0, 16);
  const dir = join(cacheRoot(), 'images');
  const archive = join(dir, `node-${node.version}-${DEBIAN_SUITE}-${key}.tar`);
  const result = (source: BaseImages['source']): BaseImages => ({
    nodeImage,
    runtimeImage,
    nodeVersion: node.version,
    key,
    archive,
    source,
    seconds: Math.round((Date.now() - started) / 1000),
  });
  const present = async (): Promise<boolean> =>
    (await imageKey(nodeImage)) === key && (await imageKey(runtimeImage)) === key;

  if (await present()) return result('present');
  await mkdir(dir, { recursive: true });
  return withLock(join(dir, '.lock'), log, async () => {
    if (await present()) return result('present');
    if (existsSync(archive)) {
      log(`base images: loading ${archive}`);
      await podman(['load', '-q', '-i', archive]);
      if (await present()) return result('loaded');
      log(`base images: ${archive} did not give images with key ${key}; rebuilding`);
    }
    await buildBaseImages({ nodeImage, runtimeImage, node, key, archive, log });
    if (!(await present())) throw new Error(`base images built without the key ${key}`);
    return result('built');
  });
}

/** The BASE_KEY_LABEL of a local image; undefined when there is no such image. */
async function imageKey(image: string): Promise<string | undefined> {
  const r = await podman(['image', 'inspect', image], { allowFailure: true });
  if (r.code !== 0) return undefined;
  const [info] = JSON.parse(r.stdout) as { Labels?: Record<string, string> | null }[];
  return info?.Labels?.[BASE_KEY_LABEL];
}

async function buildBaseImages(b: {
  nodeImage: string;
  runtimeImage: string;
  node: { path: string; version: string };
  key: string;
  archive: string;
  log: Log;
}): Promise<void> {
  const work = await mkdtemp(join(cacheRoot(), 'images', 'build-'));
  const logFile = join(work, 'build.log');
  const step = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    const t = Date.now();
    b.log(`base images: ${what}… (log: ${logFile})`);
    await fn();
    b.log(`base images: ${what}: ${formatDuration(Math.round((Date.now() - t) / 1000))}`);
  };
  const logged = async (cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<void> => {
    await appendFile(logFile, `$ ${cmd} ${args.join(' ')}\n`);
    const r = await run(cmd, args, { env: env ?? process.env, allowFailure: true });
    await appendFile(logFile, r.stdout + r.stderr);
    if (r.code !== 0) {
      throw new Error(
        `${cmd} ${args.join(' ')} failed (exit code ${r.code}); ${logFile}:\n` +
          lastLines(r.stdout + r.stderr, 30),
      );
    }
  };
  const rootfs = join(work, 'rootfs');
  const label = `${BASE_KEY_LABEL}=${b.key}`;
  try {
    await step(`debootstrap --variant=minbase ${DEBIAN_SUITE} (${DEBIAN_MIRROR})`, () =>
      logged('debootstrap', ['--variant=minbase', DEBIAN_SUITE, rootfs, DEBIAN_MIRROR]),
    );
    await step('trim and import as ' + b.runtimeImage, async () => {
      await logged('sh', ['-c', `cd '${rootfs}' && set -e && ${TRIM.join(' && ')}`]);
      await mkdir(join(rootfs, 'etc', 'dpkg', 'dpkg.cfg.d'), { recursive: true });
      await appendFile(join(rootfs, 'etc', 'dpkg', 'dpkg.cfg.d', 'slim'), DPKG_SLIM);
      const tar = join(work, 'rootfs.tar');
      await logged('tar', ['--numeric-owner', '-C', rootfs, '-cf', tar, '.']);
      const changes = [...RUNTIME_CHANGES, `LABEL ${label}`].flatMap((c) => ['--change', c]);
      await logged('podman', ['import', '-q', ...changes, tar, b.runtimeImage], podmanEnv());
      await rm(tar);
    });
    await step(`add Node ${b.node.version} and npm ${NPM_VERSION} as ${b.nodeImage}`, async () => {
      const ctx = join(work, 'node-image');
      await mkdir(ctx);
      await copyFile(b.node.path, join(ctx, 'node'));
      await logged('npm', ['pack', `npm@${NPM_VERSION}`, '--pack-destination', work, '--silent']);
      await mkdir(join(ctx, 'npm'));
      await logged('tar', [
        '-xzf',
        join(work, `npm-${NPM_VERSION}.tgz`),
        '-C',
        join(ctx, 'npm'),
        '--strip-components=1',
        '--no-same-owner',
      ]);
      const containerfile = join(work, 'Containerfile');
      await appendFile(containerfile, NODE_CONTAINERFILE(b.runtimeImage, b.node.version));
      await logged(
        'podman',
        [
          'build',
          '--pull=never',
          '--network=none',
          '--label',
          label,
          '-f',
          containerfile,
          '-t',
          b.nodeImage,
          ctx,
        ],
        podmanEnv(),
      );
    });
    await step(`save to ${b.archive}`, async () => {
      const tmp = `${b.archive}.tmp`;
      await rm(tmp, { force: true });
      await logged(
        'podman',
        ['save', '-q', '--multi-image-archive', '-o', tmp, b.runtimeImage, b.nodeImage],
        podmanEnv(),
      );
      await rename(tmp, b.archive);
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export interface OperatorImage {
  /** The image ID: what tests run (a tag may be moved by another build meanwhile). */
  id: string;
  tag: string;
  base: BaseImages;
  /** Wall time of `podman build`. */
  buildSeconds: number;
  /** `podman image inspect` of the built image. */
  info: ImageInfo;
}

/**
 * The base images, then `podman build --pull=never` of the Dockerfile tagged `tag` (the image
 * install.yaml names, by default).
 */
export async function buildOperatorImage(log: Log, tag = OPERATOR_IMAGE): Promise<OperatorImage> {
  const base = await ensureBaseImages(log);
  log(
    `base images ${base.source} (${formatDuration(base.seconds)}): ${base.nodeImage}, ` +
      `${base.runtimeImage}; key ${base.key}`,
  );
  await mkdir(join(cacheRoot(), 'images'), { recursive: true });
  const work = await mkdtemp(join(cacheRoot(), 'images', 'operator-'));
  const iidfile = join(work, 'iid');
  const ca = process.env['NODE_EXTRA_CA_CERTS'];
  const secret =
    ca !== undefined && ca !== '' && existsSync(ca) ? ['--secret', `id=npm-ca,src=${ca}`] : [];
  const previous = (
    await podman(['image', 'inspect', '--format', '{{.Id}}', tag], { allowFailure: true })
  ).stdout.trim();
  const started = Date.now();
  try {
    log(`podman build --pull=never -t ${tag} ${ROOT}`);
    const r = await podman(
      [
        'build',
        '--pull=never',
        '--network=host',
        ...secret,
        '--iidfile',
        iidfile,
        '-f',
        DOCKERFILE,
        '-t',
        tag,
        ROOT,
      ],
      { allowFailure: true },
    );
    if (r.code !== 0) {
      throw new Error(
        `podman build of ${DOCKERFILE} failed (exit code ${r.code}):\n` +
          lastLines(r.stdout + r.stderr, 40),
      );
    }
    const id = (await readFile(iidfile, 'utf8')).trim();
    const buildSeconds = Math.round((Date.now() - started) / 1000);
    if (previous !== '' && !id.endsWith(previous)) {
      // The image the tag held before (and its build's intermediate images), unless a container
      // still uses it: repeated test runs do not fill podman's storage.
      await podman(['rmi', previous], { allowFailure: true });
    }
    const info = await inspectImage(id);
    log(`built ${tag} (${id.slice(0, 19)}) in ${formatDuration(buildSeconds)}, ${mib(info.Size)}`);
    return { id, tag, base, buildSeconds, info };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export interface ImageInfo {
  Id: string;
  Size: number;
  Config: { User?: string; Entrypoint?: string[] | null; Cmd?: string[] | null; Env?: string[] };
  Labels?: Record<string, string> | null;
}

async function inspectImage(image: string): Promise<ImageInfo> {
  const [info] = JSON.parse((await podman(['image', 'inspect', image])).stdout) as ImageInfo[];
  if (info === undefined) throw new Error(`podman image inspect ${image}: nothing`);
  return info;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
}

/**
 * The `podman run` flags that run `container` of `pod` as a kubelet would, for what the
 * operator's pods use — and an error for any security setting this does not translate, so a
 * change of the bundle cannot pass unnoticed:
 * - runAsNonRoot: no --user; the kubelet's check that the image's USER is numeric and not 0;
 *   runAsUser/runAsGroup: --user;
 * - readOnlyRootFilesystem: --read-only, without podman's extra tmpfs on /tmp, /var/tmp and /run
 *   (a pod has none);
 * - capabilities: --cap-drop / --cap-add; allowPrivilegeEscalation false: no-new-privileges;
 * - seccompProfile RuntimeDefault: podman's default profile (nothing to pass);
 * - limits: --memory and --cpus.
 */
export function podmanSecurityFlags(
  pod: PodSpec,
  container: Container,
  image: ImageInfo,
): string[] {
  const flags: string[] = [];
  const podSc = pod.securityContext ?? {};
  const sc = container.securityContext ?? {};
  const known = new Set([
    'runAsNonRoot',
    'runAsUser',
    'runAsGroup',
    'seccompProfile',
    'readOnlyRootFilesystem',
    'capabilities',
    'allowPrivilegeEscalation',
  ]);
  for (const field of [...Object.keys(podSc), ...Object.keys(sc)]) {
    if (!known.has(field)) throw new Error(`securityContext.${field}: not translated to podman`);
  }
  const user = sc.runAsUser ?? podSc.runAsUser;
  const group = sc.runAsGroup ?? podSc.runAsGroup;
  if (user !== undefined)
    flags.push(`--user=${String(user)}${group === undefined ? '' : `:${String(group)}`}`);
  if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) === true) {
    const effective = user === undefined ? (image.Config.User ?? '').split(':')[0] : String(user);
    // The kubelet: "container has runAsNonRoot and image has non-numeric user … cannot verify".
    if (effective === undefined || !/^[0-9]+$/.test(effective) || Number(effective) === 0) {
      throw new Error(
        `runAsNonRoot: the image's user "${image.Config.User ?? ''}" is not a numeric non-root UID`,
      );
    }
  }
  const seccomp = sc.seccompProfile ?? podSc.seccompProfile;
  if (seccomp !== undefined && seccomp.type !== 'RuntimeDefault') {
    throw new Error(`seccompProfile ${seccomp.type}: not translated to podman`);
  }
  if (sc.readOnlyRootFilesystem === true) flags.push('--read-only', '--read-only-tmpfs=false');
  for (const cap of sc.capabilities?.drop ?? []) flags.push(`--cap-drop=${cap}`);
  for (const cap of sc.capabilities?.add ?? []) flags.push(`--cap-add=${cap}`);
  if (sc.allowPrivilegeEscalation === false) flags.push('--security-opt=no-new-privileges');
  const limits = container.resources?.limits ?? {};
  if (limits['memory'] !== undefined)
    flags.push(`--memory=${String(parseQuantity(limits['memory']))}`);
  if (limits['cpu'] !== undefined) flags.push(`--cpus=${String(parseQuantity(limits['cpu']))}`);
  return flags;
}

/**
 * `podman run --timeout`: conmon (not the test process) kills a container after this long, so a
 * test process killed before its `after` hooks (an interrupted run) leaves none running — an
 * operator container would go on calling the cluster. Well above what any test here waits for.
 */
const CONTAINER_TIMEOUT = '--timeout=900';

const started = new Set<string>();

/** `podman run -d`: the container's ID; removed by removeContainers(). */
export async function startContainer(args: string[]): Promise<string> {
  const r = await podman(['run', '-d', CONTAINER_TIMEOUT, ...args]);
  const id = r.stdout.trim();
  started.add(id);
  return id;
}

/** `podman run --rm` to completion (not rejecting on a non-zero exit code). */
export async function runContainer(args: string[]): Promise<RunResult> {
  return podman(['run', '--rm', CONTAINER_TIMEOUT, ...args], { allowFailure: true });
}

/** For `after` hooks: `podman rm -f` every container startContainer() started. */
export async function removeContainers(): Promise<void> {
  for (const id of started) {
    await podman(['rm', '-f', '-t', '0', id], { allowFailure: true });
    started.delete(id);
  }
}
