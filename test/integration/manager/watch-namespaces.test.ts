// `watchNamespaces` (FRAPPE_WATCH_NAMESPACES): the operator — `frappe-operator run`'s manager with
// every controller of CONTROLLERS — restricted to two namespaces runs with nothing but
// RoleBindings there (the bundle's manager ClusterRole bound per namespace; no cluster-wide
// grant), reconciles the benches of those namespaces and never touches the bench of a third.
// Every list and watch of its cache is namespaced: one cluster-wide one would be forbidden, its
// informer would never sync and no controller would start.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { FrappeBench } from '../../../src/api/v1alpha1/index.ts';
import { buildManager, CONTROLLERS, parseRunFlags } from '../../../src/cli.ts';
import { leaderElectionRole, managerClusterRole } from '../../../src/deploy/rbac.ts';
import type { Manager } from '../../../src/runtime/manager.ts';
import { kubectl } from '../../harness/kubectl.ts';
import { applyOurCrds, createTestNamespace, deleteNamespace } from '../../harness/namespace.ts';
import { apply, getBench, waitFor } from '../bench/support.ts';
import { adminClient, cleanUp, serviceAccountToken, tokenKubeconfig } from './operator.ts';

const RBAC = 'rbac.authorization.k8s.io/v1';
const SA = 'operator';

let watched: string[] = [];
let other = '';
let clusterRole = '';
let manager: Manager | undefined;

const bench = (name: string): FrappeBench => ({
  apiVersion: 'vyogo.tech/v1alpha1',
  kind: 'FrappeBench',
  metadata: { name },
  spec: { frappeVersion: '15' },
});

before(async () => {
  await applyOurCrds();
  watched = [await createTestNamespace('watched-a'), await createTestNamespace('watched-b')];
  other = await createTestNamespace('not-watched');
  const [home = ''] = watched;
  clusterRole = `${home}-manager`;
  const role = leaderElectionRole();
  await kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SA, namespace: home } },
        { ...managerClusterRole(), metadata: { name: clusterRole } },
        // The operator's own namespace: its ConfigMap (and Lease) as the bundle grants them.
        { ...role, metadata: { name: 'leader-election', namespace: home } },
        {
          apiVersion: RBAC,
          kind: 'RoleBinding',
          metadata: { name: 'leader-election', namespace: home },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'leader-election' },
          subjects: [{ kind: 'ServiceAccount', name: SA, namespace: home }],
        },
        // The manager ClusterRole, bound in the watched namespaces only.
        ...watched.map((namespace) => ({
          apiVersion: RBAC,
          kind: 'RoleBinding',
          metadata: { name: 'manager', namespace },
          roleRef: {
            apiGroup: 'rbac.authorization.k8s.io',
            kind: 'ClusterRole',
            name: clusterRole,
          },
          subjects: [{ kind: 'ServiceAccount', name: SA, namespace: home }],
        })),
      ],
    }),
  });
  const kubeconfig = await tokenKubeconfig(await serviceAccountToken(home, SA));
  manager = await buildManager(
    parseRunFlags([
      '--leader-elect=false',
      '--metrics-bind-address=0',
      '--health-probe-bind-address=0',
    ]),
    CONTROLLERS,
    {
      KUBECONFIG: kubeconfig,
      FRAPPE_OPERATOR_NAMESPACE: home,
      FRAPPE_WATCH_NAMESPACES: watched.join(','),
      FRAPPE_LOG_LEVEL: 'warn',
    },
  );
  await manager.start();
});

after(async () => {
  for (const ns of [...watched, other]) {
    if (ns !== '') await deleteNamespace(ns);
  }
  await manager?.stop();
  if (clusterRole !== '') {
    await kubectl(['delete', 'clusterrole', clusterRole, '--ignore-not-found']);
  }
  cleanUp();
});

it('reconciles the benches of the watched namespaces only, with RoleBindings there only', async () => {
  const client = adminClient();
  for (const ns of [other, ...watched]) await apply(bench('bench'), ns);
  for (const ns of watched) {
    await waitFor<FrappeBench>(client, 'vyogo.tech/v1alpha1', 'FrappeBench', ns, 'bench', (b) => {
      assert.ok(
        b.status?.conditions?.some((c) => c.type === 'StorageReady'),
        `bench ${ns}/bench has no status yet`,
      );
    });
    await waitFor(client, 'v1', 'PersistentVolumeClaim', ns, 'bench-sites');
  }
  // The watched namespaces' benches have been reconciled; the other one never was.
  const untouched = await getBench(client, other, 'bench');
  assert.equal(untouched.status, undefined);
  assert.deepEqual(untouched.metadata.finalizers ?? [], []);
  assert.equal(await client.get('v1', 'PersistentVolumeClaim', other, 'bench-sites'), undefined);
  assert.deepEqual(manager?.cache.namespaces, [...watched].sort());
});
