// fast-check generators of FrappeBench specs within the admission rules of API.md §6 (B0–B23),
// and of the context the reconciler hands the builders (OpenShift or not, env-set IDs, KEDA
// present or not, Deployments handed to an autoscaler or not, bench-init done or pending).
import fc from 'fast-check';
import type { FrappeBench } from '../../../../src/api/v1alpha1/index.ts';
import type { Stored } from '../../../../src/kube/informer.ts';
import type { BenchContext, DeploymentState } from '../../../../src/controllers/bench/context.ts';
import { DEPLOYMENT_COMPONENTS } from '../../../../src/controllers/bench/context.ts';
import { context, stored } from './fixtures.ts';

const opt = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.option(arb, { nil: undefined });

const dnsLabel = (max: number) =>
  fc.stringMatching(new RegExp(`^[a-z]([-a-z0-9]{0,${max - 2}}[a-z0-9])?$`));

// Both lists ascend: a pair takes its request from the lower index.
const CPU = ['10m', '100m', '250m', '500m', '1', 2, '3', 4];
const MEMORY = ['16Mi', '128Mi', '256Mi', '512Mi', '1Gi', '2Gi', '4Gi', '8Gi'];

/** A request/limit pair of one resource with request ≤ limit; either may be absent. */
function resourcePair(values: readonly (string | number)[]) {
  return fc
    .tuple(
      fc.integer({ min: 0, max: values.length - 1 }),
      fc.integer({ min: 0, max: values.length - 1 }),
    )
    .chain(([a, b]) => {
      const [lo, hi] = [values[Math.min(a, b)], values[Math.max(a, b)]];
      return fc.record({ request: opt(fc.constant(lo)), limit: opt(fc.constant(hi)) });
    });
}

export const resources = fc
  .record({ cpu: resourcePair(CPU), memory: resourcePair(MEMORY) })
  .map(({ cpu, memory }) => {
    const pick = (k: 'request' | 'limit') =>
      Object.fromEntries(
        [
          ['cpu', cpu[k]],
          ['memory', memory[k]],
        ].filter(([, v]) => v !== undefined),
      ) as Record<string, string | number>;
    const requests = pick('request');
    const limits = pick('limit');
    return {
      ...(Object.keys(requests).length > 0 ? { requests } : {}),
      ...(Object.keys(limits).length > 0 ? { limits } : {}),
    };
  });

function autoscaling(component: string) {
  const worker = component.startsWith('worker-');
  return fc
    .record({
      enabled: fc.boolean(),
      provider: fc.constantFrom('hpa', 'keda'),
      staticReplicas: fc.integer({ min: 0, max: 5 }),
      min: fc.integer({ min: 0, max: 5 }),
      span: fc.integer({ min: 0, max: 10 }),
      trigger: opt(fc.constantFrom(...(worker ? ['redis', 'cpu', 'memory'] : ['cpu', 'memory']))),
      metadata: opt(
        fc.dictionary(fc.constantFrom('listLength', 'host', 'extra'), fc.string({ maxLength: 8 })),
      ),
    })
    .map((a) => {
      const minReplicas = a.provider === 'hpa' ? Math.max(1, a.min) : a.min;
      return {
        enabled: a.enabled,
        provider: a.provider,
        staticReplicas: a.staticReplicas,
        minReplicas,
        maxReplicas: Math.max(1, minReplicas + a.span),
        ...(a.provider === 'keda'
          ? {
              keda: {
                ...(a.trigger === undefined ? {} : { trigger: a.trigger }),
                ...(a.metadata === undefined ? {} : { metadata: a.metadata }),
              },
            }
          : { hpa: { metric: 'memory', targetUtilization: 80 } }),
      };
    });
}

const componentAutoscaling = fc
  .subarray(['gunicorn', 'nginx', 'socketio', 'worker-default', 'worker-short', 'worker-long'])
  .chain((keys) => fc.tuple(...keys.map((k) => autoscaling(k).map((v) => [k, v] as const))))
  .map((entries) => Object.fromEntries(entries));

const componentResources = fc.record(
  {
    gunicorn: resources,
    nginx: resources,
    socketio: resources,
    scheduler: resources,
    workerDefault: resources,
    workerShort: resources,
    workerLong: resources,
  },
  { requiredKeys: [] },
);

