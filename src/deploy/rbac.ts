// The operator's RBAC (API.md §5.3), least privilege and without wildcards: the ServiceAccount,
// ClusterRole `frappe-operator-manager-role` with its binding, the leader-election Role with its
// binding in the operator's namespace, `frappe-operator-metrics-reader` for Prometheus, and
// `frappe-operator-edit` / `-view`, aggregated into the built-in `admin`/`edit` and `view`.
//
// Each permission of the operator's own roles is an entry below with a comment saying why, and
// the source files that make the requests it allows (`usedBy`: the file must mention `mentions`;
// a unit test checks it). A permission no code uses has no entry: §5.3 also lists kinds of
// controllers that do not exist yet (SiteBackup and its CronJobs), which join the role with the
// code that needs them. The verbs are exactly those the code uses, fewer than §5.3's "all":
// test/integration/rbac/verbs.test.ts runs the operator under this role through a bench's, a
// site's and a SiteJob's whole lives and compares the API server's audit log with it, both ways.
//
// The bundle binds the manager role cluster-wide. An operator restricted to some namespaces
// (`watchNamespaces`) lists and watches only those, so the same ClusterRole may be bound with a
// RoleBinding in each of them instead (a RoleBinding also authorises `get` of its own Namespace
// object). Only three grants must then stay cluster-wide: `mariadbs` get/list/watch (the shared
// MariaDB watch covers every namespace: a site may use one elsewhere) and `tokenreviews` /
// `subjectaccessreviews` create (cluster-scoped). docs/configuration.md says how.
import type * as k8s from '@kubernetes/client-node';
import { KINDS as API_KINDS } from '../api/v1alpha1/index.ts';
import type { Plain } from '../controllers/shared/k8s.ts';
import type { KubeObject } from '../kube/client.ts';
import {
  BUNDLE_LABELS,
  CONFIGMAP_NAME,
  EDIT_ROLE,
  LEADER_ELECTION_ROLE,
  MANAGER_NAME,
  MANAGER_ROLE,
  METRICS_READER_ROLE,
  NAMESPACE,
  VIEW_ROLE,
} from './names.ts';

export type PolicyRule = Plain<k8s.V1PolicyRule>;

export interface Role extends KubeObject {
  rules: PolicyRule[];
}

export interface RoleBinding extends KubeObject {
  roleRef: Plain<k8s.V1RoleRef>;
  subjects: Plain<k8s.RbacV1Subject>[];
}

type Verb =
  'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

/** A source file that makes the requests of a permission: it must mention `mentions`. */
export interface Use {
  file: string;
  mentions: string;
}

export interface Permission {
  apiGroup: string;
  /** One resource (or `resource/subresource`) per entry, so each has its own reason. */
  resource: string;
  verbs: readonly Verb[];
  resourceNames?: readonly string[];
  usedBy: readonly Use[];
}

/**
 * The verbs each kind of child needs, as the code uses them (test/integration/rbac/verbs.test.ts
 * compares them with the API server's audit log of a whole bench and site life):
 *   - `list`, `watch`: its informer;
 *   - `get`: applyChild reads an object the cache does not have (a first apply, or a name that
 *     may hold an object that is not ours);
 *   - `create`: a server-side apply of an object that does not exist is authorised as create
 *     (the request itself is a patch);
 *   - `patch`: server-side apply;
 *   - `delete`: pruning a child no longer wanted, or re-creating one.
 * No `update`: the operator writes with server-side apply and merge patches only.
 */
const APPLIED: readonly Verb[] = ['get', 'list', 'watch', 'create', 'patch'];
const APPLIED_PRUNED: readonly Verb[] = [...APPLIED, 'delete'];

const BENCH_SETUP = 'src/controllers/bench/index.ts';
const BENCH_RECONCILE = 'src/controllers/bench/reconcile.ts';
const SITE_SETUP = 'src/controllers/site/index.ts';
const SITE_RECONCILE = 'src/controllers/site/reconcile.ts';
const SITEJOB_SETUP = 'src/controllers/sitejob/index.ts';
const SITEBACKUP_SETUP = 'src/controllers/backup/index.ts';

/** A child kind of the bench: applied and watched, and pruned unless `kept`. */
const benchChild = (
  apiGroup: string,
  resource: string,
  kind: string,
  verbs: readonly Verb[] = APPLIED_PRUNED,
): Permission => ({
  apiGroup,
  resource,
  verbs,
  usedBy: [{ file: BENCH_SETUP, mentions: kind }],
});

