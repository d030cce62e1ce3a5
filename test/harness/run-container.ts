// Runs the operator's own containers for real. kwok completes pods without running anything, so
// a Job's pod spec alone proves nothing about the wiring of the containers that run the
// operator's image (`frappe-operator backup-agent …` in backup and restore Jobs). This helper
// takes a pod spec the operator built (or read back from the API server) and runs one of its
// containers as a local process, as a kubelet would run it:
//
// - only a container whose command is `frappe-operator` (the operator's image): it runs as
//   `node src/cli.ts` with this run's Node; anything else is refused with the reason;
// - `env` resolved like the kubelet: `value` with `$(VAR)` references expanded, `valueFrom`
//   secretKeyRef / configMapKeyRef read from the cluster (a missing key fails unless `optional`),
//   fieldRef for metadata.namespace, metadata.name, spec.serviceAccountName, spec.nodeName and
//   status.podIP; `envFrom` too; nothing inherited from the test process but PATH;
// - volumes: Secret and ConfigMap volumes become files in temp dirs (honouring `items`, `mode`
//   and `defaultMode`), emptyDir volumes temp dirs shared by every container of one PodRun, so a
//   test can fabricate what an earlier container (e.g. `bench backup`) wrote; any other volume
//   type is refused;
// - mount paths in `args`, `command` and env values rewritten to those dirs (a path is replaced
//   where it starts an argument or follows `=`, and only at a path boundary);
// - the termination message: the process writes to $TERMINATION_MESSAGE_PATH (default
//   /dev/termination-log, as the agent does); the kubelet reads the container's
//   terminationMessagePath: both are mapped to one temp file, and a mismatch between them is an
//   error, since in a pod the report would be lost. FallbackToLogsOnError is honoured;
// - pointing at the test's S3 server: by the args the pod already has (restoreFrom.endpoint, a
//   destination's endpoint), or through `env` (e.g. AWS_ENDPOINT_URL_S3, which the SDK reads
//   when no --endpoint is given).
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import type { Container, EnvVar, PodSpec, Volume } from '../../src/controllers/shared/k8s.ts';
import {
  cleanEnv,
  OPERATOR_COMMAND,
  parseReport,
  readOptional,
  runOperatorProcess,
} from './agent.ts';
import { kubectl, type KubectlOptions } from './kubectl.ts';

const DEFAULT_TERMINATION_PATH = '/dev/termination-log';
const DEFAULT_FILE_MODE = 0o644;

export interface PodRunOptions {
  /** The namespace the pod runs in: Secrets and ConfigMaps are read there. */
  namespace: string;
  /** metadata.name of the pod (fieldRef), e.g. `<job>-abcde`. */
  podName: string;
  /** Added to every container's environment (after the spec's own env). */
  env?: Record<string, string>;
  /** Another cluster than the run's (a test's private one). */
  kubeconfigPath?: string;
  timeoutMs?: number;
}

export interface ContainerRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** What the kubelet would put in the container status's termination message. */
  terminationMessage: string;
  /** The termination message as JSON, when it is. */
  report: Record<string, unknown> | undefined;
  /** The argv after `frappe-operator`, with mount paths rewritten. */
  args: string[];
  /** The process's environment. */
  env: Record<string, string>;
  /** mountPath → the local directory standing for it. */
  mounts: Record<string, string>;
}

interface KubeData {
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  binaryData?: Record<string, string>;
}

/** One pod's worth of containers run locally, sharing its emptyDir volumes. */
export class PodRun {
  readonly spec: PodSpec;
  readonly options: PodRunOptions;
  private readonly root: string;
  private readonly emptyDirs = new Map<string, string>();
  private readonly cache = new Map<string, Promise<Record<string, Buffer> | undefined>>();

  private constructor(spec: PodSpec, options: PodRunOptions, root: string) {
    this.spec = spec;
    this.options = options;
    this.root = root;
  }

  static async create(spec: PodSpec, options: PodRunOptions): Promise<PodRun> {
    return new PodRun(spec, options, await mkdtemp(join(tmpdir(), 'frappe-pod-')));
  }

  /** The local directory of emptyDir volume `name` (created on first use). */
  async emptyDir(name: string): Promise<string> {
    const volume = this.volume(name);
    if (volume.emptyDir === undefined) {
      throw new Error(`volume ${name} of the pod is not an emptyDir`);
    }
    let dir = this.emptyDirs.get(name);
    if (dir === undefined) {
      dir = join(this.root, 'emptydir', name);
      await mkdir(dir, { recursive: true });
      this.emptyDirs.set(name, dir);
    }
    return dir;
  }

  /** Removes every temporary directory of this pod run. */
  async cleanup(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }

