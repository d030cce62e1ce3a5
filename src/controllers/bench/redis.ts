// Redis of a bench (API.md §2.1 RedisConfig, §3.2): StatefulSets and Services
// `<bench>-redis-cache` and `<bench>-redis-queue`, the generated password Secret, and the
// addresses and password reference every other builder (bench-init, KEDA) connects with.
//
// The settings are those of Frappe's own bench (frappe/bench bench/config/templates:
// redis_cache.conf `maxmemory-policy allkeys-lru`, `save ""`, `appendonly no`; redis_queue.conf
// Redis's default `noeviction`), on the official `redis` image as frappe_docker runs it
// (overrides/compose.redis.yaml: `redis:6.2-alpine`, its default command, /data for the queue;
// the chart uses Bitnami's Redis charts). The container's `command` replaces the image's
// docker-entrypoint.sh, which only chowns /data and drops root: our pods never run as root.
//
// The password never appears in argv or env literals: redis-server reads it from a config file
// written at start from the mounted Secret (shell builtins only), redis-cli from REDISCLI_AUTH
// set the same way, and the exporter through a secretKeyRef env.
import type {
  Container,
  EnvVar,
  ResourceRequirements,
  Volume,
  VolumeMount,
} from '../shared/k8s.ts';
import type { FrappeBench } from '../../api/v1alpha1/index.ts';
import { childMeta } from '../shared/meta.ts';
import { KINDS, type Secret, type Service, type StatefulSet } from '../shared/objects.ts';
import { plainContainer, podSpec, podTemplateMeta } from '../shared/pod.ts';
import { canonicalQuantity, parseQuantity } from '../shared/quantity.ts';
import { DEFAULT_RESOURCES } from '../../api/v1alpha1/resources.ts';
import { mergeResources } from '../shared/resources.ts';
import { selectorLabels } from '../shared/labels.ts';
import { componentService } from '../shared/service.ts';
import { childName } from '../shared/naming.ts';
import type { OperatorDefaults } from '../shared/defaults.ts';
import { benchChild, benchLabels, type BenchPlan } from './plan.ts';

export type RedisRole = 'cache' | 'queue';
export const REDIS_ROLES: readonly RedisRole[] = ['cache', 'queue'];
export const REDIS_PORT = 6379;
const EXPORTER_PORT = 9121;
const PASSWORD_DIR = '/etc/redis-auth';
const CONF_DIR = '/redis-conf';
const DATA_DIR = '/data';

/** Where the bench's Redis is and how to authenticate. Addresses are `host:port`. */
export interface RedisEndpoints {
  builtIn: boolean;
  cache: string;
  queue: string;
  password: { secretName: string; key: string } | undefined;
}

/** Redis as the bench resolves it: where it is, its password, and the built-in's settings. */
export interface RedisPlan extends RedisEndpoints {
  /** The password Secret the operator generates (`auth` on, no `secretName`), if any. */
  generatedSecretName: string | undefined;
  image: string;
  resources: ResourceRequirements;
  /** `maxmemory` in bytes: `maxMemory`, else 80 % of the memory limit. */
  maxMemoryBytes: number;
  /** The exporter sidecar's image, when `metrics.enabled`. */
  exporterImage: string | undefined;
  /** redis-queue's PVC (`storageSize`); undefined: no persistence. */
  persistence: { size: string; storageClassName?: string } | undefined;
  /**
   * A hash of the password's content, once read (plan.ts): on the Redis pod template, in
   * bench-init's inputs and on the TriggerAuthentication, so a changed password rolls Redis,
   * re-runs bench-init and shows on KEDA's object together.
   */
  passwordHash?: string;
}

/** Pod template and TriggerAuthentication annotation: a hash of the Redis password's content. */
export const PASSWORD_HASH_ANNOTATION = 'vyogo.tech/redis-password-hash';

/**
 * Why a Redis password cannot be used, or undefined when it can. Redis reads it from a line of
 * redis.conf, and KEDA and the exporter use the Secret's value as it is while redis-server and
 * bench-init see it without a trailing newline: a line break (or NUL) anywhere would corrupt
 * the config or make them disagree. Quotes, backslashes and spaces are escaped (serverScript).
 */
export function redisPasswordProblem(value: Buffer): string | undefined {
  if (value.length === 0) return 'is empty';
  if (value.includes(0x0a) || value.includes(0x0d)) {
    return 'contains a line break (a trailing newline too, as `kubectl create secret --from-file` leaves from a file ending in one)';
  }
  if (value.includes(0)) return 'contains a NUL byte';
  return undefined;
}