/** A child kind of the site: applied and watched by the site controller. */
const siteChild = (
  apiGroup: string,
  resource: string,
  kind: string,
  verbs: readonly Verb[] = APPLIED,
): Permission => ({
  apiGroup,
  resource,
  verbs,
  usedBy: [{ file: SITE_SETUP, mentions: kind }],
});

/** ClusterRole `frappe-operator-manager-role`: what the controllers and the runtime request. */
export const MANAGER_PERMISSIONS: readonly Permission[] = [
  // FrappeBench: the bench controller's informer (list, watch) and the finalizer it adds and
  // removes with a merge patch of metadata.finalizers.
  {
    apiGroup: 'vyogo.tech',
    resource: 'frappebenches',
    verbs: ['list', 'watch', 'patch'],
    usedBy: [
      { file: BENCH_SETUP, mentions: 'KIND.FrappeBench' },
      { file: 'src/runtime/finalizers.ts', mentions: 'client.patch' },
    ],
  },
  // The bench's status: server-side apply of the status subresource, only when it changed.
  {
    apiGroup: 'vyogo.tech',
    resource: 'frappebenches/status',
    verbs: ['patch'],
    usedBy: [
      { file: 'src/runtime/status.ts', mentions: "subresource: 'status'" },
      { file: BENCH_RECONCILE, mentions: 'writeStatus(' },
    ],
  },
  // Children carry a controller ownerReference with blockOwnerDeletion: true. With the
  // OwnerReferencesPermissionEnforcement admission plugin (on in OpenShift), setting it needs
  // update of the owner's finalizers: an admission check, never a request of ours.
  {
    apiGroup: 'vyogo.tech',
    resource: 'frappebenches/finalizers',
    verbs: ['update'],
    usedBy: [{ file: 'src/controllers/shared/meta.ts', mentions: 'blockOwnerDeletion: true' }],
  },
  // FrappeSite: the site controller's informer, also read by the bench controller (siteCount,
  // deletion waiting for sites), and the site finalizer.
  {
    apiGroup: 'vyogo.tech',
    resource: 'frappesites',
    verbs: ['list', 'watch', 'patch'],
    usedBy: [
      { file: BENCH_SETUP, mentions: 'KIND.FrappeSite' },
      { file: SITE_SETUP, mentions: 'KIND.FrappeSite' },
      { file: SITE_RECONCILE, mentions: 'ensureFinalizer(' },
    ],
  },
  {
    apiGroup: 'vyogo.tech',
    resource: 'frappesites/status',
    verbs: ['patch'],
    usedBy: [{ file: SITE_RECONCILE, mentions: 'writeStatus(' }],
  },
  {
    apiGroup: 'vyogo.tech',
    resource: 'frappesites/finalizers',
    verbs: ['update'],
    usedBy: [{ file: 'src/controllers/shared/meta.ts', mentions: 'blockOwnerDeletion: true' }],
  },
  // SiteJob: the SiteJob controller's informer (list, watch), and its status by server-side
  // apply (patch). No finalizer: a SiteJob's Job goes with it by garbage collection.
  {
    apiGroup: 'vyogo.tech',
    resource: 'sitejobs',
    verbs: ['list', 'watch'],
    usedBy: [{ file: SITEJOB_SETUP, mentions: 'KIND.SiteJob' }],
  },
  {
    apiGroup: 'vyogo.tech',
    resource: 'sitejobs/status',
    verbs: ['patch'],
    usedBy: [{ file: 'src/controllers/sitejob/reconcile.ts', mentions: 'writeStatus(' }],
  },
  // Its Job's blockOwnerDeletion (OwnerReferencesPermissionEnforcement): an admission check.
  {
    apiGroup: 'vyogo.tech',
    resource: 'sitejobs/finalizers',
    verbs: ['update'],
    usedBy: [{ file: 'src/controllers/shared/meta.ts', mentions: 'blockOwnerDeletion: true' }],
  },
  // SiteBackup: the SiteBackup controller's informer (also read by the site and SiteJob
  // controllers for a site's known destination); the reference operator's finalizer
  // `vyogo.tech/finalizer` is removed with a merge patch where found; its status.
  {
    apiGroup: 'vyogo.tech',
    resource: 'sitebackups',
    verbs: ['list', 'watch', 'patch'],
    usedBy: [
      { file: SITEBACKUP_SETUP, mentions: 'KIND.SiteBackup' },
      { file: SITE_SETUP, mentions: 'KIND.SiteBackup' },
      { file: SITEJOB_SETUP, mentions: 'KIND.SiteBackup' },
      { file: 'src/controllers/backup/reconcile.ts', mentions: 'removeFinalizer(' },
    ],
  },
  {
    apiGroup: 'vyogo.tech',
    resource: 'sitebackups/status',
    verbs: ['patch'],
    usedBy: [{ file: 'src/controllers/backup/reconcile.ts', mentions: 'writeStatus(' }],
  },
  // Its CronJob's and Job's blockOwnerDeletion (OwnerReferencesPermissionEnforcement).
  {
    apiGroup: 'vyogo.tech',
    resource: 'sitebackups/finalizers',
    verbs: ['update'],
    usedBy: [{ file: 'src/controllers/shared/meta.ts', mentions: 'blockOwnerDeletion: true' }],
  },
  // Secrets. Generated ones (the Redis password; a site's admin password, encryption key, DB
  // and MariaDB root passwords) are created once and never updated, and lose their
  // ownerReferences by a patch when a Retain site goes; they go with their owner by garbage
  // collection, never by a delete of ours. Every Secret's metadata is listed and watched (in
  // each watched namespace): a Secret a site or bench names (an admin password, a Redis
  // password) may be created or rotated later by someone else — ExternalSecrets — and its
  // appearance or new resourceVersion must bring the site or bench back at once; only a named
  // Secret is read (get), to check its keys or hash the Redis password. `delete` is never a
  // request of ours: the OwnerReferencesPermissionEnforcement admission plugin (on in
  // OpenShift) lets only a client that may delete an object change its ownerReferences, as a
  // Retain site does.
  {
    apiGroup: '',
    resource: 'secrets',
    verbs: [...APPLIED, 'delete'],
    usedBy: [
      { file: BENCH_SETUP, mentions: 'KINDS.Secret' },
      { file: SITE_SETUP, mentions: 'KINDS.Secret' },
      { file: 'src/controllers/site/secret-keys.ts', mentions: 'this.#client.get<Secret>' },
    ],
  },
  // Redis and component Services (Redis's are pruned with a switch to an external Redis).
  benchChild('', 'services', 'KINDS.Service'),
  // What bench-init merges into common_site_config.json, mounted from a file (one ConfigMap per
  // content, the earlier ones pruned).
  benchChild('', 'configmaps', 'KINDS.ConfigMap'),
  // The sites PVC; deleted with the bench under storageRetentionPolicy Delete.
  benchChild('', 'persistentvolumeclaims', 'KINDS.PersistentVolumeClaim'),
  // A Job's result: the termination message of its pod's container (never its logs).
  {
    apiGroup: '',
    resource: 'pods',
    verbs: ['list'],
    usedBy: [{ file: 'src/runtime/jobs.ts', mentions: "list<PodObject>('v1', 'Pod'" }],
  },
  // A bench or site in a terminating namespace releases its finalizer at once. Only the
  // object's own namespace is read, which a RoleBinding there also allows (watchNamespaces).
  {
    apiGroup: '',
    resource: 'namespaces',
    verbs: ['get'],
    usedBy: [
      { file: BENCH_RECONCILE, mentions: "'Namespace'" },
      { file: 'src/controllers/site/deletion.ts', mentions: "'Namespace'" },
    ],
  },
  // Events on transitions, as events.k8s.io/v1 Events; repeats patch the first one's series.
  {
    apiGroup: 'events.k8s.io',
    resource: 'events',
    verbs: ['create', 'patch'],
    usedBy: [{ file: 'src/runtime/events.ts', mentions: "'events.k8s.io/v1'" }],
  },
  // gunicorn, nginx, socketio, scheduler and worker Deployments (never deleted: a bench has all
  // seven); get reads managedFields while a switch to autoscaling waits for the autoscaler.
  benchChild('apps', 'deployments', 'KINDS.Deployment', APPLIED),
  // redis-cache and redis-queue; re-created when their volumeClaimTemplates change.
  benchChild('apps', 'statefulsets', 'KINDS.StatefulSet'),
  // bench-init; site-init, restore, migrate, admin-password and delete; a SiteJob's
  // `<sitejob>-job` (the SiteJob controller also watches the site's Jobs for its turn). The Job
  // runner creates them, replaces stale ones (delete) and prunes a site's migrate Jobs of earlier
  // images; it reads them from its informer only.
  {
    apiGroup: 'batch',
    resource: 'jobs',
    verbs: ['list', 'watch', 'create', 'patch', 'delete'],
    usedBy: [
      { file: BENCH_SETUP, mentions: 'KINDS.Job' },
      { file: SITE_SETUP, mentions: 'KINDS.Job' },
      { file: SITEJOB_SETUP, mentions: 'KINDS.Job' },
      { file: SITEBACKUP_SETUP, mentions: 'KINDS.Job' },
      { file: 'src/runtime/jobs.ts', mentions: 'client.delete' },
    ],
  },
  // A scheduled SiteBackup's CronJob; deleted when its schedule is removed.
  {
    apiGroup: 'batch',
    resource: 'cronjobs',
    verbs: APPLIED_PRUNED,
    usedBy: [{ file: SITEBACKUP_SETUP, mentions: 'KINDS.CronJob' }],
  },
  // The site Ingress; deleted while ingress.enabled is false.
  siteChild('networking.k8s.io', 'ingresses', 'KINDS.Ingress', APPLIED_PRUNED),
  // The MariaDB Operator's objects of a site, watched once discovery lists them: a dedicated
  // MariaDB (shared ones are only read, in any namespace, for their consent annotation: that
  // watch is cluster-wide even under watchNamespaces), and the site's Database, User and Grant.
  // They go with the site by garbage collection (their cleanupPolicy decides what the MariaDB
  // Operator drops), never by a delete of ours. (A Retain site keeps its dedicated MariaDB by
  // removing its ownerReference, which the OwnerReferencesPermissionEnforcement admission
  // plugin allows only with `delete`.)
  siteChild('k8s.mariadb.com', 'mariadbs', "kind('MariaDB')", APPLIED_PRUNED),
  siteChild('k8s.mariadb.com', 'databases', "kind('Database')"),
  siteChild('k8s.mariadb.com', 'users', "kind('User')"),
  siteChild('k8s.mariadb.com', 'grants', "kind('Grant')"),
  // One PDB per component.
  benchChild('policy', 'poddisruptionbudgets', 'KINDS.PodDisruptionBudget'),
  // componentAutoscaling provider hpa.
  benchChild('autoscaling', 'horizontalpodautoscalers', 'KINDS.HorizontalPodAutoscaler'),
  // componentAutoscaling provider keda, watched once discovery lists KEDA.
  benchChild('keda.sh', 'scaledobjects', "'ScaledObject'"),
  benchChild('keda.sh', 'triggerauthentications', "'TriggerAuthentication'"),
  // /metrics authentication (metricsAuth: tokenreview): the scraper's token ...
  {
    apiGroup: 'authentication.k8s.io',
    resource: 'tokenreviews',
    verbs: ['create'],
    usedBy: [{ file: 'src/runtime/metrics-server.ts', mentions: '/tokenreviews' }],
  },
  // ... and its authorisation (get on the non-resource URL /metrics).
  {
    apiGroup: 'authorization.k8s.io',
    resource: 'subjectaccessreviews',
    verbs: ['create'],
    usedBy: [{ file: 'src/runtime/metrics-server.ts', mentions: '/subjectaccessreviews' }],
  },
];

