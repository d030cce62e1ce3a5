// The seven Deployments of a bench and the Services of the serving ones (API.md §3.1, §3.2):
// gunicorn (:8000), nginx (:8080), socketio (:9000), scheduler, and the default/short/long RQ
// workers. Every pod runs the image bench-init last succeeded for, mounts the sites volume, and
// gets `sites/assets` from an init container copying the image's own assets, so assets always
// match the code.
//
// Every container runs an explicit `command`, never the image's ENTRYPOINT or CMD. The official
// frappe/erpnext images come in two layouts (frappe/frappe_docker):
//   - before 2026-04 (images/production/Containerfile e.g. at d62c50cc; and
//     images/layered/Containerfile at 097dcc52): no ENTRYPOINT, CMD the gunicorn argv below,
//     built assets in `sites/assets`;
//   - since 2026-04 (images/production/Containerfile at 072b56f3): the build moves `sites/assets`
//     to `/home/frappe/frappe-bench/assets`, ENTRYPOINT resources/core/main-entrypoint.sh runs
//     `rm -rf sites/assets` and `ln -s` under `set -e` (which fails on the mounted `sites/assets`
//     volume, so the pod would crash-loop), and CMD resources/core/start.sh runs the same argv.
// The commands match frappe_docker's compose.yaml and pwd.yml (frontend `nginx-entrypoint.sh`,
// websocket `node /home/frappe/frappe-bench/apps/frappe/socketio.js`, scheduler `bench
// schedule`) and the chart (frappe/helm erpnext/templates/deployment-{socketio,scheduler,
// worker-*}.yaml: the same argv, and `bench worker --queue <default|short|long>`, one Deployment
// per queue). The chart passes each as `args`, and compose as `command` (its CMD), both of which
// keep the image's ENTRYPOINT; we set the container's `command`, which replaces it. Two
// deliberate differences: frappe_docker's compose runs two workers, `--queue short,default` and
// `--queue long,default,short`; we keep the chart's three single-queue workers (API.md §3.2), so
// that each KEDA redis trigger (`rq:queue:<bench_id>:<queue>`) scales exactly the worker that
// drains it. And every Frappe container runs in the bench directory with HOME on an emptyDir
// (shared/pod.ts frappeContainer): `bench` finds its bench from the working directory, and the
// images' /home/frappe is not writable under every UID.
import type { Container, DeploymentStrategy, Probe, Volume, VolumeMount } from '../shared/k8s.ts';
import { selectorLabels, type Labels } from '../shared/labels.ts';
import { componentService } from '../shared/service.ts';
import { childMeta } from '../shared/meta.ts';
import { KINDS, type Deployment, type Service } from '../shared/objects.ts';
import {
  ASSETS_DIR,
  BENCH_DIR,
  SITES_DIR,
  frappeContainer,
  plainContainer,
  podSpec,
  podTemplateMeta,
  type PodSettings,
} from '../shared/pod.ts';
import { DEFAULT_RESOURCES, type ResourceDefaults } from '../../api/v1alpha1/resources.ts';
import { DEPLOYMENT_COMPONENTS, type DeploymentComponent } from './context.ts';
import { SOCKETIO_PORT } from './init.ts';
import { benchChild, benchLabels, type BenchPlan } from './plan.ts';
import { STATSD_FLAGS, statsdSidecar } from './statsd.ts';

type ResourceKey =
  'gunicorn' | 'nginx' | 'socketio' | 'scheduler' | 'workerDefault' | 'workerShort' | 'workerLong';

interface ComponentSpec {
  /** Key in `spec.componentResources`. */
  resourceKey: ResourceKey;
  defaults: ResourceDefaults;
  container: string;
  /** The container's `command` (never the image's ENTRYPOINT/CMD), from the plan. */
  command: (plan: BenchPlan) => string[];
  /** Served port: Service port, probes. */
  port?: { name: string; port: number };
  strategy?: DeploymentStrategy;
  terminationGracePeriodSeconds?: number;
}

const ROLLING: DeploymentStrategy = {
  type: 'RollingUpdate',
  rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
};

