// The seven Deployments of a bench and the Services of the serving ones (API.md §3.1, §3.2):
// gunicorn (:8000), nginx (:8080), socketio (:9000), scheduler, and the default/short/long RQ
// workers. Every pod runs the image bench-init last succeeded for, mounts the sites volume, and
// gets `sites/assets` from an init container copying the image's own assets, so assets always
// match the code.
import type { Container, DeploymentStrategy, Probe, Volume, VolumeMount } from '../shared/k8s.ts';
import { selectorLabels, type Labels } from '../shared/labels.ts';
import { componentService } from '../shared/service.ts';
import { childMeta } from '../shared/meta.ts';
import { KINDS, type Deployment, type Service } from '../shared/objects.ts';
import {
  ASSETS_DIR,
  BENCH_DIR,
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

type ResourceKey =
  'gunicorn' | 'nginx' | 'socketio' | 'scheduler' | 'workerDefault' | 'workerShort' | 'workerLong';

interface ComponentSpec {
  /** Key in `spec.componentResources`. */
  resourceKey: ResourceKey;
  defaults: ResourceDefaults;
  container: string;
  command?: string[];
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
  command: ['bench', 'worker', '--queue', queue],
  terminationGracePeriodSeconds: grace,
});

export const COMPONENTS: Record<DeploymentComponent, ComponentSpec> = {
  gunicorn: {
    resourceKey: 'gunicorn',
    defaults: DEFAULT_RESOURCES.gunicorn,
    container: 'gunicorn',
    port: { name: 'http', port: 8000 },
    strategy: ROLLING,
  },
  nginx: {
    resourceKey: 'nginx',
    defaults: DEFAULT_RESOURCES.nginx,
    container: 'nginx',
    command: ['nginx-entrypoint.sh'],
    port: { name: 'http', port: 8080 },
    strategy: ROLLING,
  },
  socketio: {
    resourceKey: 'socketio',
    defaults: DEFAULT_RESOURCES.socketio,
    container: 'socketio',
    command: ['node', `${BENCH_DIR}/apps/frappe/socketio.js`],
    port: { name: 'socketio', port: SOCKETIO_PORT },
    strategy: ROLLING,
  },
  scheduler: {
    resourceKey: 'scheduler',
    defaults: DEFAULT_RESOURCES.scheduler,
    container: 'scheduler',
    command: ['bench', 'schedule'],
    strategy: { type: 'Recreate' },
  },
  'worker-default': worker('default', 'workerDefault', 300),
  'worker-short': worker('short', 'workerShort', 300),
  'worker-long': worker('long', 'workerLong', 3600),
};

/** nginx writes its config, temp files and pid: emptyDirs make it work under any UID. */
const NGINX_WRITABLE = [
  { name: 'nginx-conf', mountPath: '/etc/nginx/conf.d' },
  { name: 'nginx-cache', mountPath: '/var/lib/nginx' },
  { name: 'nginx-run', mountPath: '/run' },
];

function nginxEnv(plan: BenchPlan) {
  return [
    { name: 'BACKEND', value: `${benchChild(plan, 'gunicorn')}:8000` },
    { name: 'SOCKETIO', value: `${benchChild(plan, 'socketio')}:${SOCKETIO_PORT}` },
    { name: 'FRAPPE_SITE_NAME_HEADER', value: '$host' },
    { name: 'UPSTREAM_REAL_IP_ADDRESS', value: '127.0.0.1' },
    { name: 'UPSTREAM_REAL_IP_HEADER', value: 'X-Forwarded-For' },
    { name: 'UPSTREAM_REAL_IP_RECURSIVE', value: 'off' },
    { name: 'CLIENT_MAX_BODY_SIZE', value: '100m' },
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

/** Init container `assets`: the image's `sites/assets` (hidden by the sites volume) → emptyDir. */
function assetsContainer(plan: BenchPlan, s: PodSettings): Container {
  return plainContainer(s, {
    name: 'assets',
    image: s.image,
    command: ['sh', '-c', `if [ -d ${ASSETS_DIR} ]; then cp -a ${ASSETS_DIR}/. /assets/; fi`],
    resources: plan.resources.assets,
    volumeMounts: [{ name: 'assets', mountPath: '/assets' }],
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
    ...(c.command === undefined ? {} : { command: c.command }),
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
  return {
    ...KINDS.Deployment,
    metadata: childMeta(plan.bench, benchChild(plan, component), labels),
    spec: {
      ...(replicas === undefined ? {} : { replicas }),
      selector: { matchLabels: selectorLabels(plan.name, component) },
      ...(c.strategy === undefined ? {} : { strategy: c.strategy }),
      template: {
        metadata: podTemplateMeta(settings, labels),
        spec: podSpec(settings, {
          initContainers: [assetsContainer(plan, settings)],
          containers: [container],
          volumes,
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
