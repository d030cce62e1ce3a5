// bench-init (API.md §3.2): Job `<bench>-init` on the bench image, run once per set of inputs.
// It writes `sites/apps.txt` (every app directory of the image, frappe first), merges the Redis
// addresses, `socketio_port`, `bench_id` and `commonSiteConfig` into
// `sites/common_site_config.json` keeping every other key, fails when an app the bench lists is
// missing from the image, and reports the apps' versions through the termination message.
// This is what the official configurators do (frappe_docker compose.yaml / pwd.yml service
// `configurator`: `ls -1 apps > sites/apps.txt`, `bench set-config -g redis_cache|redis_queue|
// redis_socketio "redis://<host:port>"`, `-gp socketio_port 9000`; frappe/helm
// erpnext/templates/job-configure-bench.yaml the same without redis_socketio), in one Python
// run instead of a `bench set-config` per key. `db_host`/`db_port`, which they also set, are
// per site here (site_config.json, written by site-init). Frappe v15+ reads the socket.io Redis
// from redis_queue (frappe node_utils.js); redis_socketio stays for older Frappe.
//
// The Job runs on the operator's Job runner (src/runtime/jobs.ts). Its inputs — the image, the
// apps, the Redis addresses and password Secret, `commonSiteConfig` and this script, hashed with
// the `vyogo.tech/retry` annotation — decide when it runs again. A Redis password reaches the
// script as a mounted Secret file, never on argv or in env. What it merges into
// `common_site_config.json` (the Redis addresses and `commonSiteConfig`) reaches it as a mounted
// file too: ConfigMap `<bench>-init-config-<8 hex of its content>`, owned by the bench and
// immutable, so a pod always reads the content its Job was made for (a ConfigMap of a fixed name
// could still show the kubelet's previous copy), and a value of `commonSiteConfig` never appears
// in the pod spec, whatever its size.
import { createHash } from 'node:crypto';
import { IMAGE_ANNOTATION } from '../shared/annotations.ts';
import type { EnvVar, Volume, VolumeMount } from '../shared/k8s.ts';
import type { FrappeBench } from '../../api/v1alpha1/index.ts';
import { parseReport, type JobRequest, type Report } from '../../runtime/jobs.ts';
import { InvalidSpecError } from '../shared/invalid-spec.ts';
import { childMeta } from '../shared/meta.ts';
import { KINDS, type ConfigMap, type Job } from '../shared/objects.ts';
import { childJob, jobSpec } from '../shared/job.ts';
import { BENCH_DIR, frappeContainer, podSpec } from '../shared/pod.ts';
import { benchChild, benchLabels, type BenchPlan } from './plan.ts';
import type { RedisEndpoints } from './redis.ts';

export const SOCKETIO_PORT = 9000;
const CONTAINER = 'bench-init';
const PASSWORD_DIR = '/var/run/secrets/frappe/redis';
const CONFIG_DIR = '/var/run/frappe/bench-init';
const CONFIG_KEY = 'common_site_config.json';

/** An app the bench requires, with the version it expects (leading `v` ignored). */
export interface RequiredApp {
  name: string;
  version?: string;
}

/** The app names of `appsJSON`; an InvalidSpecError when it is not a JSON array of strings. */
function legacyApps(appsJSON: string | undefined): string[] {
  if (appsJSON === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(appsJSON);
  } catch (e) {
    // Admission checks the form (API.md §6 B6); an object stored before that rule may not parse.
    if (!(e instanceof SyntaxError)) throw e;
    throw new InvalidSpecError('spec.appsJSON', `is not JSON (${e.message})`, { cause: e });
  }
  if (!Array.isArray(parsed) || parsed.some((a) => typeof a !== 'string')) {
    throw new InvalidSpecError('spec.appsJSON', 'is not a JSON array of app names');
  }
  return parsed as string[];
}