const worker = (queue: string, resourceKey: ResourceKey, grace: number): ComponentSpec => ({
  resourceKey,
  defaults: DEFAULT_RESOURCES.worker,
  container: 'worker',
  command: () => ['bench', 'worker', '--queue', queue],
  terminationGracePeriodSeconds: grace,
});

const GUNICORN_PORT = 8000;
const NGINX_PORT = 8080;

/**
 * gunicorn's argv: the official one (frappe_docker images/layered/Containerfile CMD and
 * resources/core/start.sh, whose GUNICORN_WORKERS/THREADS/TIMEOUT default to 2/4/120; frappe/helm
 * erpnext/templates/deployment-gunicorn.yaml passes it as worker.gunicorn.args) with workers,
 * threads and timeout from `spec.gunicorn`, and the statsD flags when `gunicorn.metrics.enabled`.
 */
function gunicornCommand(plan: BenchPlan): string[] {
  const g = plan.gunicorn;
  return [
    `${BENCH_DIR}/env/bin/gunicorn`,
    `--chdir=${SITES_DIR}`,
    `--bind=0.0.0.0:${GUNICORN_PORT}`,
    `--threads=${g.threads}`,
    `--workers=${g.workers}`,
    '--worker-class=gthread',
    '--worker-tmp-dir=/dev/shm',
    `--timeout=${g.timeout}`,
    '--preload',
    // gunicorn's statsD metrics to the statsd-exporter sidecar (./statsd.ts).
    ...(plan.statsdExporterImage === undefined ? [] : STATSD_FLAGS),
    'frappe.app:application',
  ];
}

export const COMPONENTS: Record<DeploymentComponent, ComponentSpec> = {
  gunicorn: {
    resourceKey: 'gunicorn',
    defaults: DEFAULT_RESOURCES.gunicorn,
    container: 'gunicorn',
    command: gunicornCommand,
    port: { name: 'http', port: GUNICORN_PORT },
    strategy: ROLLING,
  },
  nginx: {
    resourceKey: 'nginx',
    defaults: DEFAULT_RESOURCES.nginx,
    container: 'nginx',
    command: () => ['nginx-entrypoint.sh'],
    port: { name: 'http', port: NGINX_PORT },
    strategy: ROLLING,
  },
  socketio: {
    resourceKey: 'socketio',
    defaults: DEFAULT_RESOURCES.socketio,
    container: 'socketio',
    command: () => ['node', `${BENCH_DIR}/apps/frappe/socketio.js`],
    port: { name: 'socketio', port: SOCKETIO_PORT },
    strategy: ROLLING,
  },
  scheduler: {
    resourceKey: 'scheduler',
    defaults: DEFAULT_RESOURCES.scheduler,
    container: 'scheduler',
    command: () => ['bench', 'schedule'],
    strategy: { type: 'Recreate' },
  },
  'worker-default': worker('default', 'workerDefault', 300),
  'worker-short': worker('short', 'workerShort', 300),
  'worker-long': worker('long', 'workerLong', 3600),
};

/**
 * nginx writes its config, temp files and pid: emptyDirs make it work under any UID. In both
 * layouts nginx-entrypoint.sh writes /etc/nginx/conf.d/frappe.conf from
 * /templates/nginx/frappe.conf.template (frappe_docker resources/nginx-entrypoint.sh,
 * resources/core/nginx/nginx-entrypoint.sh); Debian's nginx.conf keeps its pid in /run/nginx.pid
 * and its temp paths under /var/lib/nginx. The images make these writable for UID 1000 only
 * (older images: chown frappe) or for group 0 (newer: chgrp 0, chmod g=u).
 */
const NGINX_WRITABLE = [
  { name: 'nginx-conf', mountPath: '/etc/nginx/conf.d' },
  { name: 'nginx-cache', mountPath: '/var/lib/nginx' },
  { name: 'nginx-run', mountPath: '/run' },
];

/** API.md §3.2 (nginx-entrypoint.sh defaults to 50m). */
const CLIENT_MAX_BODY_SIZE = '100m';

