// Who the operator is and where its API server is: kubeconfig files or the in-cluster service
// account, turned into what KubeClient puts on every request (TLS material, Authorization).
//
// Why our own: @kubernetes/client-node's KubeConfig has these semantics, but it cannot be loaded
// alone. Its index, and even a deep import of its dist/config.js, pull in the generated API,
// undici, openid-client, socks, ws and tar: Node 24 goes from 41 MiB of RSS to 123–130 MiB for a
// few hundred lines of work. This file keeps what an operator uses, with client-go's semantics:
//
// - Loading (controller-runtime's order): $KUBECONFIG, else the in-cluster service account, else
//   ~/.kube/config. $KUBECONFIG may list several files (path.delimiter), merged as kubectl does:
//   the first file to name a cluster, user or context wins, the first current-context wins, and a
//   listed file that does not exist is skipped. Relative paths in a file are relative to it.
// - Clusters: server, certificate-authority(-data), insecure-skip-tls-verify, tls-server-name.
// - Users: client-certificate(-data) and client-key(-data); token; tokenFile, re-read at most once
//   a minute so a rotated token is picked up (client-go's cached file token source, also used for
//   the in-cluster projected token); username/password; exec plugins of
//   client.authentication.k8s.io/v1 and v1beta1, whose credential is cached until its
//   expirationTimestamp (for ever without one).
// - In-cluster: KUBERNETES_SERVICE_HOST/PORT, the service account's token (rotated) and ca.crt.
//   The namespace file is read by config/namespace.ts, which owns the operator's namespace.
// Anything else a kubeconfig can ask for (auth-provider, proxy-url) is an error naming it rather
// than a connection that silently ignores it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { stderrLogger } from './logger.ts';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** How long a token read from a file is used before the file is read again (client-go's). */
const TOKEN_FILE_PERIOD_MS = 60_000;

const EXEC_API_VERSIONS = [
  'client.authentication.k8s.io/v1',
  'client.authentication.k8s.io/v1beta1',
] as const;
type ExecApiVersion = (typeof EXEC_API_VERSIONS)[number];

/** The cluster of the current context, as read from the kubeconfig. */
export interface Cluster {
  name: string;
  server: string;
  /** PEM; undefined means the system's trusted CAs. */
  ca?: string;
  insecureSkipTlsVerify: boolean;
  tlsServerName?: string;
  /** The `client.authentication.k8s.io/exec` extension, handed to exec plugins. */
  execExtension?: unknown;
}

interface ExecConfig {
  apiVersion: ExecApiVersion;
  command: string;
  args: string[];
  env: Record<string, string>;
  provideClusterInfo: boolean;
}

interface User {
  name: string;
  cert?: string;
  key?: string;
  token?: string;
  tokenFile?: string;
  basic?: { username: string; password: string };
  exec?: ExecConfig;
}

interface Credential {
  token?: string;
  cert?: string;
  key?: string;
}

/** Where to look; the defaults are the process's. Tests inject their own. */
export interface LoadOptions {
  env?: Readonly<Record<string, string | undefined>>;
  /** The directory holding ~/.kube/config. */
  home?: string;
  serviceAccountDir?: string;
}

export class KubeConfig {
  readonly cluster: Cluster;
  readonly #user: User;
  #fileToken: { token: string; readAt: number } | undefined;
  #execCredential: { credential: Credential; expiresAt: number } | undefined;
  #execRunning: Promise<Credential> | undefined;

  private constructor(cluster: Cluster, user: User) {
    this.cluster = cluster;
    this.#user = user;
  }

  /** $KUBECONFIG, else the in-cluster service account, else ~/.kube/config. */
  static load(opts: LoadOptions = {}): KubeConfig {
    const env = opts.env ?? process.env;
    const listed = (env.KUBECONFIG ?? '').split(path.delimiter).filter((p) => p !== '');
    if (listed.length > 0) return KubeConfig.fromFiles(listed);
    if ((env.KUBERNETES_SERVICE_HOST ?? '') !== '' && (env.KUBERNETES_SERVICE_PORT ?? '') !== '') {
      return KubeConfig.inCluster(env, opts.serviceAccountDir);
    }
    const home = opts.home ?? os.homedir();
    const file = path.join(home, '.kube', 'config');
    if (fs.existsSync(file)) return KubeConfig.fromFiles([file]);
    throw new Error(
      `no Kubernetes configuration: KUBECONFIG is unset, KUBERNETES_SERVICE_HOST/PORT are unset ` +
        `(not in a pod) and ${file} does not exist`,
    );
  }

