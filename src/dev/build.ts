// Builds (once per version) and locates the binaries of the test control plane: kube-apiserver,
// kube-controller-manager, kube-scheduler and kubectl from k8s.io/kubernetes, etcd, and kwok with
// its kustomize YAML. See docs TEST-CLUSTER.md §3 for why each technique is needed:
//
// - k8s.io/kubernetes cannot be `go install`ed (its go.mod redirects the staging modules with
//   local replaces), so a throw-away wrapper module requires it and replaces every staging module
//   with its published v0.x.y twin. The list is read from the tag's own go.mod, with its godebug
//   settings, so a version bump needs no edits here.
// - etcd's server module has local replaces too, but real requires: a wrapper needs no replaces.
// - kwok installs with plain `go install`; its stage YAML is copied from the module cache.
//
// Results live in the cache (FRAPPE_K8S_CACHE, else $XDG_CACHE_HOME/frappe-operator, else
// ~/.cache/frappe-operator) as <component>/<version>/ with BUILD-INFO written last; a directory
// without it is incomplete and rebuilt. A lock file keeps parallel runs from building at once.
// FRAPPE_K8S_ASSETS=/dir skips all of this and uses pre-built binaries from a flat directory.
//
// The backup tests' S3-compatible server, Versity Gateway (ensureS3GatewayBinary), is built and
// cached the same way (`go install`, cache dir versitygw/<version>/), but apart from the control
// plane: only what needs S3 asks for it. So is helm (ensureHelmBinary, cache dir helm/<version>/),
// for the chart's tests.
import { createWriteStream, existsSync } from 'node:fs';
import {
  access,
  chmod,
  cp,
  mkdir,
  mkdtemp,
  readdir,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { constants } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './exec.ts';
import { withLock } from './lock.ts';
import {
  ETCD_VERSION,
  HELM_VERSION,
  K8S_VERSION,
  KWOK_VERSION,
  REDIS_EXPORTER_VERSION,
  STATSD_EXPORTER_VERSION,
  VERSITYGW_VERSION,
} from './versions.ts';

export interface Binaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubectl: string;
  kwok: string;
  /** kwok's kustomize/ tree: stage/, crd/, metrics/. */
  kwokKustomize: string;
}

export interface BuildOptions {
  log?: (line: string) => void;
}

const KUBE_COMMANDS = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl'];

export function cacheRoot(): string {
  const explicit = process.env['FRAPPE_K8S_CACHE'];
  if (explicit !== undefined && explicit !== '') return explicit;
  const xdg = process.env['XDG_CACHE_HOME'];
  const base = xdg !== undefined && xdg !== '' ? xdg : join(homedir(), '.cache');
  return join(base, 'frappe-operator');
}

/** Where each binary lives; builds whatever the cache lacks unless FRAPPE_K8S_ASSETS is set. */
export async function ensureBinaries(opts: BuildOptions = {}): Promise<Binaries> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const assets = process.env['FRAPPE_K8S_ASSETS'];
  if (assets !== undefined && assets !== '') return assetBinaries(assets);

  const root = cacheRoot();
  const etcdDir = await ensureComponent(root, ETCD, buildEtcd, log);
  const kwokDir = await ensureComponent(root, KWOK, buildKwok, log);
  const k8sDir = await ensureComponent(root, KUBERNETES, buildKubernetes, log);
  return {
    etcd: join(etcdDir, 'etcd'),
    kubeApiserver: join(k8sDir, 'kube-apiserver'),
    kubeControllerManager: join(k8sDir, 'kube-controller-manager'),
    kubeScheduler: join(k8sDir, 'kube-scheduler'),
    kubectl: join(k8sDir, 'kubectl'),
    kwok: join(kwokDir, 'kwok'),
    kwokKustomize: join(kwokDir, 'kustomize'),
  };
}