/** Role `frappe-operator-leader-election-role`, in the operator's namespace only. */
export const LEADER_ELECTION_PERMISSIONS: readonly Permission[] = [
  // The Lease `frappe-operator.vyogo.tech`: read (get), created by the first replica, renewed
  // and released by updates. Namespaced: a cluster-wide grant could take over any component's lease.
  {
    apiGroup: 'coordination.k8s.io',
    resource: 'leases',
    verbs: ['get', 'create', 'update'],
    usedBy: [{ file: 'src/runtime/leaderelection.ts', mentions: "kind: 'Lease'" }],
  },
  // The operator's configuration, and nothing else: ConfigMap frappe-operator-config, read at
  // start-up and watched with the field selector metadata.name=frappe-operator-config (which is
  // how RBAC lets resourceNames authorise list and watch).
  {
    apiGroup: '',
    resource: 'configmaps',
    verbs: ['get', 'list', 'watch'],
    resourceNames: [CONFIGMAP_NAME],
    usedBy: [
      { file: 'src/config/holder.ts', mentions: 'OPERATOR_CONFIGMAP_NAME' },
      { file: 'src/config/watch.ts', mentions: 'fieldSelector: `metadata.name=' },
    ],
  },
];

/** Policy rules of `permissions`: one rule per apiGroup, verbs and resourceNames, in order. */
export function policyRules(permissions: readonly Permission[]): PolicyRule[] {
  const rules = new Map<string, PolicyRule & { resources: string[] }>();
  for (const p of permissions) {
    const key = JSON.stringify([p.apiGroup, p.verbs, p.resourceNames]);
    const rule = rules.get(key);
    if (rule !== undefined) {
      rule.resources.push(p.resource);
      continue;
    }
    rules.set(key, {
      apiGroups: [p.apiGroup],
      resources: [p.resource],
      ...(p.resourceNames === undefined ? {} : { resourceNames: [...p.resourceNames] }),
      verbs: [...p.verbs],
    });
  }
  return [...rules.values()];
}