  /** The merged kubeconfig files; files that do not exist are skipped, as kubectl does. */
  static fromFiles(files: readonly string[], context?: string): KubeConfig {
    const docs = files.flatMap((file) => {
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw new Error(`kubeconfig ${file}: ${(e as Error).message}`, { cause: e });
      }
      return [{ doc: parseYaml(text) as unknown, dir: path.dirname(path.resolve(file)) }];
    });
    if (docs.length === 0) throw new Error(`no kubeconfig file exists of ${files.join(', ')}`);
    const { cluster, user } = resolveDocs(docs, context, files.join(path.delimiter));
    return new KubeConfig(cluster, user);
  }

  /** A kubeconfig given as an object (parsed YAML); relative paths are relative to `dir`. */
  static fromObject(doc: unknown, dir = process.cwd(), context?: string): KubeConfig {
    const { cluster, user } = resolveDocs([{ doc, dir }], context, 'kubeconfig');
    return new KubeConfig(cluster, user);
  }

  /** The pod's service account, as client-go's rest.InClusterConfig. */
  static inCluster(
    env: Readonly<Record<string, string | undefined>>,
    dir = SERVICE_ACCOUNT_DIR,
  ): KubeConfig {
    const host = env.KUBERNETES_SERVICE_HOST ?? '';
    const port = env.KUBERNETES_SERVICE_PORT ?? '';
    if (host === '' || port === '') {
      throw new Error('not in a cluster: KUBERNETES_SERVICE_HOST and _PORT must be set');
    }
    const kc = new KubeConfig(
      {
        name: 'in-cluster',
        server: `https://${net.isIPv6(host) ? `[${host}]` : host}:${port}`,
        ca: readFile(path.join(dir, 'ca.crt'), 'in-cluster CA'),
        insecureSkipTlsVerify: false,
      },
      { name: 'in-cluster', tokenFile: path.join(dir, 'token') },
    );
    // Fail at start, not at the first request, when the token is not mounted.
    kc.#readTokenFile(Date.now());
    return kc;
  }

  /** The shape KubeClient asks for (that of client-node's KubeConfig). */
  getCurrentCluster(): { server: string } {
    return this.cluster;
  }

  /** Set the TLS material and the headers (Authorization) of a request's options. */
  async applyToHTTPSOptions(opts: https.RequestOptions): Promise<void> {
    const c = this.cluster;
    opts.rejectUnauthorized = !c.insecureSkipTlsVerify;
    if (c.ca !== undefined) opts.ca = c.ca;
    if (c.tlsServerName !== undefined) opts.servername = c.tlsServerName;
    const credential = await this.#credential();
    if (credential.cert !== undefined) opts.cert = credential.cert;
    if (credential.key !== undefined) opts.key = credential.key;
    const authorization = this.#authorization(credential.token);
    if (authorization !== undefined) opts.headers = { authorization };
  }

  #authorization(token: string | undefined): string | undefined {
    if (token !== undefined) return `Bearer ${token}`;
    const basic = this.#user.basic;
    if (basic === undefined) return undefined;
    return `Basic ${Buffer.from(`${basic.username}:${basic.password}`).toString('base64')}`;
  }

  async #credential(): Promise<Credential> {
    const u = this.#user;
    if (u.exec !== undefined) return this.#exec(u.exec);
    const token = u.tokenFile !== undefined ? this.#readTokenFile(Date.now()) : u.token;
    return { token, cert: u.cert, key: u.key };
  }

  /** The file's token, re-read once the last read is a period old; a failed re-read keeps it. */
  #readTokenFile(now: number): string {
    const file = this.#user.tokenFile;
    if (file === undefined) throw new Error('no token file');
    const cached = this.#fileToken;
    if (cached !== undefined && now - cached.readAt < TOKEN_FILE_PERIOD_MS) return cached.token;
    try {
      const token = fs.readFileSync(file, 'utf8').trim();
      this.#fileToken = { token, readAt: now };
      return token;
    } catch (e) {
      if (cached === undefined) {
        throw new Error(`token file ${file}: ${(e as Error).message}`, { cause: e });
      }
      // As client-go: a token that could be read before is still better than none; retry later.
      stderrLogger.warn({ err: e, file }, 'cannot re-read the token file; keeping the last token');
      this.#fileToken = { token: cached.token, readAt: now };
      return cached.token;
    }
  }

  /** The exec plugin's credential, cached until it expires; concurrent callers share one run. */
  #exec(exec: ExecConfig): Promise<Credential> {
    const cached = this.#execCredential;
    if (cached !== undefined && Date.now() < cached.expiresAt) {
      return Promise.resolve(cached.credential);
    }
    this.#execRunning ??= runExecPlugin(exec, this.cluster)
      .then(({ credential, expiresAt }) => {
        this.#execCredential = { credential, expiresAt };
        return credential;
      })
      .finally(() => {
        this.#execRunning = undefined;
      });
    return this.#execRunning;
  }
}

