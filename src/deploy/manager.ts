// The manager of the install bundle (API.md §4.2): Namespace `frappe-operator-system` (restricted
// Pod Security), ConfigMap `frappe-operator-config` (no data; every key with its default in a
// YAML comment), Deployment `frappe-operator-controller-manager` and the metrics Service.
//
// The Deployment runs `frappe-operator run` with the flags of §4.2, one replica with leader
// election, in a pod that passes the restricted Pod Security Standard (non-root, no privilege
// escalation, no capabilities, RuntimeDefault seccomp, read-only root filesystem: the operator
// writes no files, its self-signed metrics certificate lives in memory). No runAsUser: OpenShift
// assigns one, elsewhere the image's numeric non-root USER applies. The termination grace period
// outlasts the manager's 30 s graceful shutdown, so in-flight reconciles finish before SIGKILL.
import { CONFIG_KEYS, CONFIG_SPEC, isStartupOnly } from '../config/operator-config.ts';
import type { Container, PodSpec } from '../controllers/shared/k8s.ts';
import type { Deployment, Service } from '../controllers/shared/objects.ts';
import type { KubeObject } from '../kube/client.ts';
import {
  BUNDLE_LABELS,
  CONFIGMAP_NAME,
  HEALTH_PORT,
  MANAGER_CONTAINER,
  MANAGER_LABELS,
  MANAGER_NAME,
  METRICS_PORT,
  METRICS_SERVICE_NAME,
  NAMESPACE,
  OPERATOR_IMAGE,
  OPERATOR_MEMORY_LIMIT_MIB,
  OPERATOR_NODE_OPTIONS,
} from './names.ts';

export function namespace(): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: NAMESPACE,
      labels: {
        ...MANAGER_LABELS,
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/audit': 'restricted',
        'pod-security.kubernetes.io/warn': 'restricted',
      },
    },
  };
}

/** No data: a re-applied bundle never resets what an operator's admin set. */
export function operatorConfigMap(): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: CONFIGMAP_NAME, namespace: NAMESPACE, labels: { ...BUNDLE_LABELS } },
  };
}

/**
 * The text of the YAML comment after the ConfigMap (one `#` per line is added by the writer):
 * every ConfigMap key with its default, ready to be uncommented.
 */
export function operatorConfigComment(): string {
  const lines = [
    'Operator configuration. Every key is optional: a key set here wins over the env variable of',
    'the same setting, which wins over the default shown. Changes apply without a restart, except',
    'where noted. To set keys, uncomment `data:` and those keys.',
    'data:',
  ];
  for (const key of CONFIG_KEYS) {
    const spec = CONFIG_SPEC[key];
    if (spec.configMapKey === undefined) continue;
    const restart = isStartupOnly(key) ? ', restart needed' : '';
    const hint = spec.hint === undefined ? '' : `; ${spec.hint}`;
    const value = JSON.stringify(
      Array.isArray(spec.default) ? spec.default.join(',') : String(spec.default),
    );
    lines.push(`  ${spec.configMapKey}: ${value}  # env ${spec.env}${restart}${hint}`);
  }
  return lines.map((l) => ` ${l}`).join('\n');
}

/** The manager's flags (API.md §4.2); the unit tests parse them with the CLI's parser. */
export const MANAGER_ARGS: readonly string[] = [
  'run',
  `--metrics-bind-address=:${String(METRICS_PORT)}`,
  `--health-probe-bind-address=:${String(HEALTH_PORT)}`,
  '--leader-elect=true',
];

function managerContainer(): Container {
  return {
    name: MANAGER_CONTAINER,
    image: OPERATOR_IMAGE,
    args: [...MANAGER_ARGS],
    env: [
      {
        name: 'FRAPPE_OPERATOR_NAMESPACE',
        // apiVersion as the server stores it: fieldRef is atomic, so a server-side re-apply of
        // a client-side install would otherwise conflict with the defaulted value.
        valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } },
      },
      // The backup agent's image: this one (a pod cannot read its own image otherwise).
      { name: 'FRAPPE_OPERATOR_IMAGE', value: OPERATOR_IMAGE },
      { name: 'NODE_OPTIONS', value: OPERATOR_NODE_OPTIONS },
    ],
    ports: [
      { name: 'https', containerPort: METRICS_PORT, protocol: 'TCP' },
      { name: 'health', containerPort: HEALTH_PORT, protocol: 'TCP' },
    ],
    livenessProbe: {
      httpGet: { path: '/healthz', port: 'health' },
      initialDelaySeconds: 15,
      periodSeconds: 20,
    },
    readinessProbe: {
      httpGet: { path: '/readyz', port: 'health' },
      initialDelaySeconds: 5,
      periodSeconds: 10,
    },
    resources: {
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { cpu: '500m', memory: `${String(OPERATOR_MEMORY_LIMIT_MIB)}Mi` },
    },
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: true,
    },
  };
}

export function managerPodSpec(): PodSpec {
  return {
    serviceAccountName: MANAGER_NAME,
    securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    terminationGracePeriodSeconds: 40,
    containers: [managerContainer()],
  };
}

export function managerDeployment(): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: MANAGER_NAME, namespace: NAMESPACE, labels: { ...MANAGER_LABELS } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { ...MANAGER_LABELS } },
      template: {
        metadata: {
          labels: { ...MANAGER_LABELS },
          annotations: { 'kubectl.kubernetes.io/default-container': MANAGER_CONTAINER },
        },
        spec: managerPodSpec(),
      },
    },
  };
}

/** Port `https`, labelled `control-plane: controller-manager` for the guide's ServiceMonitor. */
export function metricsService(): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: METRICS_SERVICE_NAME, namespace: NAMESPACE, labels: { ...MANAGER_LABELS } },
    spec: {
      selector: { ...MANAGER_LABELS },
      ports: [{ name: 'https', port: METRICS_PORT, targetPort: METRICS_PORT, protocol: 'TCP' }],
    },
  };
}