const RBAC_API_VERSION = 'rbac.authorization.k8s.io/v1';

function clusterRole(name: string, rules: PolicyRule[], labels: Record<string, string> = {}): Role {
  return {
    apiVersion: RBAC_API_VERSION,
    kind: 'ClusterRole',
    metadata: { name, labels: { ...BUNDLE_LABELS, ...labels } },
    rules,
  };
}

/** A binding of `role` (kind ClusterRole or Role) to the operator's ServiceAccount. */
function bindManager(kind: 'ClusterRole' | 'Role', role: string): RoleBinding {
  const name = `${role.replace(/-role$/, '')}-rolebinding`;
  return {
    apiVersion: RBAC_API_VERSION,
    kind: kind === 'ClusterRole' ? 'ClusterRoleBinding' : 'RoleBinding',
    metadata: {
      name,
      ...(kind === 'Role' ? { namespace: NAMESPACE } : {}),
      labels: { ...BUNDLE_LABELS },
    },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind, name: role },
    subjects: [{ kind: 'ServiceAccount', name: MANAGER_NAME, namespace: NAMESPACE }],
  };
}

export function serviceAccount(): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: MANAGER_NAME, namespace: NAMESPACE, labels: { ...BUNDLE_LABELS } },
  };
}

export function managerClusterRole(): Role {
  return clusterRole(MANAGER_ROLE, policyRules(MANAGER_PERMISSIONS));
}

