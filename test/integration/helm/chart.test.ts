// The Helm chart charts/frappe-operator (docs/helm.md) with a real helm (test/harness/helm.ts)
// and the run's control plane:
//
// - `helm lint` and `helm lint --strict` pass, with the default values and with every option on;
// - the drift test: `helm template` with the default values renders exactly the objects of
//   config/install.yaml (but the Namespace, which createNamespace=true adds), and the monitors
//   those of config/prometheus and config/grafana, once Helm's own labels are set aside
//   (normalise(): helm.sh/chart, app.kubernetes.io/instance, /version, /managed-by: Helm, in
//   metadata.labels only; YAML comments and document order do not count) — every other field,
//   of every object, must be equal;
// - values reach the objects: operatorConfig as the FRAPPE_* env of CONFIG_SPEC (which the
//   operator's own parser reads back), replicas and leader election, image, resources,
//   scheduling, ServiceAccount, monitors with extra labels; wrong values fail the render;
// - `helm install` into a namespace of this test (restricted Pod Security enforced, a release
//   name of its own so that its cluster-scoped objects are its own too) creates every object and
//   the manager rolls out; `helm upgrade` adds the monitors (fixture CRDs of src/dev/crds) and a
//   setting, and keeps ConfigMap data an admin set with kubectl; `helm uninstall` removes the
//   release's cluster-scoped objects and leaves the CRDs, which other tests use.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse as parseYaml, stringify } from 'yaml';
import { KINDS } from '../../../src/api/v1alpha1/index.ts';
import {
  CONFIG_KEYS,
  CONFIG_SPEC,
  parseOperatorConfig,
  type ConfigKey,
} from '../../../src/config/operator-config.ts';
import { CHART_DIR } from '../../../src/deploy/chart.ts';
import {
  CONFIGMAP_NAME,
  MANAGER_CONTAINER,
  NAMESPACE,
  OPERATOR_IMAGE,
  OPERATOR_VERSION,
  PREFIX,
} from '../../../src/deploy/names.ts';
import { eventually } from '../../harness/eventually.ts';
import { testHelm, type TestHelm } from '../../harness/helm.ts';
import { kubectl } from '../../harness/kubectl.ts';
import {
  applyFixtureCrds,
  applyOurCrds,
  createTestNamespace,
  deleteNamespace,
} from '../../harness/namespace.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CHART = join(ROOT, CHART_DIR);
const RELEASE = PREFIX;

/** What a Kubernetes object of a render or a file needs to be compared. */
interface Obj {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}

interface ContainerSpec {
  name: string;
  image: string;
  imagePullPolicy?: string;
  args: string[];
  env: EnvVar[];
  resources: unknown;
}

interface DeploymentObj extends Obj {
  spec: {
    replicas: number;
    selector: unknown;
    template: {
      metadata: { labels: Record<string, string>; annotations: Record<string, string> };
      spec: {
        serviceAccountName: string;
        containers: ContainerSpec[];
        imagePullSecrets?: { name: string }[];
        nodeSelector?: Record<string, string>;
        tolerations?: unknown[];
        affinity?: unknown;
        priorityClassName?: string;
      };
    };
  };
}

/** Helm's standard labels and the value each has in a release `release` of this chart. */
function helmLabels(release: string): Record<string, string> {
  return {
    'helm.sh/chart': `${PREFIX}-0.1.0`,
    'app.kubernetes.io/instance': release,
    'app.kubernetes.io/version': OPERATOR_VERSION,
    'app.kubernetes.io/managed-by': 'Helm',
  };
}

/**
 * `obj` without Helm's standard labels in its metadata; fails if any is missing or has another
 * value (they are the only difference the drift test forgives). CRDs, which Helm installs from
 * crds/ as they are (no templating), have none.
 */
function normalise(obj: Obj, release = RELEASE): Obj {
  const copy = structuredClone(obj);
  const labels = copy.metadata.labels ?? {};
  for (const [label, value] of Object.entries(helmLabels(release))) {
    const expected = obj.kind === 'CustomResourceDefinition' ? undefined : value;
    assert.equal(labels[label], expected, `${key(obj)}: label ${label}`);
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete
    delete labels[label];
  }
  return copy;
}

