// The install bundle against a real API server: config/install.yaml installs with the Operations
// Guide's own command (and again with server-side apply, as an upgrade), its manager pod is admitted in the restricted
// namespace, and the guide's env patch applies; then the real operator (`src/cli.ts run`, every
// controller of CONTROLLERS, leader election on) runs with nothing but the bundle's RBAC — a
// TokenRequest token of ServiceAccount frappe-operator-controller-manager — and brings a bench
// that uses every kind the bench controller writes (Redis auth Secret, PDBs, HPA, KEDA) to Ready,
// follows a change of its ConfigMap and deletes the bench, without one forbidden request (its
// JSON logs and the API server's audit log say so). /metrics answers a token bound to
// frappe-operator-metrics-reader (200), a token without it (403) and none (401); -edit and -view
// reach namespace users through the built-in roles.
//
// The cluster is private to this file: the operator reconciles benches in every namespace (the
// bundle sets no watchNamespaces) and would rewrite the benches other tests create without an
// operator (test/integration/api) or reconcile with their own; here the bundle also installs into
// its real namespace, frappe-operator-system, not a dry run.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KINDS } from '../../../src/api/v1alpha1/index.ts';
import type { KubeObject } from '../../../src/kube/client.ts';
import {
  CONFIGMAP_NAME,
  MANAGER_NAME,
  METRICS_READER_ROLE,
  NAMESPACE,
} from '../../../src/deploy/names.ts';
import { DEFAULT_LEASE_NAME } from '../../../src/runtime/leaderelection.ts';
import { startCluster, type Cluster } from '../../../src/dev/cluster.ts';
import { useCluster } from '../../harness/env.ts';
import { eventually } from '../../harness/eventually.ts';
import { kubectl } from '../../harness/kubectl.ts';
import {
  applyFixtureCrds,
  createTestNamespace,
  waitForCrdsEstablished,
} from '../../harness/namespace.ts';
import {
  readLogLines,
  waitForLog as waitForOperatorLog,
  type LogLine,
} from '../../../src/dev/operator-log.ts';
import { Supervisor } from '../../../src/dev/supervisor.ts';
import { apply, waitForCondition, waitForGone } from '../bench/support.ts';
import {
  adminClient,
  cleanUp,
  scrape,
  serviceAccountToken,
  startBundleOperator,
} from '../manager/operator.ts';

const ROOT = new URL('../../../', import.meta.url);
const INSTALL = fileURLToPath(new URL('config/install.yaml', ROOT));
const OPERATOR = 'frappe-operator';
const OPERATOR_USER = `system:serviceaccount:${NAMESPACE}:${MANAGER_NAME}`;
const FORBIDDEN = /forbidden|"code":403/i;

/** An entry of the API server's audit log (Metadata level: every write). */
interface AuditEvent {
  verb: string;
  user: { username: string };
  objectRef?: { apiGroup?: string; resource?: string; subresource?: string };
  responseStatus?: { code?: number };
}

/** `verb group/resource[/subresource]`, e.g. `patch vyogo.tech/frappebenches/status`. */
function request(e: AuditEvent): string {
  const r = e.objectRef;
  const sub = r?.subresource === undefined ? '' : `/${r.subresource}`;
  return `${e.verb} ${r?.apiGroup ?? ''}/${r?.resource ?? ''}${sub}`;
}

let cluster: Cluster | undefined;
/** Runs the operator (own process group, stopped by pid), its output in the cluster's logs/. */
let operators: Supervisor | undefined;
const supervisor = (): Supervisor =>
  operators ?? assert.fail('the private cluster did not start (before hook)');

/** The operator's JSON log lines so far (stdout and stderr go to one file). */
const operatorLog = (): Promise<LogLine[]> => readLogLines(supervisor(), OPERATOR);

/** The first line with `msg`; fails at once if the operator exited, quoting its last lines. */
const waitForLog = (msg: string): Promise<LogLine> =>
  waitForOperatorLog(supervisor(), OPERATOR, msg);

before(async () => {
  cluster = await startCluster({ log: () => undefined });
  operators = new Supervisor(cluster.workDir, () => undefined);
  // Every harness helper of this test process (kubectl, kubeConfig, tokens) uses this cluster.
  useCluster(cluster);
  // The guide's install command, as is.
  await kubectl(['apply', '-f', INSTALL]);
});

after(async () => {
  await operators?.stopAll();
  cleanUp();
  await cluster?.stop();
});

