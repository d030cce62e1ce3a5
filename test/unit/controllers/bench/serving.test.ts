// The serving containers against the official images and chart (API.md §3.2): every container
// runs an explicit command, never the image's ENTRYPOINT/CMD (frappe/erpnext images since 2026-04
// have an entrypoint that replaces sites/assets with a symlink, which fails on the mounted
// volume); gunicorn runs the official argv with spec.gunicorn; nginx gets the environment
// nginx-entrypoint.sh reads, with spec.nginx; the probes; nginx's writable directories.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FrappeBench } from '../../../../src/api/v1alpha1/index.ts';
import { componentDeployment } from '../../../../src/controllers/bench/components.ts';
import { benchChildren } from '../../../../src/controllers/bench/children.ts';
import { benchInitRequest } from '../../../../src/controllers/bench/init.ts';
import { STATSD_EXPORTER_ARGS, STATSD_MAPPING } from '../../../../src/controllers/bench/statsd.ts';
import {
  DEPLOYMENT_COMPONENTS,
  type DeploymentComponent,
} from '../../../../src/controllers/bench/context.ts';
import type { Container } from '../../../../src/controllers/shared/k8s.ts';
import type { Stored } from '../../../../src/kube/informer.ts';
import { context, initialized, planOf, prodBench, prodBenchManifest, stored } from './fixtures.ts';

const withSpec = (spec: Record<string, unknown>): Stored<FrappeBench> =>
  stored({ ...prodBenchManifest, spec: { ...prodBenchManifest.spec, ...spec } });

function container(bench: Stored<FrappeBench>, component: DeploymentComponent): Container {
  const d = componentDeployment(planOf(bench, context(initialized())), component);
  const c = d.spec.template.spec?.containers[0];
  assert.ok(c !== undefined);
  return c;
}

const env = (c: Container): Record<string, string | undefined> =>
  Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));

test('every container of every Deployment runs an explicit command, never the image entrypoint', () => {
  const commands = Object.fromEntries(
    DEPLOYMENT_COMPONENTS.map((c) => [c, container(prodBench(), c).command?.[0]]),
  );
  // frappe_docker compose.yaml and frappe/helm erpnext/templates/deployment-*.yaml.
  assert.deepEqual(commands, {
    gunicorn: '/home/frappe/frappe-bench/env/bin/gunicorn',
    nginx: 'nginx-entrypoint.sh',
    socketio: 'node',
    scheduler: 'bench',
    'worker-default': 'bench',
    'worker-short': 'bench',
    'worker-long': 'bench',
  });
  for (const c of DEPLOYMENT_COMPONENTS) {
    assert.equal(container(prodBench(), c).args, undefined, `${c}: no args`);
  }
});

test('socketio, scheduler and workers: the official argv (frappe_docker compose, frappe/helm)', () => {
  const argv = (c: DeploymentComponent) => container(prodBench(), c).command;
  assert.deepEqual(argv('socketio'), ['node', '/home/frappe/frappe-bench/apps/frappe/socketio.js']);
  assert.deepEqual(argv('scheduler'), ['bench', 'schedule']);
  assert.deepEqual(argv('worker-default'), ['bench', 'worker', '--queue', 'default']);
  assert.deepEqual(argv('worker-short'), ['bench', 'worker', '--queue', 'short']);
  assert.deepEqual(argv('worker-long'), ['bench', 'worker', '--queue', 'long']);
});

test('every Frappe container: HOME on an emptyDir outside /home/frappe, run in the bench directory', () => {
  const plan = planOf(prodBench(), context(initialized()));
  const pods = [
    ...DEPLOYMENT_COMPONENTS.map((c) => componentDeployment(plan, c).spec.template.spec),
    benchInitRequest(plan).job.spec.template.spec,
  ];
  for (const pod of pods) {
    assert.ok(pod !== undefined);
    const c = pod.containers[0];
    assert.ok(c !== undefined);
    const home = env(c).HOME;
    assert.equal(home, '/tmp/frappe-home', c.name);
    const mount = c.volumeMounts?.find((m) => m.mountPath === home);
    assert.ok(mount !== undefined, `${c.name}: HOME is not mounted`);
    assert.deepEqual(pod.volumes?.find((v) => v.name === mount.name)?.emptyDir, {}, c.name);
    // Never a mount over the image's home, which holds node (~/.nvm) and the bench.
    assert.deepEqual(
      (c.volumeMounts ?? []).filter((m) => m.mountPath === '/home/frappe'),
      [],
      c.name,
    );
    // Where `bench` finds its bench (the images' WORKDIR), whatever the image's WORKDIR.
    assert.equal(c.workingDir, '/home/frappe/frappe-bench', c.name);
  }
});