// ---- exec plugins ------------------------------------------------------------------------

async function runExecPlugin(
  exec: ExecConfig,
  cluster: Cluster,
): Promise<{ credential: Credential; expiresAt: number }> {
  const info = {
    apiVersion: exec.apiVersion,
    kind: 'ExecCredential',
    spec: {
      interactive: false,
      ...(exec.provideClusterInfo ? { cluster: execClusterInfo(cluster) } : {}),
    },
  };
  const what = `exec plugin ${exec.command}`;
  const stdout = await new Promise<string>((resolve, reject) => {
    // stderr goes to ours, as client-go does: plugins print their warnings and prompts there.
    const child = spawn(exec.command, exec.args, {
      env: { ...process.env, ...exec.env, KUBERNETES_EXEC_INFO: JSON.stringify(info) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', (e) => {
      reject(new Error(`${what}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      if (code === 0) resolve(Buffer.concat(chunks).toString('utf8'));
      else reject(new Error(`${what} failed: ${signal ?? `exit code ${String(code)}`}`));
    });
  });
  let out: unknown;
  try {
    out = JSON.parse(stdout);
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    // eslint-disable-next-line preserve-caught-error -- the parser's error quotes the output, which may be a credential
    throw new Error(`${what}: its ${String(stdout.length)} bytes of output are not JSON`);
  }
  const o = record(out, what);
  if (o.kind !== 'ExecCredential' || o.apiVersion !== exec.apiVersion) {
    throw new Error(`${what}: expected an ExecCredential of ${exec.apiVersion} on stdout`);
  }
  const status = record(o.status, `${what}: status`);
  const credential: Credential = {
    token: optString(status, 'token', what),
    cert: optString(status, 'clientCertificateData', what),
    key: optString(status, 'clientKeyData', what),
  };
  if ((credential.cert === undefined) !== (credential.key === undefined)) {
    throw new Error(`${what}: clientCertificateData and clientKeyData go together`);
  }
  if (credential.token === undefined && credential.cert === undefined) {
    throw new Error(`${what}: the ExecCredential has neither a token nor a client certificate`);
  }
  const expiry = optString(status, 'expirationTimestamp', what);
  const expiresAt = expiry === undefined ? Infinity : Date.parse(expiry);
  if (Number.isNaN(expiresAt))
    throw new Error(`${what}: bad expirationTimestamp ${String(expiry)}`);
  return { credential, expiresAt };
}

/** ExecCredential.spec.cluster, for plugins that ask for it (provideClusterInfo). */
function execClusterInfo(c: Cluster): Record<string, unknown> {
  return {
    server: c.server,
    'tls-server-name': c.tlsServerName,
    'insecure-skip-tls-verify': c.insecureSkipTlsVerify,
    'certificate-authority-data':
      c.ca === undefined ? undefined : Buffer.from(c.ca).toString('base64'),
    config: c.execExtension,
  };
}

// ---- kubeconfig documents ----------------------------------------------------------------

interface Doc {
  doc: unknown;
  /** Directory that relative paths in the document are relative to. */
  dir: string;
}

interface Named {
  entry: Record<string, unknown>;
  dir: string;
}

/** Merge the documents (first name wins, first current-context wins) and resolve the context. */
function resolveDocs(
  docs: readonly Doc[],
  context: string | undefined,
  source: string,
): { cluster: Cluster; user: User } {
  const clusters = new Map<string, Named>();
  const users = new Map<string, Named>();
  const contexts = new Map<string, Named>();
  let current = context;
  for (const { doc, dir } of docs) {
    const d = doc === null ? {} : record(doc, source);
    // An empty current-context is unset (kubectl writes "" after `config unset`).
    const currentContext = optString(d, 'current-context', source);
    if (currentContext !== '') current ??= currentContext;
    for (const [key, into, field] of [
      ['clusters', clusters, 'cluster'],
      ['users', users, 'user'],
      ['contexts', contexts, 'context'],
    ] as const) {
      for (const item of list(d[key], `${source}: ${key}`)) {
        const named = record(item, `${source}: ${key}`);
        const name = reqString(named, 'name', `${source}: ${key}`);
        if (!into.has(name)) {
          into.set(name, { entry: record(named[field] ?? {}, `${key} ${name}`), dir });
        }
      }
    }
  }
  if (current === undefined) throw new Error(`${source}: no current-context`);
  const ctx = contexts.get(current)?.entry;
  if (ctx === undefined) throw new Error(`${source}: no context named ${current}`);
  const clusterName = reqString(ctx, 'cluster', `context ${current}`);
  const userName = optString(ctx, 'user', `context ${current}`) ?? '';
  const cluster = clusters.get(clusterName);
  if (cluster === undefined) throw new Error(`${source}: no cluster named ${clusterName}`);
  const user = users.get(userName) ?? { entry: {}, dir: '' };
  return { cluster: readCluster(clusterName, cluster), user: readUser(userName, user) };
}

function readCluster(name: string, { entry, dir }: Named): Cluster {
  const what = `cluster ${name}`;
  unsupported(entry, ['proxy-url'], what);
  const extension = list(entry.extensions, `${what}: extensions`)
    .map((e) => record(e, `${what}: extensions`))
    .find((e) => e.name === 'client.authentication.k8s.io/exec')?.extension;
  return {
    name,
    server: reqString(entry, 'server', what),
    ca: dataOrFile(entry, 'certificate-authority', dir, what),
    insecureSkipTlsVerify: entry['insecure-skip-tls-verify'] === true,
    tlsServerName: optString(entry, 'tls-server-name', what),
    execExtension: extension,
  };
}

function readUser(name: string, { entry, dir }: Named): User {
  const what = `user ${name}`;
  unsupported(entry, ['auth-provider'], what);
  const tokenFile = optString(entry, 'tokenFile', what);
  const username = optString(entry, 'username', what);
  const exec = entry.exec === undefined ? undefined : readExec(record(entry.exec, what), dir, what);
  return {
    name,
    cert: dataOrFile(entry, 'client-certificate', dir, what),
    key: dataOrFile(entry, 'client-key', dir, what),
    token: optString(entry, 'token', what),
    tokenFile: tokenFile === undefined ? undefined : path.resolve(dir, tokenFile),
    basic:
      username === undefined
        ? undefined
        : { username, password: optString(entry, 'password', what) ?? '' },
    exec,
  };
}

function readExec(e: Record<string, unknown>, dir: string, user: string): ExecConfig {
  const what = `${user}: exec`;
  const apiVersion = reqString(e, 'apiVersion', what);
  const known = EXEC_API_VERSIONS.find((v) => v === apiVersion);
  if (known === undefined) {
    throw new Error(
      `${what}: apiVersion ${apiVersion} is not one of ${EXEC_API_VERSIONS.join(', ')}`,
    );
  }
  if (e.interactiveMode === 'Always') {
    throw new Error(`${what}: interactiveMode Always needs a terminal, and the operator has none`);
  }
  const command = reqString(e, 'command', what);
  const env: Record<string, string> = {};
  for (const v of list(e.env, `${what}: env`)) {
    const item = record(v, `${what}: env`);
    env[reqString(item, 'name', `${what}: env`)] = optString(item, 'value', `${what}: env`) ?? '';
  }
  return {
    apiVersion: known,
    // As client-go: a relative command with a directory part is relative to the kubeconfig;
    // a bare name is looked up on PATH.
    command: command.includes(path.sep) ? path.resolve(dir, command) : command,
    args: list(e.args, `${what}: args`).map((a) => {
      if (typeof a !== 'string') throw new Error(`${what}: args must be strings`);
      return a;
    }),
    env,
    provideClusterInfo: e.provideClusterInfo === true,
  };
}

/** `<key>-data` (base64) or `<key>` (a file, relative to the kubeconfig), read as text. */
function dataOrFile(
  entry: Record<string, unknown>,
  key: string,
  dir: string,
  what: string,
): string | undefined {
  const data = optString(entry, `${key}-data`, what);
  if (data !== undefined) return Buffer.from(data, 'base64').toString('utf8');
  const file = optString(entry, key, what);
  return file === undefined ? undefined : readFile(path.resolve(dir, file), `${what}: ${key}`);
}

function readFile(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${what}: ${(e as Error).message}`, { cause: e });
  }
}

function unsupported(entry: Record<string, unknown>, keys: readonly string[], what: string): void {
  for (const key of keys) {
    if (entry[key] !== undefined) {
      throw new Error(`${what}: ${key} is not supported by frappe-operator's kubeconfig loader`);
    }
  }
}

function record(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new Error(`${what}: expected a mapping`);
  }
  return v as Record<string, unknown>;
}

function list(v: unknown, what: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new Error(`${what}: expected a list`);
  return v;
}

function optString(o: Record<string, unknown>, key: string, what: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new Error(`${what}: ${key} must be a string`);
  return v;
}

function reqString(o: Record<string, unknown>, key: string, what: string): string {
  const v = optString(o, key, what);
  if (v === undefined || v === '') throw new Error(`${what}: ${key} is required`);
  return v;
}
