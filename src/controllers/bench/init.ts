// bench-init (API.md §3.2): Job `<bench>-init` on the bench image, run once per set of inputs.
// It writes `sites/apps.txt` (every app directory of the image, frappe first), merges the Redis
// addresses, `socketio_port`, `bench_id` and `commonSiteConfig` into
// `sites/common_site_config.json` keeping every other key, fails when an app the bench lists is
// missing from the image, and reports the apps' versions through the termination message.
//
// The inputs hash (annotation `vyogo.tech/inputs-hash`) covers the image, the apps, the Redis
// addresses and password Secret, `commonSiteConfig`, the `vyogo.tech/retry` annotation and this
// script: the Job is re-created only when it changes. A Redis password reaches the script as a
// mounted Secret file, never on argv or in env.
import { createHash } from 'node:crypto';
import type { EnvVar, Volume } from '../shared/k8s.ts';
import type { FrappeBench } from '../../api/v1alpha1/index.ts';
import { childMeta } from '../shared/meta.ts';
import { KINDS, type Job } from '../shared/objects.ts';
import { BENCH_DIR, frappeContainer, podSpec, podTemplateMeta } from '../shared/pod.ts';
import { jobResources } from '../shared/resources.ts';
import {
  benchChild,
  benchId,
  benchImage,
  benchLabels,
  podSettings,
  type BenchContext,
} from './context.ts';
import { redisEndpoints, type RedisEndpoints } from './redis.ts';

export const INPUTS_HASH_ANNOTATION = 'vyogo.tech/inputs-hash';
/** The image a bench-init Job initialises, read back when it has succeeded. */
export const IMAGE_ANNOTATION = 'vyogo.tech/image';
export const RETRY_ANNOTATION = 'vyogo.tech/retry';
export const SOCKETIO_PORT = 9000;
const PASSWORD_DIR = '/var/run/secrets/frappe/redis';
const JOB_TTL_SECONDS = 86_400;

/** An app the bench requires, with the version it expects (leading `v` ignored). */
export interface RequiredApp {
  name: string;
  version?: string;
}

/** `apps` merged with the legacy `appsJSON` ("app" or "app@version"); `apps` wins. */
export function requiredApps(bench: FrappeBench): RequiredApp[] {
  const byName = new Map<string, RequiredApp>();
  const legacy =
    bench.spec.appsJSON === undefined ? [] : (JSON.parse(bench.spec.appsJSON) as unknown);
  for (const entry of Array.isArray(legacy) ? legacy : []) {
    if (typeof entry !== 'string') continue;
    const at = entry.indexOf('@');
    const app =
      at < 0 ? { name: entry } : { name: entry.slice(0, at), version: entry.slice(at + 1) };
    byName.set(app.name, app);
  }
  for (const app of bench.spec.apps ?? []) {
    byName.set(
      app.name,
      app.version === undefined ? { name: app.name } : { name: app.name, version: app.version },
    );
  }
  return [...byName.values()];
}

/** A `commonSiteConfig` value keeps its JSON type when it parses as JSON, else it is a string. */
function configValue(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch (e) {
    if (e instanceof SyntaxError) return value;
    throw e;
  }
}

/** The keys bench-init merges into `common_site_config.json` (without the Redis password). */
export function commonSiteConfig(
  bench: FrappeBench,
  redis: RedisEndpoints,
): Record<string, unknown> {
  const user = Object.fromEntries(
    Object.entries(bench.spec.commonSiteConfig ?? {}).map(([k, v]) => [k, configValue(v)]),
  );
  return {
    ...user,
    redis_cache: `redis://${redis.cache}`,
    redis_queue: `redis://${redis.queue}`,
    redis_socketio: `redis://${redis.queue}`,
    socketio_port: SOCKETIO_PORT,
    bench_id: benchId(bench),
  };
}

/**
 * The script, run by the bench's Python. Env: BENCH_INIT_APPS (JSON list of required app
 * names), BENCH_INIT_CONFIG (JSON object to merge), BENCH_INIT_REDIS_PASSWORD_FILE (optional).
 * Result on /dev/termination-log: {"apps":[{"name","version"}]} or {"error","message"}.
 */
export const BENCH_INIT_SCRIPT = String.raw`import json, os, re, sys
from urllib.parse import quote

BENCH = '${BENCH_DIR}'
APPS = os.path.join(BENCH, 'apps')
SITES = os.path.join(BENCH, 'sites')
LIMIT = 4096


def report(result):
    text = json.dumps(result, separators=(',', ':'))
    if len(text.encode()) > LIMIT and 'apps' in result:
        text = json.dumps({'apps': [{'name': a['name'], 'version': a['version'][:32]} for a in result['apps']]}, separators=(',', ':'))
    with open('/dev/termination-log', 'w') as f:
        f.write(text[:LIMIT])


def fail(reason, message):
    report({'error': reason, 'message': message[:3000]})
    sys.exit(1)


def write_atomic(path, text):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, path)


def app_version(app):
    for rel in (os.path.join(app, '__init__.py'), 'pyproject.toml', 'setup.py'):
        try:
            with open(os.path.join(APPS, app, rel)) as f:
                text = f.read()
        except OSError:
            continue
        m = re.search(r'^\s*(?:__version__|version)\s*=\s*[\'"]([^\'"]+)[\'"]', text, re.M)
        if m:
            return m.group(1)
    return ''


apps = sorted(d for d in os.listdir(APPS) if not d.startswith('.') and os.path.isdir(os.path.join(APPS, d)))
if 'frappe' in apps:
    apps.remove('frappe')
    apps.insert(0, 'frappe')
missing = [a for a in json.loads(os.environ['BENCH_INIT_APPS']) if a not in apps]
if missing:
    fail('AppsMissing', 'the image has no app ' + ', '.join(missing) + ' (it has ' + ', '.join(apps) + '): build the apps into the image or remove them from spec.apps/appsJSON')

os.makedirs(SITES, exist_ok=True)
write_atomic(os.path.join(SITES, 'apps.txt'), '\n'.join(apps) + '\n')

path = os.path.join(SITES, 'common_site_config.json')
config = {}
if os.path.exists(path):
    try:
        with open(path) as f:
            config = json.load(f)
    except ValueError as e:
        fail('InvalidCommonSiteConfig', 'sites/common_site_config.json is not valid JSON (' + str(e) + '): fix or remove it on the sites volume')
config.update(json.loads(os.environ['BENCH_INIT_CONFIG']))
password_file = os.environ.get('BENCH_INIT_REDIS_PASSWORD_FILE')
if password_file:
    with open(password_file) as f:
        password = quote(f.read().rstrip('\n'), safe='')
    for key in ('redis_cache', 'redis_queue', 'redis_socketio'):
        config[key] = config[key].replace('redis://', 'redis://:' + password + '@', 1)
write_atomic(path, json.dumps(config, indent=1, sort_keys=True) + '\n')

report({'apps': [{'name': a, 'version': app_version(a)} for a in apps]})
`;