test('gunicorn: the official argv by default (the chart’s and the images’ CMD)', () => {
  assert.deepEqual(container(prodBench(), 'gunicorn').command, [
    '/home/frappe/frappe-bench/env/bin/gunicorn',
    '--chdir=/home/frappe/frappe-bench/sites',
    '--bind=0.0.0.0:8000',
    '--threads=4',
    '--workers=2',
    '--worker-class=gthread',
    '--worker-tmp-dir=/dev/shm',
    '--timeout=120',
    '--preload',
    '--statsd-host=127.0.0.1:9125',
    '--statsd-prefix=frappe',
    'frappe.app:application',
  ]);
});

test('gunicorn metrics: on by default, a statsd-exporter sidecar on port metrics with the mapping ConfigMap', () => {
  const plan = planOf(prodBench(), context(initialized()));
  const d = componentDeployment(plan, 'gunicorn');
  const pod = d.spec.template.spec;
  const sidecar = pod?.containers.find((c) => c.name === 'statsd-exporter');
  assert.ok(sidecar !== undefined);
  assert.equal(sidecar.image, 'docker.io/prom/statsd-exporter:v0.31.0');
  assert.deepEqual(sidecar.ports, [{ name: 'metrics', containerPort: 9102, protocol: 'TCP' }]);
  assert.deepEqual(sidecar.args, STATSD_EXPORTER_ARGS);
  assert.ok(sidecar.resources?.limits?.memory !== undefined);
  assert.equal(sidecar.securityContext?.allowPrivilegeEscalation, false);
  assert.deepEqual(
    pod?.volumes?.find((v) => v.name === 'statsd-mapping')?.configMap?.name,
    'prod-bench-statsd-mapping',
  );
  assert.ok(d.spec.template.metadata?.annotations?.['vyogo.tech/statsd-mapping-hash']);
  const cm = benchChildren(plan).statsdMapping;
  assert.deepEqual(
    cm.map((c) => [c.metadata.name, Object.keys(c.data ?? {})]),
    [['prod-bench-statsd-mapping', ['mapping.yaml']]],
  );
  assert.equal(cm[0]?.data?.['mapping.yaml'], STATSD_MAPPING);
  // Only gunicorn gets one.
  for (const c of ['nginx', 'socketio', 'worker-default'] as const) {
    assert.deepEqual(
      componentDeployment(plan, c).spec.template.spec?.containers.map((x) => x.name),
      [c === 'worker-default' ? 'worker' : c],
    );
  }
});

test('gunicorn metrics: gunicorn.metrics.enabled false drops the flags, the sidecar and the ConfigMap; image overrides', () => {
  const off = planOf(
    withSpec({ gunicorn: { metrics: { enabled: false } } }),
    context(initialized()),
  );
  const d = componentDeployment(off, 'gunicorn');
  const template = d.spec.template;
  const containers = template.spec?.containers ?? [];
  assert.deepEqual(
    containers.map((c) => c.name),
    ['gunicorn'],
  );
  assert.ok(!(containers[0]?.command ?? []).some((a) => a.startsWith('--statsd')));
  assert.equal(template.metadata?.annotations?.['vyogo.tech/statsd-mapping-hash'], undefined);
  assert.deepEqual(benchChildren(off).statsdMapping, []);
  const mine = planOf(
    withSpec({ gunicorn: { metrics: { image: 'registry.example/statsd-exporter:v1' } } }),
    context(initialized()),
  );
  assert.equal(
    componentDeployment(mine, 'gunicorn').spec.template.spec?.containers[1]?.image,
    'registry.example/statsd-exporter:v1',
  );
});