export const redisName = (plan: Pick<BenchPlan, 'name'>, role: RedisRole): string =>
  benchChild(plan, `redis-${role}`);

/** Resolve the bench's Redis settings. */
export function redisPlan(
  spec: FrappeBench['spec'],
  bench: string,
  namespace: string,
  defaults: OperatorDefaults,
): RedisPlan {
  const redis = spec.redisConfig;
  const resources = mergeResources(redis?.resources, DEFAULT_RESOURCES.redis);
  const built = {
    generatedSecretName: undefined,
    image: redis?.image ?? defaults.redisImage,
    resources,
    maxMemoryBytes: Math.floor(
      redis?.maxMemory === undefined
        ? parseQuantity(resources.limits?.memory ?? '0') * 0.8
        : parseQuantity(redis.maxMemory),
    ),
    exporterImage:
      redis?.metrics?.enabled === true
        ? (redis.metrics.image ?? defaults.redisExporterImage)
        : undefined,
    persistence:
      redis?.storageSize === undefined
        ? undefined
        : {
            size: canonicalQuantity(redis.storageSize),
            ...(redis.storageClassName === undefined
              ? {}
              : { storageClassName: redis.storageClassName }),
          },
  };
  if (redis?.external === true) {
    const address = `${redis.host ?? ''}:${String(redis.port)}`;
    const ref = redis.connectionSecretRef;
    return {
      ...built,
      builtIn: false,
      cache: address,
      queue: address,
      password:
        ref === undefined ? undefined : { secretName: ref.name, key: ref.key ?? 'password' },
    };
  }
  const host = (role: RedisRole): string =>
    `${childName(bench, `redis-${role}`)}.${namespace}.svc:${REDIS_PORT}`;
  const auth = redis?.auth;
  const generated = childName(bench, 'redis-auth');
  return {
    ...built,
    generatedSecretName:
      auth?.enabled === true && auth.secretName === undefined ? generated : undefined,
    builtIn: true,
    cache: host('cache'),
    queue: host('queue'),
    password:
      auth?.enabled === true
        ? { secretName: auth.secretName ?? generated, key: 'password' }
        : undefined,
  };
}

/** The generated password Secret `name`; `password` comes from a CSPRNG in the reconciler. */
export function redisAuthSecret(plan: BenchPlan, name: string, password: string): Secret {
  return {
    ...KINDS.Secret,
    metadata: childMeta(plan.bench, name, benchLabels(plan, 'redis-queue')),
    type: 'Opaque',
    stringData: { password },
  };
}

const component = (role: RedisRole) => (role === 'cache' ? 'redis-cache' : 'redis-queue');

/** `sh -c` script starting redis-server; the password goes from the Secret file to a config file. */
function serverScript(role: RedisRole, maxMemory: number, persistent: boolean, auth: boolean) {
  const options = [
    `--port ${REDIS_PORT}`,
    `--dir ${DATA_DIR}`,
    `--maxmemory ${maxMemory}`,
    `--maxmemory-policy ${role === 'cache' ? 'allkeys-lru' : 'noeviction'}`,
    "--save ''",
    persistent ? '--appendonly yes --appendfsync everysec' : '--appendonly no',
  ];
  return [
    'set -e',
    'umask 077',
    `: > ${CONF_DIR}/redis.conf`,
    // redis.conf reads a double-quoted string with backslash escapes: \\ and \" are escaped so
    // any password but one with a line break (refused by the reconciler) stays one argument.
    ...(auth
      ? [
          `printf 'requirepass "%s"\\n' "$(sed -e 's/[\\\\"]/\\\\&/g' ${PASSWORD_DIR}/password)" >> ${CONF_DIR}/redis.conf`,
        ]
      : []),
    `exec redis-server ${CONF_DIR}/redis.conf ${options.join(' ')}`,
  ].join('\n');
}

function pingCommand(auth: boolean): string[] {
  const auth_ = auth ? `REDISCLI_AUTH="$(cat ${PASSWORD_DIR}/password)" ` : '';
  return ['sh', '-c', `${auth_}redis-cli -p ${REDIS_PORT} ping | grep -q PONG`];
}