const security = fc.record(
  {
    podSecurityContext: fc.record(
      {
        runAsUser: fc.integer({ min: 1, max: 65535 }),
        runAsGroup: fc.integer({ min: 0, max: 65535 }),
        fsGroup: fc.integer({ min: 0, max: 65535 }),
        runAsNonRoot: fc.constant(true),
        seccompProfile: fc.constantFrom(
          { type: 'RuntimeDefault' },
          { type: 'Localhost', localhostProfile: 'p.json' },
        ),
      },
      { requiredKeys: [] },
    ),
    securityContext: fc.record(
      {
        runAsUser: fc.integer({ min: 1, max: 65535 }),
        allowPrivilegeEscalation: fc.constant(false),
        readOnlyRootFilesystem: fc.boolean(),
        capabilities: fc.record(
          { add: fc.constant(['NET_BIND_SERVICE']), drop: fc.constantFrom(['ALL'], ['NET_RAW']) },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);

const APP = fc.constantFrom('erpnext', 'hrms', 'payments', 'custom_app');

const redisConfig = fc.oneof(
  fc.record({
    external: fc.constant(true),
    host: fc.constantFrom('redis.example.com', '10.0.0.5'),
    port: fc.integer({ min: 1, max: 65535 }),
    connectionSecretRef: opt(fc.record({ name: fc.constant('redis-pw') })),
  }),
  fc.record(
    {
      auth: fc.record({ enabled: fc.boolean(), secretName: opt(fc.constant('my-redis')) }),
      metrics: fc.record({ enabled: fc.boolean() }),
      storageSize: fc.constantFrom('1Gi', '5Gi'),
      resources,
      maxMemory: fc.constantFrom('256Mi', '1G'),
    },
    { requiredKeys: [] },
  ),
);

const spec = fc.record(
  {
    frappeVersion: fc.constantFrom('15', '15.1.0', 'version-15', 'develop', 'v14.3.2'),
    imageConfig: fc.record(
      {
        repository: fc.constantFrom('docker.io/frappe/erpnext', 'registry.local:5000/acme/erp'),
        tag: fc.constantFrom('v15.1.0', 'custom'),
        pullPolicy: fc.constantFrom('Always', 'IfNotPresent', 'Never'),
        pullSecrets: fc.constant([{ name: 'regcred' }]),
      },
      { requiredKeys: [] },
    ),
    apps: fc
      .uniqueArray(APP, { maxLength: 3 })
      .map((names) => names.map((name) => ({ name, version: '15.0.0' }))),
    appsJSON: fc.uniqueArray(APP, { maxLength: 3 }).map((a) => JSON.stringify(a)),
    componentResources,
    componentAutoscaling,
    gunicorn: fc.record(
      {
        workers: fc.integer({ min: 1, max: 64 }),
        threads: fc.integer({ min: 1, max: 64 }),
        timeout: fc.integer({ min: 1, max: 3600 }),
      },
      { requiredKeys: [] },
    ),
    nginx: fc.record(
      {
        upstreamRealIPAddress: fc.constantFrom('127.0.0.1', '10.0.0.0/8', 'fd00::/8'),
        upstreamRealIPHeader: fc.constantFrom('X-Forwarded-For', 'X-Real-IP'),
        upstreamRealIPRecursive: fc.constantFrom('on', 'off'),
      },
      { requiredKeys: [] },
    ),
    security,
    storageAccessMode: fc.constantFrom('ReadWriteMany', 'ReadWriteOnce'),
    storageSize: fc.constantFrom('1Gi', '50Gi', 100),
    storageRetentionPolicy: fc.constantFrom('Retain', 'Delete'),
    redisConfig,
    commonSiteConfig: fc.dictionary(
      fc.constantFrom('host_name', 'maintenance_mode', 'limits'),
      fc.constantFrom('1', 'x', '{"a":1}'),
    ),
    podConfig: fc.record(
      {
        labels: fc.dictionary(fc.constantFrom('team', 'tier'), fc.constantFrom('a', 'b')),
        annotations: fc.dictionary(
          fc.constantFrom('example.com/a', 'note'),
          fc.string({ maxLength: 10 }),
        ),
        nodeSelector: fc.constant({ pool: 'frappe' }),
        tolerations: fc.constant([{ key: 'k', operator: 'Exists' }]),
        priorityClassName: fc.constant('high'),
        serviceAccountName: fc.constant('frappe'),
      },
      { requiredKeys: [] },
    ),
    podDisruptionBudget: fc.record(
      { enabled: fc.boolean(), maxUnavailable: fc.constantFrom(1, 2, '50%') },
      { requiredKeys: [] },
    ),
    jobResources: fc.record({ benchInit: resources, default: resources }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);

export const bench: fc.Arbitrary<Stored<FrappeBench>> = fc
  .record({ name: dnsLabel(40), namespace: dnsLabel(63), spec })
  .map(({ name, namespace, spec }) =>
    stored({
      apiVersion: 'vyogo.tech/v1alpha1',
      kind: 'FrappeBench',
      metadata: { name, namespace },
      spec,
    }),
  );

const deploymentState: fc.Arbitrary<DeploymentState> = fc.record({
  replicas: opt(fc.integer({ min: 0, max: 20 })),
  autoscalerOwnsReplicas: fc.boolean(),
  versionLabel: opt(fc.constantFrom('version-14', 'v15.0.0')),
});

export const benchContext: fc.Arbitrary<BenchContext> = fc
  .record({
    isOpenShift: fc.boolean(),
    uid: fc.integer({ min: 1, max: 65535 }),
    uidSet: fc.boolean(),
    gidSet: fc.boolean(),
    fsGroupSet: fc.boolean(),
    kedaAvailable: fc.boolean(),
    deployments: fc.dictionary(fc.constantFrom(...DEPLOYMENT_COMPONENTS), deploymentState),
    initRecord: opt(
      fc.record({
        image: fc.constantFrom('docker.io/frappe/erpnext:version-14'),
        inputsHash: fc.constant('0'),
      }),
    ),
  })
  .map((c) => {
    const base = context();
    return {
      ...base,
      defaults: {
        ...base.defaults,
        isOpenShift: c.isOpenShift,
        security: {
          uid: c.uid,
          gid: 0,
          fsGroup: 0,
          uidSet: c.uidSet,
          gidSet: c.gidSet,
          fsGroupSet: c.fsGroupSet,
        },
      },
      kedaAvailable: c.kedaAvailable,
      deployments: c.deployments,
      initRecord: c.initRecord,
    };
  });

const ALPHANUMERIC = Array.from({ length: 36 }, (_, i) => i.toString(36));

/** A distinctive secret value: long enough never to occur in an object by chance. */
export const secretValue: fc.Arbitrary<string> = fc
  .string({
    minLength: 16,
    maxLength: 40,
    unit: fc.constantFrom(...ALPHANUMERIC),
  })
  .map((s) => `s3cr3t-${s}`);