/** FRAPPE_K8S_ASSETS: a flat directory of pre-built binaries; anything missing is fatal. */
async function assetBinaries(dir: string): Promise<Binaries> {
  const b: Binaries = {
    etcd: join(dir, 'etcd'),
    kubeApiserver: join(dir, 'kube-apiserver'),
    kubeControllerManager: join(dir, 'kube-controller-manager'),
    kubeScheduler: join(dir, 'kube-scheduler'),
    kubectl: join(dir, 'kubectl'),
    kwok: join(dir, 'kwok'),
    kwokKustomize: join(dir, 'kwok-kustomize'),
  };
  const missing: string[] = [];
  for (const [key, path] of Object.entries(b) as [keyof Binaries, string][]) {
    try {
      await access(path, key === 'kwokKustomize' ? constants.R_OK : constants.X_OK);
    } catch (e) {
      missing.push(`${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
  }
  if (missing.length > 0) {
    throw new Error(
      `FRAPPE_K8S_ASSETS=${dir} lacks required test control plane files:\n  ${missing.join('\n  ')}\n` +
        'Unset FRAPPE_K8S_ASSETS to build them into the cache, or add the missing files.',
    );
  }
  return b;
}

/**
 * A command `go install`ed from the module proxy into the cache (the test servers other than the
 * control plane: the S3 server, helm, exporters). `version` is the module version; `verify` runs
 * the built binary and expects `expect` in its output.
 */
export interface GoTool {
  /** The binary's name, also its cache directory and its name in FRAPPE_K8S_ASSETS. */
  name: string;
  /** The package to install, without the version (`github.com/x/y/cmd/y`). */
  pkg: string;
  version: string;
  /** -X settings for the version a binary prints (as upstream's Makefile sets them). */
  ldflags?: string[];
  verify: { args: string[]; expect: string };
  /**
   * Build in the downloaded module (`go mod download`, then `go build` there) instead of `go
   * install pkg@version`: for a module whose version list the proxy refuses (403), which `go
   * install` needs for its deprecation check while `go mod download` of one version does not.
   * Only for a main package at the module's root (`pkg` is the module).
   */
  fromModule?: boolean;
  /** What uses it, for error messages (`the S3 server of the backup tests`). */
  role: string;
  /** How long a first build takes on 2 cores, shown while it builds. */
  estimate: string;
}

/** Versity Gateway, the S3-compatible server of the backup tests (./s3-gateway.ts). */
export const VERSITY_GATEWAY: GoTool = {
  name: 'versitygw',
  pkg: 'github.com/versity/versitygw/cmd/versitygw',
  version: VERSITYGW_VERSION,
  // main.Version is what `versitygw --version` prints (upstream's Makefile sets it so).
  ldflags: [`-X main.Version=${VERSITYGW_VERSION}`],
  verify: { args: ['--version'], expect: `Version  : ${VERSITYGW_VERSION}` },
  role: 'the S3 server of the backup tests',
  estimate: '4–10 min, most of it downloads',
};

/**
 * The binary of `tool`, built into the cache on first use; from FRAPPE_K8S_ASSETS when that is
 * set (the tool missing there is fatal).
 */
export async function ensureGoTool(tool: GoTool, opts: BuildOptions = {}): Promise<string> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const assets = process.env['FRAPPE_K8S_ASSETS'];
  if (assets !== undefined && assets !== '') {
    const bin = join(assets, tool.name);
    try {
      await access(bin, constants.X_OK);
    } catch (e) {
      throw new Error(
        `FRAPPE_K8S_ASSETS=${assets} lacks ${tool.name}, ${tool.role} ` +
          `(${(e as NodeJS.ErrnoException).code ?? String(e)}): add it (go install ` +
          `${tool.pkg}@${tool.version}) or unset FRAPPE_K8S_ASSETS`,
        { cause: e },
      );
    }
    return bin;
  }
  const component: Component = {
    name: tool.name,
    version: tool.version,
    what: `${tool.name} ${tool.version} (${tool.role}; first build ${tool.estimate})`,
  };
  const dir = await ensureComponent(cacheRoot(), component, goInstall(tool), log);
  return join(dir, tool.name);
}

/** The Versity Gateway binary (see VERSITY_GATEWAY). */
export const ensureS3GatewayBinary = (opts: BuildOptions = {}): Promise<string> =>
  ensureGoTool(VERSITY_GATEWAY, opts);

/**
 * Helm, which the chart's tests run (`helm lint`, `helm template`). internal/version.version is
 * what `helm version` prints (upstream's Makefile sets it so, with gitTreeState; the module
 * proxy's zip carries no commit, so gitCommit stays empty and `--short` prints the bare version).
 */
export const HELM: GoTool = {
  name: 'helm',
  pkg: 'helm.sh/helm/v4/cmd/helm',
  version: HELM_VERSION,
  ldflags: [
    `-X helm.sh/helm/v4/internal/version.version=${HELM_VERSION}`,
    '-X helm.sh/helm/v4/internal/version.gitTreeState=clean',
  ],
  verify: { args: ['version', '--short'], expect: HELM_VERSION },
  role: 'the Helm chart tests',
  estimate: '5–15 min, most of it compiling',
};

/** statsd_exporter, the gunicorn sidecar's exporter, run by the monitoring tests. */
export const STATSD_EXPORTER: GoTool = {
  name: 'statsd_exporter',
  pkg: 'github.com/prometheus/statsd_exporter',
  version: STATSD_EXPORTER_VERSION,
  // prometheus/common's version package, as upstream's .promu.yml sets it.
  ldflags: [`-X github.com/prometheus/common/version.Version=${STATSD_EXPORTER_VERSION.slice(1)}`],
  verify: { args: ['--version'], expect: `version ${STATSD_EXPORTER_VERSION.slice(1)}` },
  role: 'the statsd exporter of the monitoring tests',
  estimate: '1–3 min',
};

/** redis_exporter, the Redis sidecar's exporter, run by the monitoring tests. */
export const REDIS_EXPORTER: GoTool = {
  name: 'redis_exporter',
  pkg: 'github.com/oliver006/redis_exporter',
  version: REDIS_EXPORTER_VERSION,
  // main.BuildVersion is what `redis_exporter -version` prints (upstream's Makefile sets it).
  ldflags: [`-X main.BuildVersion=${REDIS_EXPORTER_VERSION}`],
  // It prints its version through its logger (stdout unless -log-format says otherwise).
  verify: { args: ['-version'], expect: `Redis Metrics Exporter ${REDIS_EXPORTER_VERSION}` },
  // The proxy serves v1.62.0 but answers 403 to the version list `go install` reads.
  fromModule: true,
  role: 'the Redis exporter of the monitoring tests',
  estimate: '1–3 min',
};

/** The servers and commands the tests run besides the control plane, built before a test run. */
export const TEST_TOOLS: readonly GoTool[] = [
  VERSITY_GATEWAY,
  HELM,
  STATSD_EXPORTER,
  REDIS_EXPORTER,
];

/** Fills `out` and returns the BUILD-INFO text; `log` goes to the component's build log. */
export type Builder = (out: string, log: (line: string) => void) => Promise<string>;

/** One cached build: `<cache>/<name>/<version>/`; `what` is its progress line. */
export interface Component {
  name: string;
  version: string;
  what: string;
}

const ETCD: Component = {
  name: 'etcd',
  version: ETCD_VERSION,
  what: `etcd, etcdctl ${ETCD_VERSION} (first build 2–4 min)`,
};
const KWOK: Component = {
  name: 'kwok',
  version: KWOK_VERSION,
  what: `kwok ${KWOK_VERSION} (first build 2–4 min)`,
};
const KUBERNETES: Component = {
  name: 'k8s',
  version: K8S_VERSION,
  what:
    `${KUBE_COMMANDS.join(', ')} ${K8S_VERSION} (first build 20–40 min on 2 cores and ` +
    '~1 GB of modules; later builds reuse Go’s caches)',
};

/**
 * The cache directory of one component, building it first if it has no BUILD-INFO. The builder
 * fills `<dir>.tmp` and returns the BUILD-INFO text; the rename makes the result appear whole.
 * Progress is one line when a build starts (what, and where its full log is) and one when it
 * ends (how long it took); the build's own output — `go build -v` lists every package — goes
 * only to that log, `<cache>/logs/<name>-<version>.log`, kept after the build.
 */
export async function ensureComponent(
  root: string,
  c: Component,
  builder: Builder,
  log: (line: string) => void,
): Promise<string> {
  const dir = join(root, c.name, c.version);
  if (existsSync(join(dir, 'BUILD-INFO'))) return dir;
  await mkdir(join(root, 'logs'), { recursive: true });
  return withLock(join(root, '.lock'), log, async () => {
    if (existsSync(join(dir, 'BUILD-INFO'))) return dir; // another run built it while we waited
    const tmp = `${dir}.tmp`;
    await removeTree(dir);
    await removeTree(tmp);
    await mkdir(tmp, { recursive: true });
    const logPath = join(root, 'logs', `${c.name}-${c.version}.log`);
    const buildLog = createWriteStream(logPath);
    const started = Date.now();
    const elapsed = () => formatDuration(Math.round((Date.now() - started) / 1000));
    log(`building ${c.what}… full log: ${logPath}`);
    try {
      const info = await builder(tmp, (line) => buildLog.write(`${line}\n`));
      const goVersion = (await run(goBin(), ['version'], { env: goEnv() })).stdout.trim();
      await writeFile(
        join(tmp, 'BUILD-INFO'),
        `${info}\n${goVersion}\nbuilt ${new Date().toISOString()} in ${elapsed()}\n`,
      );
      await rename(tmp, dir);
    } catch (e) {
      log(`building ${c.name} ${c.version} failed after ${elapsed()}: full log ${logPath}`);
      throw e;
    } finally {
      await new Promise((resolve) => buildLog.end(resolve));
    }
    log(`built ${c.name} ${c.version} in ${elapsed()} → ${dir}`);
    return dir;
  });
}

/** Deletes a tree even if it holds read-only directories (copied from the Go module cache). */
async function removeTree(path: string): Promise<void> {
  if (!existsSync(path)) return;
  await makeWritable(path);
  await rm(path, { recursive: true, force: true });
}

async function makeWritable(path: string): Promise<void> {
  const st = await stat(path);
  await chmod(path, st.mode | 0o200);
  if (!st.isDirectory()) return;
  for (const entry of await readdir(path)) await makeWritable(join(path, entry));
}

function goBin(): string {
  const fromRoot = process.env['GOROOT'];
  if (fromRoot !== undefined && fromRoot !== '') return join(fromRoot, 'bin', 'go');
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    if (dir !== '' && existsSync(join(dir, 'go'))) return join(dir, 'go');
  }
  if (existsSync('/usr/local/go/bin/go')) return '/usr/local/go/bin/go';
  throw new Error(
    'Go ≥ 1.26 is needed to build the test control plane, but `go` is not on PATH ' +
      '(or set FRAPPE_K8S_ASSETS to a directory of pre-built binaries)',
  );
}

/** Never download a toolchain behind the user's back; static binaries. */
function goEnv(): NodeJS.ProcessEnv {
  return { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0' };
}

function go(args: string[], cwd: string, log?: (line: string) => void, env?: NodeJS.ProcessEnv) {
  return run(goBin(), args, {
    cwd,
    env: { ...goEnv(), ...env },
    ...(log === undefined ? {} : { onLine: log }),
  });
}

interface GoModJson {
  Go?: string;
  Replace?: { Old: { Path: string }; New: { Path: string } }[] | null;
  Godebug?: { Key: string; Value: string }[] | null;
  GoDebug?: { Key: string; Value: string }[] | null;
}

interface ModDownloadJson {
  Dir?: string;
  GoMod?: string;
  Origin?: { Hash?: string };
  Error?: string;
}

async function modDownload(mod: string, cwd: string): Promise<ModDownloadJson> {
  const res = await go(['mod', 'download', '-json', mod], cwd);
  const info = JSON.parse(res.stdout) as ModDownloadJson;
  if (info.Error !== undefined) throw new Error(`go mod download ${mod}: ${info.Error}`);
  return info;
}

async function readGoMod(path: string, cwd: string): Promise<GoModJson> {
  return JSON.parse((await go(['mod', 'edit', '-json', path], cwd)).stdout) as GoModJson;
}

/** A fresh wrapper module in a temporary directory; removed by the caller. */
async function wrapperModule(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `frappe-${name}-`));
  await go(['mod', 'init', `frappe.local/${name}`], dir);
  return dir;
}

async function verifyVersion(binary: string, args: string[], expected: string): Promise<void> {
  const res = await run(binary, args);
  if (!res.stdout.includes(expected)) {
    throw new Error(
      `${binary} ${args.join(' ')} printed ${JSON.stringify(res.stdout.trim())}, expected ${expected}`,
    );
  }
}

const buildKubernetes: Builder = async (out, log) => {
  const v = K8S_VERSION;
  const staging = `v0.${v.slice('v1.'.length)}`;
  const w = await wrapperModule('kubebuild');
  try {
    log(`k8s.io/kubernetes ${v}: resolving the module and its staging modules…`);
    const kk = await modDownload(`k8s.io/kubernetes@${v}`, w);
    if (kk.GoMod === undefined) throw new Error(`go mod download k8s.io/kubernetes@${v}: no GoMod`);
    const kkMod = await readGoMod(kk.GoMod, w);
    const replaces = (kkMod.Replace ?? [])
      .filter((r) => r.New.Path.startsWith('./staging/'))
      .map((r) => r.Old.Path);
    if (replaces.length === 0)
      throw new Error(`k8s.io/kubernetes@${v} go.mod has no staging replaces`);
    const godebug = kkMod.Godebug ?? kkMod.GoDebug ?? [];
    const edits = [
      `-require=k8s.io/kubernetes@${v}`,
      ...replaces.map((m) => `-replace=${m}=${m}@${staging}`),
      ...godebug.map((g) => `-godebug=${g.Key}=${g.Value}`),
      ...(kkMod.Go === undefined ? [] : [`-go=${kkMod.Go}`]),
    ];
    await go(['mod', 'edit', ...edits], w);
    log(
      `k8s.io/kubernetes ${v}: ${replaces.length} staging modules replaced with ${staging}` +
        (godebug.length > 0
          ? `, godebug ${godebug.map((g) => `${g.Key}=${g.Value}`).join(',')}`
          : ''),
    );

    const [, minor = ''] = v.split('.');
    const vars: Record<string, string> = {
      gitVersion: v,
      gitMajor: '1',
      gitMinor: minor,
      gitTreeState: 'clean',
      buildDate: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      ...(kk.Origin?.Hash === undefined ? {} : { gitCommit: kk.Origin.Hash }),
    };
    const ldflags = ['-s', '-w'];
    for (const [k, val] of Object.entries(vars)) {
      ldflags.push(`-X k8s.io/component-base/version.${k}=${val}`);
      ldflags.push(`-X k8s.io/client-go/pkg/version.${k}=${val}`);
    }
    await go(
      [
        'build',
        '-mod=mod',
        '-v',
        '-trimpath',
        '-tags=selinux,notest,grpcnotrace',
        `-ldflags=${ldflags.join(' ')}`,
        '-o',
        `${out}/`,
        ...KUBE_COMMANDS.map((c) => `k8s.io/kubernetes/cmd/${c}`),
      ],
      w,
      log,
    );
    await verifyVersion(join(out, 'kube-apiserver'), ['--version'], `Kubernetes ${v}`);
    await verifyVersion(join(out, 'kubectl'), ['version', '--client'], v);
    // Keep the resolved go.mod/go.sum: they pin every dependency of this build.
    await cp(join(w, 'go.mod'), join(out, 'go.mod.build'));
    await cp(join(w, 'go.sum'), join(out, 'go.sum.build'));
    return `k8s.io/kubernetes@${v} (staging modules @${staging}: ${replaces.join(' ')})`;
  } finally {
    await rm(w, { recursive: true, force: true });
  }
};

const buildEtcd: Builder = async (out, log) => {
  const v = ETCD_VERSION;
  const w = await wrapperModule('etcdbuild');
  try {
    const server = await modDownload(`go.etcd.io/etcd/server/v3@${v}`, w);
    const goLine = server.GoMod === undefined ? undefined : (await readGoMod(server.GoMod, w)).Go;
    await go(
      [
        'mod',
        'edit',
        `-require=go.etcd.io/etcd/server/v3@${v}`,
        `-require=go.etcd.io/etcd/etcdctl/v3@${v}`,
        ...(goLine === undefined ? [] : [`-go=${goLine}`]),
      ],
      w,
    );
    for (const [bin, pkg] of [
      ['etcd', 'go.etcd.io/etcd/server/v3'],
      ['etcdctl', 'go.etcd.io/etcd/etcdctl/v3'],
    ] as const) {
      await go(
        ['build', '-mod=mod', '-v', '-trimpath', '-ldflags=-s -w', '-o', join(out, bin), pkg],
        w,
        log,
      );
    }
    await verifyVersion(join(out, 'etcd'), ['--version'], `etcd Version: ${v.slice(1)}`);
    return `go.etcd.io/etcd/server/v3@${v} go.etcd.io/etcd/etcdctl/v3@${v}`;
  } finally {
    await rm(w, { recursive: true, force: true });
  }
};

const buildKwok: Builder = async (out, log) => {
  const v = KWOK_VERSION;
  const cwd = tmpdir();
  await go(
    ['install', '-v', '-trimpath', '-ldflags=-s -w', `sigs.k8s.io/kwok/cmd/kwok@${v}`],
    cwd,
    log,
    { GOBIN: out },
  );
  const src = await modDownload(`sigs.k8s.io/kwok@${v}`, cwd);
  if (src.Dir === undefined) throw new Error(`go mod download sigs.k8s.io/kwok@${v}: no Dir`);
  await cp(join(src.Dir, 'kustomize'), join(out, 'kustomize'), { recursive: true });
  await makeWritable(join(out, 'kustomize'));
  await verifyVersion(join(out, 'kwok'), ['--version'], v);
  return `sigs.k8s.io/kwok/cmd/kwok@${v} (+ kustomize/ from the module)`;
};

/** `go install tool.pkg@tool.version` into the output directory, then its version check. */
const goInstall =
  (tool: GoTool): Builder =>
  async (out, log) => {
    const ldflags = ['-s', '-w', ...(tool.ldflags ?? [])].join(' ');
    const ref = `${tool.pkg}@${tool.version}`;
    if (tool.fromModule === true) {
      const src = await modDownload(ref, tmpdir());
      if (src.Dir === undefined) throw new Error(`go mod download ${ref}: no Dir`);
      const bin = join(out, tool.name);
      await go(['build', '-v', '-trimpath', `-ldflags=${ldflags}`, '-o', bin, '.'], src.Dir, log);
    } else {
      await go(['install', '-v', '-trimpath', `-ldflags=${ldflags}`, ref], tmpdir(), log, {
        GOBIN: out,
      });
    }
    await verifyVersion(join(out, tool.name), tool.verify.args, tool.verify.expect);
    return ref;
  };

export function formatDuration(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return m === 0 ? `${s}s` : `${m}m${String(s).padStart(2, '0')}s`;
}