function exporterContainer(image: string, role: RedisRole, endpoints: RedisEndpoints): Container {
  const env: EnvVar[] = [{ name: 'REDIS_ADDR', value: `redis://localhost:${REDIS_PORT}` }];
  if (endpoints.password !== undefined) {
    env.push({
      name: 'REDIS_PASSWORD',
      valueFrom: {
        secretKeyRef: { name: endpoints.password.secretName, key: endpoints.password.key },
      },
    });
  }
  // The queue lengths (`rq:queue:<bench_id>:<queue>`) are what dashboards want.
  if (role === 'queue') env.push({ name: 'REDIS_EXPORTER_CHECK_KEYS', value: 'db0=rq:queue:*' });
  return {
    name: 'metrics',
    image,
    env,
    ports: [{ name: 'metrics', containerPort: EXPORTER_PORT, protocol: 'TCP' }],
    resources: mergeResources(undefined, DEFAULT_RESOURCES.redisExporter),
  };
}

export function redisStatefulSet(plan: BenchPlan, role: RedisRole): StatefulSet {
  const redis = plan.redis;
  const auth = redis.password !== undefined;
  const persistence = role === 'queue' ? redis.persistence : undefined;
  const persistent = persistence !== undefined;
  const labels = benchLabels(plan, component(role));
  // The Redis pods run no Frappe image: the bench's image is only the settings' placeholder.
  const settings = { ...plan.pod, image: plan.image };

  const mounts: VolumeMount[] = [
    { name: 'data', mountPath: DATA_DIR },
    { name: 'conf', mountPath: CONF_DIR },
    ...(auth ? [{ name: 'auth', mountPath: PASSWORD_DIR, readOnly: true }] : []),
  ];
  const volumes: Volume[] = [
    ...(persistent ? [] : [{ name: 'data', emptyDir: {} }]),
    { name: 'conf', emptyDir: {} },
    ...(redis.password === undefined
      ? []
      : [
          {
            name: 'auth',
            secret: {
              secretName: redis.password.secretName,
              items: [{ key: redis.password.key, path: 'password' }],
              defaultMode: 0o440,
            },
          },
        ]),
  ];
  const server: Container = {
    name: 'redis',
    image: redis.image,
    command: ['sh', '-c', serverScript(role, redis.maxMemoryBytes, persistent, auth)],
    ports: [{ name: 'redis', containerPort: REDIS_PORT, protocol: 'TCP' }],
    resources: redis.resources,
    volumeMounts: mounts,
    readinessProbe: {
      exec: { command: pingCommand(auth) },
      periodSeconds: 10,
      timeoutSeconds: 5,
    },
    livenessProbe: {
      tcpSocket: { port: REDIS_PORT },
      initialDelaySeconds: 15,
      periodSeconds: 20,
    },
  };
  const containers = [server];
  if (redis.exporterImage !== undefined) {
    containers.push(exporterContainer(redis.exporterImage, role, redis));
  }
  return {
    ...KINDS.StatefulSet,
    metadata: childMeta(plan.bench, redisName(plan, role), labels),
    spec: {
      serviceName: redisName(plan, role),
      replicas: 1,
      selector: { matchLabels: selectorLabels(plan.name, component(role)) },
      template: {
        metadata: withAnnotation(
          podTemplateMeta(settings, labels),
          PASSWORD_HASH_ANNOTATION,
          redis.passwordHash,
        ),
        spec: podSpec(settings, {
          containers: containers.map((c) => plainContainer(settings, c)),
          volumes,
          mountsSites: false,
        }),
      },
      ...(persistence === undefined
        ? {}
        : {
            volumeClaimTemplates: [
              {
                metadata: { name: 'data', labels },
                spec: {
                  accessModes: ['ReadWriteOnce'],
                  resources: { requests: { storage: persistence.size } },
                  ...(persistence.storageClassName === undefined
                    ? {}
                    : { storageClassName: persistence.storageClassName }),
                },
              },
            ],
          }),
    },
  };
}

/** `meta` with one more annotation, when `value` is defined. */
function withAnnotation<M extends { annotations?: Record<string, string> }>(
  meta: M,
  key: string,
  value: string | undefined,
): M {
  return value === undefined
    ? meta
    : { ...meta, annotations: { ...meta.annotations, [key]: value } };
}

export const redisService = (plan: BenchPlan, role: RedisRole): Service =>
  componentService(
    plan.bench,
    redisName(plan, role),
    benchLabels(plan, component(role)),
    selectorLabels(plan.name, component(role)),
    { name: 'redis', port: REDIS_PORT },
  );

/** The Redis StatefulSets and Services; none with an external Redis. */
export function redisObjects(plan: BenchPlan): (StatefulSet | Service)[] {
  if (!plan.redis.builtIn) return [];
  return REDIS_ROLES.flatMap((role) => [redisStatefulSet(plan, role), redisService(plan, role)]);
}