const key = (o: Obj): string =>
  `${o.kind} ${o.metadata.namespace === undefined ? '' : `${o.metadata.namespace}/`}${o.metadata.name}`;

/** The objects of a multi-document YAML text (empty documents dropped). */
function objects(text: string): Obj[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

/** Sorted by kind, namespace and name: two sets of objects compare whatever their order. */
const sorted = (objs: Obj[]): Obj[] => [...objs].sort((a, b) => key(a).localeCompare(key(b)));

/** Asserts that two sets of objects are the same, naming the first object that differs. */
function assertSameObjects(actual: Obj[], expected: Obj[], what: string): void {
  assert.deepEqual(sorted(actual).map(key), sorted(expected).map(key), `${what}: the objects`);
  const byKey = new Map(expected.map((o) => [key(o), o]));
  for (const o of actual) assert.deepEqual(o, byKey.get(key(o)), `${what}: ${key(o)}`);
}

/** kubectl's name of the kind of `o`, e.g. `clusterrole.rbac.authorization.k8s.io`. */
function resource(o: Obj): string {
  const slash = o.apiVersion.indexOf('/');
  return slash < 0
    ? o.kind.toLowerCase()
    : `${o.kind.toLowerCase()}.${o.apiVersion.slice(0, slash)}`;
}

const readObjects = async (path: string): Promise<Obj[]> =>
  objects(await readFile(join(ROOT, path), 'utf8'));

let helm: TestHelm | undefined;
const h = (): TestHelm => helm ?? assert.fail('helm did not start (before hook)');

/** `helm template` of the chart as release `frappe-operator` in the install bundle's namespace. */
async function render(args: string[] = []): Promise<Obj[]> {
  const res = await h().run([
    'template',
    RELEASE,
    CHART,
    '--namespace',
    NAMESPACE,
    '--include-crds',
    ...args,
  ]);
  return objects(res.stdout);
}

function find(objs: Obj[], kind: string, name?: string): Obj {
  const found = objs.find(
    (o) => o.kind === kind && (name === undefined || o.metadata.name === name),
  );
  return found ?? assert.fail(`no ${kind} ${name ?? ''} in ${objs.map(key).join(', ')}`);
}

const deployment = (objs: Obj[]): DeploymentObj => find(objs, 'Deployment') as DeploymentObj;

function manager(objs: Obj[]): ContainerSpec {
  const d = deployment(objs);
  return (
    d.spec.template.spec.containers.find((c) => c.name === MANAGER_CONTAINER) ??
    assert.fail('no manager container')
  );
}

const envOf = (c: ContainerSpec): Map<string, string | undefined> =>
  new Map(c.env.map((e) => [e.name, e.value]));

/** Every monitor on, with extra labels, as a values file. */
const MONITORS = {
  metrics: {
    serviceMonitor: { enabled: true, labels: { release: 'prometheus' } },
    podMonitor: { enabled: true, labels: { release: 'prometheus' } },
    prometheusRule: { enabled: true, labels: { release: 'prometheus' } },
    grafanaDashboard: { enabled: true, labels: { team: 'ops' } },
  },
};

/** A valid value of every operator setting, none the default, as the chart's values take them. */
const EVERY_SETTING: Record<ConfigKey, unknown> = {
  maxConcurrentSiteReconciles: 7,
  maxConcurrentReconciles: 3,
  defaultFrappeImage: 'registry.example.com/frappe/erpnext:v15.9.0',
  enforceHTTPS: true,
  defaultClusterIssuer: 'letsencrypt',
  defaultIngressClassName: 'nginx',
  defaultRedisImage: 'registry.example.com/redis:7.4',
  defaultRedisExporterImage: 'registry.example.com/redis_exporter:v1.62.0',
  defaultStatsdExporterImage: 'registry.example.com/statsd-exporter:v0.31.0',
  defaultMariaDBImage: 'registry.example.com/mariadb:10.11',
  metricsAuth: 'none',
  watchNamespaces: ['production', 'staging'],
  // An OpenShift-range UID: YAML numbers reach the templates as float64.
  defaultUID: 1000680000,
  defaultGID: 0,
  defaultFSGroup: 2000,
  isOpenShift: false,
  operatorImage: 'registry.example.com/frappe-operator:agent',
  logLevel: 'debug',
};

let valuesDir: string | undefined;

/** Writes `values` to a file of this test and returns `-f <file>`. */
async function valuesFile(name: string, values: unknown): Promise<string[]> {
  const dir = valuesDir ?? assert.fail('no values dir (before hook)');
  const path = join(dir, `${name}.yaml`);
  await writeFile(path, stringify(values));
  return ['-f', path];
}

before(async () => {
  helm = await testHelm();
  valuesDir = await mkdtemp(join(tmpdir(), 'frappe-helm-values-'));
});

after(async () => {
  await helm?.close();
  if (valuesDir !== undefined) await rm(valuesDir, { recursive: true, force: true });
});

describe('charts/frappe-operator', () => {
  it('passes helm lint, also --strict and with every option on', async () => {
    const all = await valuesFile('lint', {
      ...MONITORS,
      createNamespace: true,
      replicaCount: 2,
      operatorConfig: EVERY_SETTING,
    });
    for (const args of [[], ['--strict'], ['--strict', ...all]]) {
      const res = await h().run(['lint', CHART, ...args]);
      assert.match(res.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  it('renders with the default values exactly the objects of config/install.yaml (drift test)', async () => {
    const install = await readObjects('config/install.yaml');
    const chart = (await render()).map((o) => normalise(o));
    // Helm's convention: the release namespace exists before the install (createNamespace).
    assertSameObjects(
      chart,
      install.filter((o) => o.kind !== 'Namespace'),
      'helm template (defaults) vs config/install.yaml',
    );
    const withNamespace = (await render(['--set', 'createNamespace=true'])).map((o) =>
      normalise(o),
    );
    assertSameObjects(withNamespace, install, 'createNamespace=true vs config/install.yaml');
    // crds/ is config/crd/bases, and the image is the bundle's.
    assert.deepEqual(
      chart
        .filter((o) => o.kind === 'CustomResourceDefinition')
        .map((o) => o.metadata.name)
        .sort(),
      KINDS.map((k) => `${k.plural}.${k.group}`).sort(),
    );
    assert.equal(manager(chart).image, OPERATOR_IMAGE);
  });

  it('renders the monitors of config/prometheus and config/grafana when enabled', async () => {
    const objs = await render(await valuesFile('monitors', MONITORS));
    const extra = { release: 'prometheus' };
    for (const file of ['monitor.yaml', 'pod_monitor.yaml', 'prometheus_rule.yaml']) {
      const [expected] = await readObjects(`config/prometheus/${file}`);
      assert.ok(expected, file);
      const rendered = find(objs, expected.kind, expected.metadata.name);
      const labels = normalise(rendered).metadata.labels ?? {};
      assert.deepEqual(labels, { ...expected.metadata.labels, ...extra }, `${file} labels`);
      assert.deepEqual(
        { ...normalise(rendered), metadata: { ...rendered.metadata, labels: {} } },
        { ...expected, metadata: { ...expected.metadata, labels: {} } },
        file,
      );
    }
    const dashboard = find(objs, 'ConfigMap', `${PREFIX}-grafana-dashboard`);
    assert.equal(dashboard.metadata.namespace, NAMESPACE);
    assert.equal(dashboard.metadata.labels?.['grafana_dashboard'], '1');
    assert.equal(dashboard.metadata.labels['team'], 'ops');
    const data = (dashboard as Obj & { data: Record<string, string> }).data;
    assert.deepEqual(
      JSON.parse(data[`${PREFIX}.json`] ?? '{}'),
      JSON.parse(await readFile(join(ROOT, 'config/grafana/frappe-operator.json'), 'utf8')),
    );
    // Off by default.
    const defaults = await render();
    for (const kind of ['ServiceMonitor', 'PodMonitor', 'PrometheusRule']) {
      assert.equal(defaults.filter((o) => o.kind === kind).length, 0, kind);
    }
  });

  it('passes operatorConfig as the FRAPPE_* env of CONFIG_SPEC, which the operator reads back', async () => {
    const values = parseYaml(await readFile(join(CHART, 'values.yaml'), 'utf8')) as {
      operatorConfig: Record<string, unknown>;
    };
    assert.deepEqual(Object.keys(values.operatorConfig).sort(), [...CONFIG_KEYS].sort());

    const objs = await render(await valuesFile('settings', { operatorConfig: EVERY_SETTING }));
    const env = envOf(manager(objs));
    for (const k of CONFIG_KEYS)
      assert.ok(env.has(CONFIG_SPEC[k].env), `${k}: ${CONFIG_SPEC[k].env}`);
    const parsed = parseOperatorConfig({ env: Object.fromEntries(env) });
    assert.deepEqual(parsed.errors, []);
    for (const k of CONFIG_KEYS) {
      assert.equal(parsed.sources[k], 'env', k);
      assert.deepEqual(parsed.config[k], EVERY_SETTING[k], k);
    }
    // --set, as the Operations Guide's operatorConfig.maxConcurrentSiteReconciles; a string list.
    const set = await render([
      '--set',
      'operatorConfig.maxConcurrentSiteReconciles=7',
      '--set',
      'operatorConfig.watchNamespaces=production\\,staging',
    ]);
    const setEnv = envOf(manager(set));
    assert.equal(setEnv.get('FRAPPE_MAX_CONCURRENT_SITE_RECONCILES'), '7');
    assert.equal(setEnv.get('FRAPPE_WATCH_NAMESPACES'), 'production,staging');
    // Unset settings are not in the env at all (the operator's defaults apply).
    const defaults = envOf(manager(await render()));
    assert.deepEqual(
      [...defaults.keys()],
      ['FRAPPE_OPERATOR_NAMESPACE', 'FRAPPE_OPERATOR_IMAGE', 'NODE_OPTIONS'],
    );
  });

  it('renders replicas, leader election, image, resources, scheduling and the ServiceAccount', async () => {
    // Helm merges maps with the defaults; null removes a default (here the CPU limit).
    const resources = {
      requests: { cpu: '200m', memory: '256Mi' },
      limits: { cpu: null, memory: '1Gi' },
    };
    const objs = await render(
      await valuesFile('deployment', {
        replicaCount: 2,
        image: {
          repository: 'registry.example.com/frappe-operator',
          tag: '0.2.0',
          pullPolicy: 'Always',
        },
        imagePullSecrets: [{ name: 'registry' }],
        resources,
        nodeOptions: '--max-semi-space-size=1 --max-old-space-size=256',
        nodeSelector: { 'kubernetes.io/os': 'linux' },
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'ops', effect: 'NoSchedule' }],
        affinity: { nodeAffinity: {} },
        priorityClassName: 'system-cluster-critical',
        podAnnotations: { 'example.com/team': 'ops' },
        podLabels: { team: 'ops' },
        serviceAccount: { name: 'operator', annotations: { 'example.com/role': 'x' } },
        extraEnv: [{ name: 'HTTPS_PROXY', value: 'http://proxy:3128' }],
      }),
    );
    const d = deployment(objs);
    const c = manager(objs);
    const image = 'registry.example.com/frappe-operator:0.2.0';
    assert.equal(d.spec.replicas, 2);
    assert.ok(c.args.includes('--leader-elect=true'), c.args.join(' '));
    assert.equal(c.image, image);
    assert.equal(c.imagePullPolicy, 'Always');
    assert.equal(envOf(c).get('FRAPPE_OPERATOR_IMAGE'), image);
    assert.equal(envOf(c).get('NODE_OPTIONS'), '--max-semi-space-size=1 --max-old-space-size=256');
    assert.equal(envOf(c).get('HTTPS_PROXY'), 'http://proxy:3128');
    assert.deepEqual(c.resources, {
      requests: { cpu: '200m', memory: '256Mi' },
      limits: { memory: '1Gi' },
    });
    const pod = d.spec.template;
    assert.deepEqual(pod.spec.imagePullSecrets, [{ name: 'registry' }]);
    assert.deepEqual(pod.spec.nodeSelector, { 'kubernetes.io/os': 'linux' });
    assert.equal(pod.spec.tolerations?.length, 1);
    assert.deepEqual(pod.spec.affinity, { nodeAffinity: {} });
    assert.equal(pod.spec.priorityClassName, 'system-cluster-critical');
    assert.equal(pod.metadata.annotations['example.com/team'], 'ops');
    assert.equal(pod.metadata.annotations['kubectl.kubernetes.io/default-container'], 'manager');
    assert.equal(pod.metadata.labels['team'], 'ops');
    assert.deepEqual(d.spec.selector, {
      matchLabels: { 'app.kubernetes.io/name': PREFIX, 'control-plane': 'controller-manager' },
    });
    assert.equal(pod.spec.serviceAccountName, 'operator');
    const sa = find(objs, 'ServiceAccount');
    assert.equal(sa.metadata.name, 'operator');
    assert.equal(sa.metadata.annotations?.['example.com/role'], 'x');
    for (const kind of ['ClusterRoleBinding', 'RoleBinding']) {
      const b = find(objs, kind) as Obj & { subjects?: { name: string }[] };
      assert.deepEqual(
        b.subjects?.map((s) => s.name),
        ['operator'],
        kind,
      );
    }
    // Someone else's ServiceAccount: none created, still bound.
    const external = await render(['--set', 'serviceAccount.create=false,serviceAccount.name=ext']);
    assert.equal(external.filter((o) => o.kind === 'ServiceAccount').length, 0);
    assert.equal(deployment(external).spec.template.spec.serviceAccountName, 'ext');
    // Leader election off is fine for one replica, refused for two.
    const single = await render(['--set', 'leaderElection.enabled=false']);
    assert.ok(manager(single).args.includes('--leader-elect=false'));
  });

  it('refuses values that cannot work', async () => {
    const refused = async (args: string[], message: RegExp) => {
      const res = await h().run(['template', RELEASE, CHART, '--namespace', NAMESPACE, ...args], {
        allowFailure: true,
      });
      assert.notEqual(res.code, 0, args.join(' '));
      assert.match(res.stderr, message);
    };
    await refused(
      ['--set', 'replicaCount=2,leaderElection.enabled=false'],
      /replicaCount > 1 needs leaderElection.enabled=true/,
    );
    await refused(
      ['--set', 'operatorConfig.maxSites=3'],
      /operatorConfig.maxSites: unknown setting/,
    );
  });
});

describe('helm install, upgrade and uninstall on the control plane', () => {
  let namespace: string | undefined;
  const ns = (): string => namespace ?? assert.fail('no namespace (before hook)');
  // A release name of this test: its ClusterRoles and ClusterRoleBinding are its own.
  const release = `fo-${randomBytes(4).toString('hex')}`;
  const fullname = `${release}-${PREFIX}`;
  const installed = { value: false };

  before(async () => {
    namespace = await createTestNamespace('helm-chart', {
      // The manager's pod must pass the standard install.yaml's namespace enforces.
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
    await applyFixtureCrds(['monitoring']);
    // Other tests apply the CRDs with their own field manager; helm's server-side apply of the
    // chart's crds/ then conflicts on any field whose value differs (a CRD of an older
    // checkout on a reused cluster). Applying the checkout's CRDs first makes them agree.
    await applyOurCrds();
  });

  after(async () => {
    if (installed.value) {
      await h().run(['uninstall', release, '--namespace', ns()], { allowFailure: true });
    }
    if (namespace !== undefined) await deleteNamespace(namespace);
  });

  const get = async (args: string[]): Promise<Obj> =>
    JSON.parse((await kubectl(['get', ...args, '-o', 'json'], { namespace: ns() })).stdout) as Obj;

  it(
    'installs the default chart: every object, and the manager rolls out',
    { timeout: 300_000 },
    async () => {
      await h().run(['install', release, CHART, '--namespace', ns()]);
      installed.value = true;
      const expected = (
        await h().run(['template', release, CHART, '--namespace', ns(), '--include-crds'])
      ).stdout;
      for (const o of objects(expected)) {
        const live = await get([resource(o), o.metadata.name]);
        assert.equal(live.metadata.name, o.metadata.name);
      }
      const binding = (await get([
        'clusterrolebinding',
        `${fullname}-manager-rolebinding`,
      ])) as Obj & {
        subjects: { namespace: string; name: string }[];
      };
      assert.deepEqual(binding.subjects, [
        { kind: 'ServiceAccount', name: `${fullname}-controller-manager`, namespace: ns() },
      ]);
      await kubectl(
        [
          'wait',
          '--for=condition=Available',
          '--timeout=180s',
          `deployment/${fullname}-controller-manager`,
        ],
        { namespace: ns() },
      );
      const rejected = await kubectl(
        ['get', 'events', '--field-selector=reason=FailedCreate', '-o', 'name'],
        { namespace: ns() },
      );
      assert.equal(rejected.stdout.trim(), '', 'a pod was refused (restricted Pod Security?)');
    },
  );

  it(
    'upgrades: monitors and a setting added, the admin’s ConfigMap data kept',
    { timeout: 300_000 },
    async () => {
      assert.ok(installed.value, 'installed by the previous test');
      await kubectl(
        [
          'patch',
          'configmap',
          CONFIGMAP_NAME,
          '--type=merge',
          '-p',
          '{"data":{"logLevel":"debug"}}',
        ],
        { namespace: ns() },
      );
      await h().run([
        'upgrade',
        release,
        CHART,
        '--namespace',
        ns(),
        ...(await valuesFile('upgrade', MONITORS)),
        '--set',
        'operatorConfig.maxConcurrentSiteReconciles=7',
      ]);
      await get(['servicemonitor.monitoring.coreos.com', fullname]);
      await get(['podmonitor.monitoring.coreos.com', 'frappe-benches']);
      await get(['prometheusrule.monitoring.coreos.com', `${fullname}-alerts`]);
      await get(['configmap', `${fullname}-grafana-dashboard`]);
      const cm = (await get(['configmap', CONFIGMAP_NAME])) as Obj & {
        data?: Record<string, string>;
      };
      assert.deepEqual(cm.data, { logLevel: 'debug' });
      const d = (await get(['deployment', `${fullname}-controller-manager`])) as DeploymentObj;
      assert.equal(
        envOf(d.spec.template.spec.containers[0] ?? assert.fail('no container')).get(
          'FRAPPE_MAX_CONCURRENT_SITE_RECONCILES',
        ),
        '7',
      );
      await kubectl(
        ['rollout', 'status', '--timeout=180s', `deployment/${fullname}-controller-manager`],
        { namespace: ns() },
      );
    },
  );

  it(
    'uninstalls: the release’s cluster-scoped objects go, the CRDs stay',
    { timeout: 300_000 },
    async () => {
      assert.ok(installed.value, 'installed by the first test');
      await h().run(['uninstall', release, '--namespace', ns(), '--wait']);
      installed.value = false;
      await eventually(
        async () => {
          const left = await kubectl([
            'get',
            'clusterroles,clusterrolebindings',
            '-l',
            `app.kubernetes.io/instance=${release}`,
            '-o',
            'name',
          ]);
          assert.equal(left.stdout.trim(), '');
        },
        { timeout: 60_000, message: 'cluster-scoped objects of the release left' },
      );
      for (const k of KINDS) await kubectl(['get', 'crd', `${k.plural}.${k.group}`]);
    },
  );
});