describe('config/install.yaml', () => {
  it('installs with the guide’s command, re-applies server-side, and its pod is admitted', async () => {
    const again = await kubectl(['apply', '--server-side', '-f', INSTALL]);
    assert.match(
      again.stdout,
      /deployment\.apps\/frappe-operator-controller-manager serverside-applied/,
    );
    await waitForCrdsEstablished(KINDS.map((k) => `${k.plural}.${k.group}`));
    // The guide's check; then the pod, admitted under the namespace's enforce: restricted, runs
    // (kwok plays the kubelet, so no image is pulled).
    const get = await kubectl(['get', 'deployment', '-n', NAMESPACE]);
    assert.match(get.stdout, /frappe-operator-controller-manager/);
    await kubectl(
      ['wait', '--for=condition=Available', '--timeout=60s', `deployment/${MANAGER_NAME}`],
      { namespace: NAMESPACE },
    );
    const warnings = await kubectl(
      ['get', 'events', '--field-selector=reason=FailedCreate', '-o', 'name'],
      { namespace: NAMESPACE },
    );
    assert.equal(warnings.stdout.trim(), '');
  });

  it('takes the guide’s security-context env patch unchanged', async () => {
    const patch = {
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: 'manager',
                image: 'vyogo.tech/frappe-operator:latest',
                env: [
                  { name: 'FRAPPE_DEFAULT_UID', value: '2000' },
                  { name: 'FRAPPE_DEFAULT_GID', value: '2000' },
                  { name: 'FRAPPE_DEFAULT_FSGROUP', value: '2000' },
                ],
              },
            ],
          },
        },
      },
    };
    await kubectl(['patch', 'deployment', MANAGER_NAME, '-p', JSON.stringify(patch)], {
      namespace: NAMESPACE,
    });
    const env = await kubectl(
      [
        'get',
        'deployment',
        MANAGER_NAME,
        '-o',
        'jsonpath={.spec.template.spec.containers[0].env[*].name}',
      ],
      { namespace: NAMESPACE },
    );
    assert.deepEqual(env.stdout.split(' ').sort(), [
      'FRAPPE_DEFAULT_FSGROUP',
      'FRAPPE_DEFAULT_GID',
      'FRAPPE_DEFAULT_UID',
      'FRAPPE_OPERATOR_IMAGE',
      'FRAPPE_OPERATOR_NAMESPACE',
      'NODE_OPTIONS',
    ]);
  });

  it('-edit and -view reach namespace users through the built-in admin, edit and view', async () => {
    const ns = await createTestNamespace('rbac-users');
    const users = { admin: 'admin', editor: 'edit', viewer: 'view' } as const;
    for (const [sa, role] of Object.entries(users)) {
      await kubectl(['create', 'serviceaccount', sa], { namespace: ns });
      await kubectl(
        ['create', 'rolebinding', sa, `--clusterrole=${role}`, `--serviceaccount=${ns}:${sa}`],
        {
          namespace: ns,
        },
      );
    }
    const can = async (sa: string, verb: string, resource: string): Promise<string> =>
      (
        await kubectl(['auth', 'can-i', verb, resource, `--as=system:serviceaccount:${ns}:${sa}`], {
          namespace: ns,
          allowFailure: true,
        })
      ).stdout.trim();
    // kcm's clusterrole-aggregation controller copies the rules into the built-in roles.
    await eventually(
      async () => {
        for (const sa of ['admin', 'editor']) {
          assert.equal(await can(sa, 'create', 'frappebenches.vyogo.tech'), 'yes', sa);
          assert.equal(await can(sa, 'delete', 'sitejobs.vyogo.tech'), 'yes', sa);
        }
        assert.equal(await can('viewer', 'list', 'frappesites.vyogo.tech'), 'yes');
        assert.equal(await can('viewer', 'get', 'sitebackups.vyogo.tech'), 'yes');
      },
      { timeout: 30_000, message: 'the built-in roles include -edit and -view' },
    );
    assert.equal(await can('viewer', 'create', 'frappebenches.vyogo.tech'), 'no');
    assert.equal(await can('viewer', 'update', 'frappebenches.vyogo.tech/status'), 'no');
  });
});