  /** Runs container `name` (an init container or a container) to completion. */
  async runContainer(name: string): Promise<ContainerRun> {
    const container = [...(this.spec.initContainers ?? []), ...this.spec.containers].find(
      (c) => c.name === name,
    );
    if (container === undefined) {
      const names = [...(this.spec.initContainers ?? []), ...this.spec.containers].map(
        (c) => c.name,
      );
      throw new Error(`the pod has no container ${name} (it has: ${names.join(', ')})`);
    }
    const [command, ...commandArgs] = container.command ?? [];
    if (command !== OPERATOR_COMMAND) {
      throw new Error(
        `container ${name} runs ${JSON.stringify(container.command ?? '(the image entrypoint)')}, ` +
          `not ${OPERATOR_COMMAND}: only the operator's own image can be run here`,
      );
    }

    const mounts = await this.mount(container);
    const rewrite = pathRewriter(mounts);
    const env = await this.environment(container);
    for (const [k, v] of Object.entries(env)) env[k] = rewrite(v);

    const agentPath = env['TERMINATION_MESSAGE_PATH'] ?? DEFAULT_TERMINATION_PATH;
    const kubeletPath = container.terminationMessagePath ?? DEFAULT_TERMINATION_PATH;
    if (normalize(rewrite(agentPath)) !== normalize(rewrite(kubeletPath))) {
      throw new Error(
        `container ${name}: the program writes its termination message to ${agentPath} but ` +
          `the kubelet reads ${kubeletPath}: the report would be lost`,
      );
    }
    const terminationFile = join(this.root, `${name}.termination-log`);
    await rm(terminationFile, { force: true });

    const expand = (s: string) => rewrite(expandVars(s, env));
    const args = [...commandArgs, ...(container.args ?? [])].map(expand);
    const processEnv: Record<string, string> = cleanEnv({
      ...env,
      ...this.options.env,
      TERMINATION_MESSAGE_PATH: terminationFile,
    });
    const cwd = container.workingDir === undefined ? this.root : rewrite(container.workingDir);
    const result = await runOperatorProcess(args, {
      env: processEnv,
      cwd: cwd.startsWith(this.root) ? cwd : this.root,
      ...(this.options.timeoutMs === undefined ? {} : { timeoutMs: this.options.timeoutMs }),
    });
    let terminationMessage = await readOptional(terminationFile);
    if (
      terminationMessage === '' &&
      result.exitCode !== 0 &&
      container.terminationMessagePolicy === 'FallbackToLogsOnError'
    ) {
      // The kubelet's fallback: the last 80 lines, at most 2048 bytes, of the log.
      const logs = `${result.stdout}${result.stderr}`.trimEnd().split('\n').slice(-80).join('\n');
      terminationMessage = Buffer.from(logs).subarray(-2048).toString('utf8');
    }
    return {
      ...result,
      terminationMessage,
      report: parseReport(terminationMessage),
      args,
      env: processEnv,
      mounts,
    };
  }

  private volume(name: string): Volume {
    const v = (this.spec.volumes ?? []).find((x) => x.name === name);
    if (v === undefined) throw new Error(`the pod has no volume ${name}`);
    return v;
  }

  /** mountPath → local dir for every volumeMount of `container`. */
  private async mount(container: Container): Promise<Record<string, string>> {
    const mounts: Record<string, string> = {};
    for (const m of container.volumeMounts ?? []) {
      const v = this.volume(m.name);
      let dir: string;
      if (v.emptyDir !== undefined) {
        dir = await this.emptyDir(v.name);
      } else if (v.secret !== undefined) {
        dir = await this.projectData(
          `secret-${v.name}`,
          'secret',
          v.secret.secretName ?? '',
          v.secret.items,
          v.secret.defaultMode,
          v.secret.optional === true,
        );
      } else if (v.configMap !== undefined) {
        dir = await this.projectData(
          `configmap-${v.name}`,
          'configmap',
          v.configMap.name ?? '',
          v.configMap.items,
          v.configMap.defaultMode,
          v.configMap.optional === true,
        );
      } else {
        throw new Error(
          `volume ${v.name} (mounted at ${m.mountPath} in ${container.name}) is neither an ` +
            'emptyDir, a Secret nor a ConfigMap: this helper cannot stand in for it',
        );
      }
      if (m.subPath !== undefined && m.subPath !== '') dir = join(dir, m.subPath);
      mounts[m.mountPath] = dir;
    }
    return mounts;
  }