/** `apps` merged with the legacy `appsJSON` ("app" or "app@version"); `apps` wins. */
export function requiredApps(spec: FrappeBench['spec']): RequiredApp[] {
  const byName = new Map<string, RequiredApp>();
  for (const entry of legacyApps(spec.appsJSON)) {
    const at = entry.indexOf('@');
    const app =
      at < 0 ? { name: entry } : { name: entry.slice(0, at), version: entry.slice(at + 1) };
    byName.set(app.name, app);
  }
  for (const app of spec.apps ?? []) {
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
  spec: FrappeBench['spec'],
  redis: RedisEndpoints,
  benchId: string,
): Record<string, unknown> {
  const user = Object.fromEntries(
    Object.entries(spec.commonSiteConfig ?? {}).map(([k, v]) => [k, configValue(v)]),
  );
  return {
    ...user,
    redis_cache: `redis://${redis.cache}`,
    redis_queue: `redis://${redis.queue}`,
    redis_socketio: `redis://${redis.queue}`,
    socketio_port: SOCKETIO_PORT,
    bench_id: benchId,
  };
}

/**
 * The script, run by the bench's Python. Env: BENCH_INIT_APPS (JSON list of required app
 * names), BENCH_INIT_CONFIG_FILE (a file holding the JSON object to merge),
 * BENCH_INIT_REDIS_PASSWORD_FILE (optional). Result on /dev/termination-log:
 * {"apps":[{"name","version"}]} or {"error","message"}. Every absolute path is an assignment at
 * the top (`NAME = '/path'`), so a test runs the script against a directory tree by prefixing
 * them (test/unit/controllers/bench/image-layout.test.ts).
 */
export const BENCH_INIT_SCRIPT = String.raw`import json, os, re, sys
from urllib.parse import quote

BENCH = '${BENCH_DIR}'
TERMINATION_LOG = '/dev/termination-log'
APPS = os.path.join(BENCH, 'apps')
SITES = os.path.join(BENCH, 'sites')
LIMIT = 4096


def report(result):
    text = json.dumps(result, separators=(',', ':'))
    if len(text.encode()) > LIMIT and 'apps' in result:
        text = json.dumps({'apps': [{'name': a['name'], 'version': a['version'][:32]} for a in result['apps']]}, separators=(',', ':'))
    with open(TERMINATION_LOG, 'w') as f:
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
with open(os.environ['BENCH_INIT_CONFIG_FILE']) as f:
    config.update(json.load(f))
password_file = os.environ.get('BENCH_INIT_REDIS_PASSWORD_FILE')
if password_file:
    with open(password_file) as f:
        password = quote(f.read().rstrip('\n'), safe='')
    for key in ('redis_cache', 'redis_queue', 'redis_socketio'):
        config[key] = config[key].replace('redis://', 'redis://:' + password + '@', 1)
write_atomic(path, json.dumps(config, indent=1, sort_keys=True) + '\n')

report({'apps': [{'name': a, 'version': app_version(a)} for a in apps]})
`;

/** Everything that, when changed, makes bench-init run again (with the retry annotation). */
export const initInputs = (
  plan: Pick<BenchPlan, 'image' | 'apps' | 'commonSiteConfig' | 'redis'>,
): Record<string, unknown> => ({
  image: plan.image,
  apps: plan.apps.map((a) => a.name),
  config: plan.commonSiteConfig,
  redisPassword: plan.redis.password ?? null,
  // The password's content (a hash): a rotated password is written into common_site_config.json.
  redisPasswordHash: plan.redis.passwordHash ?? null,
  script: BENCH_INIT_SCRIPT,
});

export const initJobName = (plan: Pick<BenchPlan, 'name'>): string => benchChild(plan, 'init');

/** What bench-init merges into `common_site_config.json`, as the ConfigMap holds it. */
const configText = (plan: Pick<BenchPlan, 'commonSiteConfig'>): string =>
  `${JSON.stringify(plan.commonSiteConfig, null, 1)}\n`;

/** `<bench>-init-config-<8 hex of its content>`: a new name for new content. */
export const initConfigName = (plan: Pick<BenchPlan, 'name' | 'commonSiteConfig'>): string =>
  benchChild(
    plan,
    `init-config-${createHash('sha256').update(configText(plan)).digest('hex').slice(0, 8)}`,
  );

/** The ConfigMap bench-init reads its `common_site_config.json` keys from (immutable). */
export function initConfigMap(plan: BenchPlan): ConfigMap {
  return {
    ...KINDS.ConfigMap,
    metadata: childMeta(plan.bench, initConfigName(plan), benchLabels(plan, 'bench-init')),
    immutable: true,
    data: { [CONFIG_KEY]: configText(plan) },
  };
}

function benchInitJob(plan: BenchPlan): Job {
  const image = plan.image;
  const redis = plan.redis;
  const settings = { ...plan.pod, image };
  const labels = benchLabels(plan, 'bench-init');
  const env: EnvVar[] = [
    { name: 'BENCH_INIT_APPS', value: JSON.stringify(plan.apps.map((a) => a.name)) },
    { name: 'BENCH_INIT_CONFIG_FILE', value: `${CONFIG_DIR}/${CONFIG_KEY}` },
  ];
  const volumes: Volume[] = [
    { name: 'init-config', configMap: { name: initConfigName(plan), defaultMode: 0o444 } },
  ];
  const mounts: VolumeMount[] = [{ name: 'init-config', mountPath: CONFIG_DIR, readOnly: true }];
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
    mounts.push({ name: 'redis-auth', mountPath: PASSWORD_DIR, readOnly: true });
  }
  const container = frappeContainer(settings, {
    name: CONTAINER,
    command: [`${BENCH_DIR}/env/bin/python`, '-c', BENCH_INIT_SCRIPT],
    env,
    resources: plan.resources.benchInit,
    terminationMessagePolicy: 'File',
    volumeMounts: mounts,
  });
  const spec = podSpec(settings, {
    containers: [container],
    volumes,
    mountsSites: true,
    restartPolicy: 'Never',
  });
  return childJob(
    plan.bench,
    initJobName(plan),
    labels,
    { [IMAGE_ANNOTATION]: image },
    jobSpec(settings, labels, spec, { backoffLimit: 2 }),
  );
}

/** The apps and versions of the image, as bench-init reports them. */
export type InitApps = { name: string; version: string }[];

/** The bench-init Job for the Job runner. */
export const benchInitRequest = (plan: BenchPlan): JobRequest<InitApps, Job> => ({
  owner: plan.bench,
  job: benchInitJob(plan),
  inputs: initInputs(plan),
  container: CONTAINER,
  parseReport: parseInitReport,
});

/** Parse a bench-init termination message; anything unexpected is a failure report. */
export const parseInitReport = (message: string | undefined): Report<InitApps> =>
  parseReport(message, 'bench-init', (r) =>
    (Array.isArray(r.apps) ? r.apps : []).flatMap((a: unknown) => {
      const app = a as { name?: unknown; version?: unknown };
      return typeof app.name === 'string'
        ? [{ name: app.name, version: typeof app.version === 'string' ? app.version : '' }]
        : [];
    }),
  );