/**
 * The environment nginx-entrypoint.sh substitutes into the template (frappe_docker
 * resources/nginx-entrypoint.sh and resources/core/nginx/nginx-entrypoint.sh: BACKEND, SOCKETIO,
 * NGINX_LISTEN_PORT (newer images only), UPSTREAM_REAL_IP_*, FRAPPE_SITE_NAME_HEADER,
 * PROXY_READ_TIMEOUT, CLIENT_MAX_BODY_SIZE; the chart's names in erpnext/values.yaml
 * nginx.environment). PROXY_READ_TIMEOUT follows gunicorn's timeout, so nginx does not answer 504
 * while gunicorn still works on a request it allows.
 */
function nginxEnv(plan: BenchPlan) {
  return [
    { name: 'BACKEND', value: `${benchChild(plan, 'gunicorn')}:${GUNICORN_PORT}` },
    { name: 'SOCKETIO', value: `${benchChild(plan, 'socketio')}:${SOCKETIO_PORT}` },
    { name: 'NGINX_LISTEN_PORT', value: String(NGINX_PORT) },
    { name: 'FRAPPE_SITE_NAME_HEADER', value: '$host' },
    { name: 'UPSTREAM_REAL_IP_ADDRESS', value: plan.nginx.upstreamRealIPAddress },
    { name: 'UPSTREAM_REAL_IP_HEADER', value: plan.nginx.upstreamRealIPHeader },
    { name: 'UPSTREAM_REAL_IP_RECURSIVE', value: plan.nginx.upstreamRealIPRecursive },
    { name: 'PROXY_READ_TIMEOUT', value: String(plan.gunicorn.timeout) },
    { name: 'CLIENT_MAX_BODY_SIZE', value: CLIENT_MAX_BODY_SIZE },
  ];
}

const tcpProbe = (port: number, extra: Partial<Probe>): Probe => ({
  tcpSocket: { port },
  ...extra,
});

function probes(component: DeploymentComponent, port: number): Partial<Container> {
  return {
    ...(component === 'gunicorn'
      ? { startupProbe: tcpProbe(port, { periodSeconds: 10, failureThreshold: 30 }) }
      : {}),
    readinessProbe: tcpProbe(port, { periodSeconds: 10, failureThreshold: 3 }),
    livenessProbe: tcpProbe(port, { periodSeconds: 20, failureThreshold: 3 }),
  };
}

/** Where the built assets are in the image: newer layout first (API.md §3.2 Assets). */
export const IMAGE_ASSETS_DIRS = [`${BENCH_DIR}/assets`, ASSETS_DIR] as const;
/** The emptyDir's mount in the init container `assets` (in serving containers: `sites/assets`). */
export const ASSETS_MOUNT = '/assets';

/**
 * The script of the init container `assets`: copies the image's built assets — the directory
 * holding `assets.json`, written by `bench build` — into the emptyDir, keeping symlinks (Frappe
 * links `assets/<app>` to `apps/<app>/<app>/public` by absolute path, which resolves in every
 * container of the same image). When the image has none it fails, naming the paths it looked
 * in, on stderr and in the termination message (`kubectl describe pod`), rather than leaving an
 * empty volume nginx answers 404 from. Every path is an assignment at the top (`name=/path`), so
 * a test runs the script against a directory tree by prefixing them.
 */
export const ASSETS_SCRIPT = `new=${IMAGE_ASSETS_DIRS[0]}
old=${IMAGE_ASSETS_DIRS[1]}
out=${ASSETS_MOUNT}
log=/dev/termination-log
fail() {
  printf '%s\\n' "$1" >&2
  printf '%s' "$1" >"$log"
  exit 1
}
for src in "$new" "$old"; do
  if [ -f "$src/assets.json" ]; then
    cp -a "$src/." "$out/" || fail "assets: copying the image's built assets from $src to $out failed"
    echo "assets: copied the image's built assets from $src"
    exit 0
  fi
done
fail "assets: the image has no built assets: neither $new/assets.json (images since 2026-04) nor $old/assets.json (older images) exists. Use an image whose build ran bench build, such as frappe/erpnext."
`;

/**
 * Init container `assets`: the image's built assets → the emptyDir. It mounts only that emptyDir:
 * the sites volume, which hides the image's `sites/assets` in the serving containers, is not
 * mounted here, so older images' `sites/assets` is read from the image itself.
 */