test('gunicorn: workers, threads and timeout from spec.gunicorn; nginx proxy_read_timeout follows', () => {
  const bench = withSpec({ gunicorn: { workers: 5, threads: 8, timeout: 300 } });
  const command = container(bench, 'gunicorn').command ?? [];
  assert.ok(command.includes('--workers=5'), command.join(' '));
  assert.ok(command.includes('--threads=8'), command.join(' '));
  assert.ok(command.includes('--timeout=300'), command.join(' '));
  assert.equal(env(container(bench, 'nginx')).PROXY_READ_TIMEOUT, '300');
  // Only the field given changes; the others keep the schema's defaults.
  const partial = container(withSpec({ gunicorn: { workers: 3 } }), 'gunicorn').command ?? [];
  assert.deepEqual(
    partial.filter((a) => /^--(workers|threads|timeout)=/.test(a)),
    ['--threads=4', '--workers=3', '--timeout=120'],
  );
});

test('gunicorn probes: startup TCP 8000 (30 × 10 s), readiness and liveness TCP 8000', () => {
  const c = container(prodBench(), 'gunicorn');
  assert.deepEqual(c.startupProbe, {
    tcpSocket: { port: 8000 },
    periodSeconds: 10,
    failureThreshold: 30,
  });
  assert.deepEqual(c.readinessProbe?.tcpSocket, { port: 8000 });
  assert.deepEqual(c.livenessProbe?.tcpSocket, { port: 8000 });
  assert.deepEqual(c.ports, [{ name: 'http', containerPort: 8000, protocol: 'TCP' }]);
});

test('nginx: the environment of nginx-entrypoint.sh, real-IP settings by default as the chart’s', () => {
  const c = container(prodBench(), 'nginx');
  assert.deepEqual(env(c), {
    USER: 'frappe',
    HOME: '/tmp/frappe-home',
    BACKEND: 'prod-bench-gunicorn:8000',
    SOCKETIO: 'prod-bench-socketio:9000',
    NGINX_LISTEN_PORT: '8080',
    FRAPPE_SITE_NAME_HEADER: '$host',
    UPSTREAM_REAL_IP_ADDRESS: '127.0.0.1',
    UPSTREAM_REAL_IP_HEADER: 'X-Forwarded-For',
    UPSTREAM_REAL_IP_RECURSIVE: 'off',
    PROXY_READ_TIMEOUT: '120',
    CLIENT_MAX_BODY_SIZE: '100m',
  });
  assert.deepEqual(c.readinessProbe?.tcpSocket, { port: 8080 });
  assert.deepEqual(c.livenessProbe?.tcpSocket, { port: 8080 });
});

test('nginx: real-IP settings from spec.nginx', () => {
  const bench = withSpec({
    nginx: {
      upstreamRealIPAddress: '10.0.0.0/8',
      upstreamRealIPHeader: 'X-Real-IP',
      upstreamRealIPRecursive: 'on',
    },
  });
  const e = env(container(bench, 'nginx'));
  assert.equal(e.UPSTREAM_REAL_IP_ADDRESS, '10.0.0.0/8');
  assert.equal(e.UPSTREAM_REAL_IP_HEADER, 'X-Real-IP');
  assert.equal(e.UPSTREAM_REAL_IP_RECURSIVE, 'on');
});

test('nginx: writable emptyDirs for its config, temp files and pid (any UID)', () => {
  const d = componentDeployment(planOf(prodBench(), context(initialized())), 'nginx');
  const pod = d.spec.template.spec;
  const mounts = pod?.containers[0]?.volumeMounts ?? [];
  for (const path of ['/etc/nginx/conf.d', '/var/lib/nginx', '/run']) {
    const mount = mounts.find((m) => m.mountPath === path);
    assert.ok(mount !== undefined, `no mount at ${path}`);
    assert.deepEqual(
      pod?.volumes?.find((v) => v.name === mount.name),
      { name: mount.name, emptyDir: {} },
      path,
    );
  }
});

test('a change of spec.gunicorn or spec.nginx changes only the Deployments it concerns', () => {
  const base = prodBench();
  const template = (b: Stored<FrappeBench>, c: DeploymentComponent) =>
    JSON.stringify(componentDeployment(planOf(b, context(initialized())), c).spec.template);
  const changed = (b: Stored<FrappeBench>) =>
    DEPLOYMENT_COMPONENTS.filter((c) => template(b, c) !== template(base, c));
  assert.deepEqual(changed(withSpec({ gunicorn: { workers: 4 } })), ['gunicorn']);
  assert.deepEqual(changed(withSpec({ gunicorn: { timeout: 60 } })), ['gunicorn', 'nginx']);
  assert.deepEqual(changed(withSpec({ nginx: { upstreamRealIPRecursive: 'on' } })), ['nginx']);
});