export function managerClusterRoleBinding(): RoleBinding {
  return bindManager('ClusterRole', MANAGER_ROLE);
}

export function leaderElectionRole(): Role {
  return {
    apiVersion: RBAC_API_VERSION,
    kind: 'Role',
    metadata: { name: LEADER_ELECTION_ROLE, namespace: NAMESPACE, labels: { ...BUNDLE_LABELS } },
    rules: policyRules(LEADER_ELECTION_PERMISSIONS),
  };
}

export function leaderElectionRoleBinding(): RoleBinding {
  return bindManager('Role', LEADER_ELECTION_ROLE);
}

/** For Prometheus: bind its ServiceAccount to read /metrics (API.md §1.4, §4.2). */
export function metricsReaderClusterRole(): Role {
  return clusterRole(METRICS_READER_ROLE, [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }]);
}

const AGGREGATE = 'rbac.authorization.k8s.io/aggregate-to-';
const PLURALS = API_KINDS.map((k) => k.plural);

/** Write access to the four kinds for namespace users, through the built-in `admin` and `edit`. */
export function editClusterRole(): Role {
  return clusterRole(
    EDIT_ROLE,
    [
      {
        apiGroups: ['vyogo.tech'],
        resources: PLURALS,
        verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      },
      { apiGroups: ['vyogo.tech'], resources: PLURALS.map((p) => `${p}/status`), verbs: ['get'] },
    ],
    { [`${AGGREGATE}admin`]: 'true', [`${AGGREGATE}edit`]: 'true' },
  );
}

/** Read access to the four kinds through the built-in `view` (which `edit` and `admin` include). */
export function viewClusterRole(): Role {
  return clusterRole(
    VIEW_ROLE,
    [
      { apiGroups: ['vyogo.tech'], resources: PLURALS, verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['vyogo.tech'], resources: PLURALS.map((p) => `${p}/status`), verbs: ['get'] },
    ],
    { [`${AGGREGATE}view`]: 'true' },
  );
}