/** Everything that, when changed, makes bench-init run again. */
export function initInputs(bench: FrappeBench, ctx: BenchContext): Record<string, unknown> {
  const redis = redisEndpoints(bench);
  return {
    image: benchImage(bench, ctx),
    apps: requiredApps(bench).map((a) => a.name),
    config: commonSiteConfig(bench, redis),
    redisPassword: redis.password ?? null,
    retry: bench.metadata.annotations?.[RETRY_ANNOTATION] ?? null,
    script: BENCH_INIT_SCRIPT,
  };
}

export const initInputsHash = (bench: FrappeBench, ctx: BenchContext): string =>
  createHash('sha256')
    .update(JSON.stringify(initInputs(bench, ctx)))
    .digest('hex')
    .slice(0, 16);

export const initJobName = (bench: FrappeBench): string => benchChild(bench, 'init');

export function benchInitJob(bench: FrappeBench, ctx: BenchContext): Job {
  const image = benchImage(bench, ctx);
  const redis = redisEndpoints(bench);
  const settings = podSettings(bench, ctx, image);
  const labels = benchLabels(bench, 'bench-init');
  const env: EnvVar[] = [
    { name: 'BENCH_INIT_APPS', value: JSON.stringify(requiredApps(bench).map((a) => a.name)) },
    { name: 'BENCH_INIT_CONFIG', value: JSON.stringify(commonSiteConfig(bench, redis)) },
  ];
  const volumes: Volume[] = [];
  if (redis.password !== undefined) {
    env.push({ name: 'BENCH_INIT_REDIS_PASSWORD_FILE', value: `${PASSWORD_DIR}/password` });
    volumes.push({
      name: 'redis-auth',
      secret: {
        secretName: redis.password.secretName,
        items: [{ key: redis.password.key, path: 'password' }],
        defaultMode: 0o440,
      },
    });
  }
  const container = frappeContainer(settings, {
    name: 'bench-init',
    command: [`${BENCH_DIR}/env/bin/python`, '-c', BENCH_INIT_SCRIPT],
    env,
    resources: jobResources(bench.spec.jobResources, 'benchInit'),
    terminationMessagePolicy: 'File',
    ...(volumes.length === 0
      ? {}
      : { volumeMounts: [{ name: 'redis-auth', mountPath: PASSWORD_DIR, readOnly: true }] }),
  });
  return {
    ...KINDS.Job,
    metadata: childMeta(bench, initJobName(bench), labels, {
      [INPUTS_HASH_ANNOTATION]: initInputsHash(bench, ctx),
      [IMAGE_ANNOTATION]: image,
    }),
    spec: {
      backoffLimit: 2,
      ttlSecondsAfterFinished: JOB_TTL_SECONDS,
      template: {
        metadata: podTemplateMeta(settings, labels),
        spec: podSpec(settings, {
          containers: [container],
          volumes,
          mountsSites: true,
          restartPolicy: 'Never',
        }),
      },
    },
  };
}

/** What bench-init reported in its termination message. */
export type InitReport =
  | { ok: true; apps: { name: string; version: string }[] }
  | { ok: false; reason: string; message: string };

/** Parse a bench-init termination message; anything unexpected is a failure report. */
export function parseInitReport(message: string | undefined): InitReport {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message ?? '') as unknown;
  } catch (e) {
    return {
      ok: false,
      reason: 'NoReport',
      message: `bench-init left no readable result (${String(e)})`,
    };
  }
  if (typeof parsed !== 'object' || parsed === null) {
    return { ok: false, reason: 'NoReport', message: 'bench-init left no readable result' };
  }
  const r = parsed as { apps?: unknown; error?: unknown; message?: unknown };
  if (typeof r.error === 'string') {
    return {
      ok: false,
      reason: r.error,
      message: typeof r.message === 'string' ? r.message : r.error,
    };
  }
  const apps = Array.isArray(r.apps) ? r.apps : [];
  return {
    ok: true,
    apps: apps.flatMap((a: unknown) => {
      const app = a as { name?: unknown; version?: unknown };
      return typeof app.name === 'string'
        ? [{ name: app.name, version: typeof app.version === 'string' ? app.version : '' }]
        : [];
    }),
  };
}
