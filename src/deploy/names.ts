// Names, labels and the image of the install bundle (API.md §4.2): what the Operations Guide's
// commands and manifests name (`kubectl get deployment -n frappe-operator-system`, the env patch
// of Deployment `frappe-operator-controller-manager` container `manager`, the ServiceMonitor
// selecting `control-plane: controller-manager` port `https`), kept in one place for the
// builders of src/deploy and the tests.
import { OPERATOR_CONFIGMAP_NAME } from '../config/operator-config.ts';

/** The operator's version; the unit tests keep it equal to package.json's. */
export const OPERATOR_VERSION = '0.1.0';

/**
 * The manager's image: the project's GitHub container registry, tagged with the release version
 * (no `v` prefix, no `latest`), so a bundle always runs the code it was generated from.
 */
export const OPERATOR_IMAGE = `ghcr.io/vyogotech/frappe-operator:${OPERATOR_VERSION}`;

/** The manager container's memory limit, MiB. */
export const OPERATOR_MEMORY_LIMIT_MIB = 512;

/**
 * Node options of the operator process, wherever it runs (the manager Deployment, the playground,
 * the benchmark), measured with `npm run bench` (20 benches: peak RSS 129 → 101 MiB, convergence
 * unchanged):
 * - a 1 MiB young-generation semi-space: the operator allocates small, short-lived objects
 *   (watch events, apply bodies), so scavenges stay cheap and the resident set smaller;
 * - an old space of a quarter of the container's memory limit: V8 sizes its heap growth to the
 *   limit, so a bounded old space collects before the heap balloons, and leaves the rest of the
 *   limit to new space, code and buffers. Raise the limit (and with it this) for clusters whose
 *   cached objects outgrow it.
 */
export const OPERATOR_NODE_OPTIONS = `--max-semi-space-size=1 --max-old-space-size=${String(OPERATOR_MEMORY_LIMIT_MIB / 4)}`;

export const NAMESPACE = 'frappe-operator-system';
export const PREFIX = 'frappe-operator';
export const MANAGER_NAME = `${PREFIX}-controller-manager`;
export const MANAGER_CONTAINER = 'manager';
export const CONFIGMAP_NAME = OPERATOR_CONFIGMAP_NAME;
export const METRICS_SERVICE_NAME = `${MANAGER_NAME}-metrics-service`;

export const MANAGER_ROLE = `${PREFIX}-manager-role`;
export const LEADER_ELECTION_ROLE = `${PREFIX}-leader-election-role`;
export const METRICS_READER_ROLE = `${PREFIX}-metrics-reader`;
export const EDIT_ROLE = `${PREFIX}-edit`;
export const VIEW_ROLE = `${PREFIX}-view`;

/** On every object of the bundle. Never `app.kubernetes.io/managed-by: frappe-operator`: the
 * controllers' informers select children with it. */
export const BUNDLE_LABELS = { 'app.kubernetes.io/name': PREFIX } as const;

/** The manager's pods, Deployment and metrics Service (the guide's ServiceMonitor selects it). */
export const MANAGER_LABELS = { ...BUNDLE_LABELS, 'control-plane': 'controller-manager' } as const;

/** Ports of the manager (flags `--metrics-bind-address`, `--health-probe-bind-address`). */
export const METRICS_PORT = 8443;
export const HEALTH_PORT = 8081;