describe('the operator with only the bundle’s RBAC', () => {
  let identity = '';
  let metricsPort = 0;

  before(async () => {
    await applyFixtureCrds(['keda']);
    await startBundleOperator(supervisor(), OPERATOR);
    identity = String((await waitForLog('manager started')).identity);
    const metrics = await waitForLog('serving metrics over HTTPS');
    metricsPort = (metrics.address as { port: number }).port;
    // Leading, with every informer synced: the lists and watches were all allowed.
    await waitForLog('controllers started');
  });

  it('holds its Lease in its namespace', async () => {
    const holder = await kubectl(
      ['get', 'lease', DEFAULT_LEASE_NAME, '-o', 'jsonpath={.spec.holderIdentity}'],
      { namespace: NAMESPACE },
    );
    assert.equal(holder.stdout, identity);
  });

  it('brings a bench with every kind of child to Ready, and deletes it', async () => {
    const ns = await createTestNamespace('rbac-bench');
    const client = adminClient();
    await apply(
      {
        apiVersion: 'vyogo.tech/v1alpha1',
        kind: 'FrappeBench',
        metadata: { name: 'rbac' },
        spec: {
          frappeVersion: '15',
          storageRetentionPolicy: 'Delete',
          redisConfig: { auth: { enabled: true } },
          componentAutoscaling: {
            'worker-short': { enabled: true, provider: 'keda', minReplicas: 0, maxReplicas: 5 },
            // At least 2 replicas: gunicorn also gets a PDB.
            gunicorn: { enabled: true, provider: 'hpa', minReplicas: 2, maxReplicas: 4 },
          },
        },
      },
      ns,
    );
    await waitForCondition(client, ns, 'rbac', 'Ready', 'True');
    // Every kind of child the bench controller writes is there (API.md §1.3: label `bench`).
    const kinds = [
      'persistentvolumeclaims',
      'secrets',
      'statefulsets',
      'services',
      'jobs',
      'deployments',
      'poddisruptionbudgets',
      'horizontalpodautoscalers',
      'scaledobjects.keda.sh',
      'triggerauthentications.keda.sh',
    ];
    await eventually(async () => {
      for (const kind of kinds) {
        const r = await kubectl(['get', kind, '-l', 'bench=rbac', '-o', 'name'], { namespace: ns });
        assert.notEqual(r.stdout, '', `no ${kind}`);
      }
    });

    await kubectl(['delete', 'frappebench', 'rbac', '--wait=false'], { namespace: ns });
    await waitForGone(client, 'vyogo.tech/v1alpha1', 'FrappeBench', ns, 'rbac');
    await eventually(async () => {
      const pvc = await client.get<KubeObject>('v1', 'PersistentVolumeClaim', ns, 'rbac-sites');
      assert.ok(pvc === undefined || pvc.metadata.deletionTimestamp !== undefined);
    });
  });

  it('follows a change of its ConfigMap (read by name only)', async () => {
    await kubectl(
      [
        'patch',
        'configmap',
        CONFIGMAP_NAME,
        '--type=merge',
        '-p',
        '{"data":{"maxConcurrentReconciles":"3"}}',
      ],
      { namespace: NAMESPACE },
    );
    const changed = await waitForLog('operator configuration changed');
    assert.deepEqual(changed.changed, ['maxConcurrentReconciles']);
  });

  it('serves /metrics to frappe-operator-metrics-reader only', async () => {
    const ns = await createTestNamespace('rbac-metrics');
    for (const sa of ['prometheus', 'nobody']) {
      await kubectl(['create', 'serviceaccount', sa], { namespace: ns });
    }
    await kubectl([
      'create',
      'clusterrolebinding',
      `${ns}-prometheus`,
      `--clusterrole=${METRICS_READER_ROLE}`,
      `--serviceaccount=${ns}:prometheus`,
    ]);
    const prometheus = await serviceAccountToken(ns, 'prometheus');
    const nobody = await serviceAccountToken(ns, 'nobody');
    assert.equal((await scrape(metricsPort)).status, 401);
    assert.equal((await scrape(metricsPort, nobody)).status, 403);
    const ok = await eventually(async () => {
      const r = await scrape(metricsPort, prometheus);
      assert.equal(r.status, 200, r.body);
      return r;
    });
    assert.match(ok.body, /controller_runtime_reconcile_total\{controller="frappebench"/);
  });

  it('was never forbidden anything: its logs and the audit log', async () => {
    const forbidden = (await operatorLog())
      .map((l) => JSON.stringify(l))
      .filter((l) => FORBIDDEN.test(l))
      .map((l) => l.slice(0, 400));
    assert.deepEqual(forbidden, []);
    const audit = (await readFile(cluster?.auditLogPath ?? '', 'utf8'))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as AuditEvent)
      .filter((e) => e.user.username === OPERATOR_USER);
    assert.deepEqual(audit.filter((e) => e.responseStatus?.code === 403).map(request), []);
    // The writes really were the operator's own, under this identity.
    const writes = new Set(audit.map(request));
    for (const w of [
      'patch vyogo.tech/frappebenches/status',
      'patch vyogo.tech/frappebenches',
      'create events.k8s.io/events',
      'update coordination.k8s.io/leases',
      'create /secrets',
      'patch apps/deployments',
      'patch keda.sh/scaledobjects',
      'create authentication.k8s.io/tokenreviews',
    ]) {
      assert.ok(writes.has(w), `${w} not in ${[...writes].sort().join(', ')}`);
    }
  });
});