  /** Writes a Secret's or ConfigMap's keys as files, as the kubelet projects them. */
  private async projectData(
    dirName: string,
    kind: 'secret' | 'configmap',
    name: string,
    items: { key: string; path: string; mode?: number }[] | undefined,
    defaultMode: number | undefined,
    optional: boolean,
  ): Promise<string> {
    const dir = join(this.root, dirName);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const data = await this.read(kind, name);
    if (data === undefined) {
      if (optional) return dir;
      throw new Error(
        `${kind} ${this.options.namespace}/${name} does not exist: the pod would not start`,
      );
    }
    const wanted = items ?? Object.keys(data).map((key) => ({ key, path: key, mode: undefined }));
    for (const item of wanted) {
      const value = data[item.key];
      if (value === undefined) {
        if (optional) continue;
        throw new Error(
          `${kind} ${this.options.namespace}/${name} has no key ${item.key}: the pod would not start`,
        );
      }
      const path = join(dir, item.path);
      if (!path.startsWith(`${dir}/`)) throw new Error(`item path ${item.path} leaves the volume`);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, value);
      await chmod(path, item.mode ?? defaultMode ?? DEFAULT_FILE_MODE);
    }
    return dir;
  }

  /** A Secret's or ConfigMap's data (decoded), or undefined when it does not exist. */
  private read(kind: 'secret' | 'configmap', name: string) {
    const key = `${kind}/${name}`;
    let p = this.cache.get(key);
    if (p === undefined) {
      p = (async () => {
        const opts: KubectlOptions = {
          namespace: this.options.namespace,
          allowFailure: true,
          ...(this.options.kubeconfigPath === undefined
            ? {}
            : { kubeconfigPath: this.options.kubeconfigPath }),
        };
        const res = await kubectl(['get', kind, name, '-o', 'json'], opts);
        if (res.code !== 0) {
          if (/NotFound|not found/.test(res.stderr)) return undefined;
          throw new Error(`kubectl get ${kind} ${name}: ${res.stderr.trim()}`);
        }
        const obj = JSON.parse(res.stdout) as KubeData;
        const out: Record<string, Buffer> = {};
        if (kind === 'secret') {
          for (const [k, v] of Object.entries(obj.data ?? {})) out[k] = Buffer.from(v, 'base64');
        } else {
          for (const [k, v] of Object.entries(obj.data ?? {})) out[k] = Buffer.from(v, 'utf8');
          for (const [k, v] of Object.entries(obj.binaryData ?? {})) {
            out[k] = Buffer.from(v, 'base64');
          }
        }
        return out;
      })();
      this.cache.set(key, p);
    }
    return p;
  }

  /** The container's env as the kubelet resolves it (envFrom first, then env in order). */
  private async environment(container: Container): Promise<Record<string, string>> {
    const env: Record<string, string> = {};
    for (const from of container.envFrom ?? []) {
      const ref = from.secretRef ?? from.configMapRef;
      const kind = from.secretRef === undefined ? 'configmap' : 'secret';
      if (ref === undefined) continue;
      const data = await this.read(kind, ref.name ?? '');
      if (data === undefined) {
        if (ref.optional === true) continue;
        throw new Error(
          `envFrom ${kind} ${ref.name ?? ''} does not exist: the pod would not start`,
        );
      }
      for (const [k, v] of Object.entries(data))
        env[`${from.prefix ?? ''}${k}`] = v.toString('utf8');
    }
    for (const e of container.env ?? []) {
      const value = await this.envValue(e, env);
      if (value !== undefined) env[e.name] = value;
    }
    return env;
  }

  private async envValue(e: EnvVar, sofar: Record<string, string>): Promise<string | undefined> {
    if (e.valueFrom === undefined) return expandVars(e.value ?? '', sofar);
    const { secretKeyRef, configMapKeyRef, fieldRef, resourceFieldRef } = e.valueFrom;
    const ref = secretKeyRef ?? configMapKeyRef;
    if (ref !== undefined) {
      const kind = secretKeyRef === undefined ? 'configmap' : 'secret';
      const data = await this.read(kind, ref.name ?? '');
      const value = data?.[ref.key];
      if (value === undefined) {
        if (ref.optional === true) return undefined;
        throw new Error(
          `env ${e.name}: ${kind} ${this.options.namespace}/${ref.name ?? ''} ` +
            `${data === undefined ? 'does not exist' : `has no key ${ref.key}`}: the pod would not start`,
        );
      }
      return value.toString('utf8');
    }
    if (fieldRef !== undefined) {
      const fields: Record<string, string> = {
        'metadata.namespace': this.options.namespace,
        'metadata.name': this.options.podName,
        'spec.serviceAccountName': this.spec.serviceAccountName ?? 'default',
        'spec.nodeName': this.spec.nodeName ?? 'kwok-node-0',
        'status.podIP': '127.0.0.1',
      };
      const value = fields[fieldRef.fieldPath];
      if (value === undefined)
        throw new Error(`env ${e.name}: fieldRef ${fieldRef.fieldPath} is not supported here`);
      return value;
    }
    if (resourceFieldRef !== undefined) {
      throw new Error(`env ${e.name}: resourceFieldRef is not supported here`);
    }
    return undefined;
  }
}

/** Kubernetes' `$(VAR)` expansion: defined variables are replaced, `$$` escapes a `$`. */
export function expandVars(s: string, env: Record<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return name !== undefined && Object.hasOwn(env, name) ? (env[name] ?? match) : match;
  });
}

/**
 * A function replacing mount paths with their local directories where a path starts a value or
 * follows `=` (as in `--destination=/restore`), at a path boundary; the longest mount first.
 */
export function pathRewriter(mounts: Record<string, string>): (s: string) => string {
  const paths = Object.keys(mounts).sort((a, b) => b.length - a.length);
  if (paths.length === 0) return (s) => s;
  const escaped = paths.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\/+$/, ''));
  const pattern = new RegExp(`(^|=)(${escaped.join('|')})(?=$|/)`, 'g');
  return (s) =>
    s.replace(pattern, (_m, lead: string, path: string) => {
      const local = mounts[path] ?? mounts[`${path}/`] ?? path;
      return `${lead}${local}`;
    });
}