function assetsContainer(plan: BenchPlan, s: PodSettings): Container {
  return plainContainer(s, {
    name: 'assets',
    image: s.image,
    command: ['sh', '-c', ASSETS_SCRIPT],
    resources: plan.resources.assets,
    volumeMounts: [{ name: 'assets', mountPath: ASSETS_MOUNT }],
  });
}

/**
 * The image the Deployments run: the one bench-init last succeeded for, with the version label
 * matching it (the desired one, or the label the pods already carry while an upgrade waits).
 */
function runningImage(
  plan: BenchPlan,
  component: DeploymentComponent,
): { image: string; versionLabels: Labels } {
  const image = plan.initialized?.image ?? plan.image;
  if (image === plan.image) return { image, versionLabels: plan.versionLabels };
  const previous = plan.deployments[component]?.versionLabel;
  return {
    image,
    versionLabels: previous === undefined ? {} : { 'app.kubernetes.io/version': previous },
  };
}

export function componentDeployment(plan: BenchPlan, component: DeploymentComponent): Deployment {
  const c = COMPONENTS[component];
  const { image, versionLabels } = runningImage(plan, component);
  const settings = { ...plan.pod, image };
  const labels = { ...benchLabels(plan, component), ...versionLabels };
  const replicas = plan.scaling[component].replicas;
  const nginx = component === 'nginx';
  const mounts: VolumeMount[] = [
    { name: 'assets', mountPath: ASSETS_DIR },
    ...(nginx ? NGINX_WRITABLE : []),
  ];
  const volumes: Volume[] = [
    { name: 'assets', emptyDir: {} },
    ...(nginx ? NGINX_WRITABLE.map((v) => ({ name: v.name, emptyDir: {} })) : []),
  ];
  const container = frappeContainer(settings, {
    name: c.container,
    command: c.command(plan),
    ...(nginx ? { env: nginxEnv(plan) } : {}),
    ...(c.port === undefined
      ? {}
      : {
          ports: [{ name: c.port.name, containerPort: c.port.port, protocol: 'TCP' }],
          ...probes(component, c.port.port),
        }),
    resources: plan.resources.components[component],
    volumeMounts: mounts,
  });
  // gunicorn's metrics: the statsd-exporter sidecar, its mapping volume, the mapping's hash.
  const sidecar =
    component === 'gunicorn' && plan.statsdExporterImage !== undefined
      ? statsdSidecar(plan, settings, plan.statsdExporterImage)
      : undefined;
  const templateMeta = podTemplateMeta(settings, labels);
  return {
    ...KINDS.Deployment,
    metadata: childMeta(plan.bench, benchChild(plan, component), labels),
    spec: {
      ...(replicas === undefined ? {} : { replicas }),
      selector: { matchLabels: selectorLabels(plan.name, component) },
      ...(c.strategy === undefined ? {} : { strategy: c.strategy }),
      template: {
        metadata:
          sidecar === undefined
            ? templateMeta
            : {
                ...templateMeta,
                annotations: { ...templateMeta.annotations, ...sidecar.annotations },
              },
        spec: podSpec(settings, {
          initContainers: [assetsContainer(plan, settings)],
          containers: sidecar === undefined ? [container] : [container, sidecar.container],
          volumes: sidecar === undefined ? volumes : [...volumes, sidecar.volume],
          mountsSites: true,
          ...(c.terminationGracePeriodSeconds === undefined
            ? {}
            : { terminationGracePeriodSeconds: c.terminationGracePeriodSeconds }),
        }),
      },
    },
  };
}

/** The Service of a serving component (gunicorn, nginx, socketio); none for the others. */
export function servingService(
  plan: BenchPlan,
  component: DeploymentComponent,
): Service | undefined {
  const port = COMPONENTS[component].port;
  return port === undefined
    ? undefined
    : componentService(
        plan.bench,
        benchChild(plan, component),
        benchLabels(plan, component),
        selectorLabels(plan.name, component),
        port,
      );
}

/** All Deployments and Services of the components. */
export function componentObjects(plan: BenchPlan): (Deployment | Service)[] {
  return DEPLOYMENT_COMPONENTS.flatMap((component) => {
    const service = servingService(plan, component);
    const deployment = componentDeployment(plan, component);
    return service === undefined ? [deployment] : [deployment, service];
  });
}
