// RBAC is exactly what is used (issue 9 B12). A private control plane audits every request
// (reads and watches too, StartOptions.auditEveryRequest) and enforces
// OwnerReferencesPermissionEnforcement, as OpenShift does. The install bundle's RBAC is applied
// and the real operator (`src/cli.ts run`, every controller, leader election on) runs under its
// ServiceAccount through a bench's, its sites' and a SiteJob's whole lives: create with every
// kind of child, Redis persistence (a StatefulSet re-created), an image change (the bench-init
// Job replaced), autoscaling switched off (HPA, ScaledObject, TriggerAuthentication and PDB
// pruned), sites on the bench under both deletion policies (the test plays the MariaDB
// Operator), a SiteJob run to Succeeded on a Ready site, the bench's deletion with its PVC, and
// a change of the operator's ConfigMap. Then the audit log says which verbs it used on which
// resources, and the test fails when the generated manager ClusterRole (or the leader-election
// Role) grants a verb never used, or when a used verb is not granted (the operator was never
// refused anything either). A new controller brings its scenario as one more block (one on
// Ready sites goes between the sites' blocks) and its grants are checked with the rest.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KINDS, type SiteBackup, type SiteJob } from '../../../src/api/v1alpha1/index.ts';
import { CONFIGMAP_NAME, MANAGER_NAME, NAMESPACE } from '../../../src/deploy/names.ts';
import {
  leaderElectionRole,
  managerClusterRole,
  type PolicyRule,
} from '../../../src/deploy/rbac.ts';
import { startCluster, type Cluster } from '../../../src/dev/cluster.ts';
import { waitForLog as waitForOperatorLog } from '../../../src/dev/operator-log.ts';
import { Supervisor } from '../../../src/dev/supervisor.ts';
import type { KubeClient, KubeObject } from '../../../src/kube/client.ts';
import { useCluster } from '../../harness/env.ts';
import { eventually } from '../../harness/eventually.ts';
import { kubectl } from '../../harness/kubectl.ts';
import {
  applyFixtureCrds,
  createTestNamespace,
  waitForCrdsEstablished,
} from '../../harness/namespace.ts';
import { apply, patchBench, waitForCondition, waitForGone } from '../bench/support.ts';
import {
  adminClient,
  cleanUp,
  metricsReaderToken,
  scrape,
  startBundleOperator,
} from '../manager/operator.ts';
import { mariadb, playMariaDBOperator, site, waitForSite } from '../site/support.ts';

const ROOT = new URL('../../../', import.meta.url);
const INSTALL = fileURLToPath(new URL('config/install.yaml', ROOT));
const OPERATOR = 'frappe-operator';
const OPERATOR_USER = `system:serviceaccount:${NAMESPACE}:${MANAGER_NAME}`;

/**
 * Grants no request shows, each with its reason: OwnerReferencesPermissionEnforcement checks
 * `update` of the owner's finalizers when a child with blockOwnerDeletion is created, and
 * `delete` of an object whose ownerReferences change. (This cluster enforces it, so without the
 * grant those requests would be refused: the test checks that none was.)
 */
const ADMISSION_ONLY: Record<string, string> = {
  'update vyogo.tech/frappebenches/finalizers': 'blockOwnerDeletion on bench children',
  'update vyogo.tech/frappesites/finalizers': 'blockOwnerDeletion on site children',
  'update vyogo.tech/sitejobs/finalizers': 'blockOwnerDeletion on a SiteJob’s Job',
  'update vyogo.tech/sitebackups/finalizers':
    'blockOwnerDeletion on a SiteBackup’s CronJob and Job',
  // The plugin lets only a client that may delete an object change its ownerReferences.
  'delete /secrets': 'a Retain site strips the ownerReferences of its Secrets',
  'delete k8s.mariadb.com/mariadbs': 'a Retain site strips the ownerReference of its MariaDB',
};

interface AuditEvent {
  verb: string;
  user: { username: string };
  objectRef?: { apiGroup?: string; resource?: string; subresource?: string };
  responseStatus?: { code?: number };
}

const resourceOf = (e: AuditEvent): string | undefined => {
  const r = e.objectRef;
  if (r?.resource === undefined) return undefined;
  return `${r.apiGroup ?? ''}/${r.resource}${r.subresource === undefined ? '' : `/${r.subresource}`}`;
};

/** `verb group/resource[/sub]` of every grant of `rules`. */
function grants(rules: PolicyRule[]): Set<string> {
  const out = new Set<string>();
  for (const r of rules) {
    for (const g of r.apiGroups ?? []) {
      for (const res of r.resources ?? []) for (const v of r.verbs) out.add(`${v} ${g}/${res}`);
    }
  }
  return out;
}

let cluster: Cluster | undefined;
let operators: Supervisor | undefined;
const supervisor = (): Supervisor =>
  operators ?? assert.fail('the private cluster did not start (before hook)');
let stopStandIn: (() => Promise<void>) | undefined;

before(async () => {
  cluster = await startCluster({
    log: () => undefined,
    auditEveryRequest: true,
    admissionPlugins: ['OwnerReferencesPermissionEnforcement'],
  });
  operators = new Supervisor(cluster.workDir, () => undefined);
  useCluster(cluster);
  await kubectl(['apply', '--server-side', '-f', INSTALL]);
  await waitForCrdsEstablished(KINDS.map((k) => `${k.plural}.${k.group}`));
  await applyFixtureCrds(['keda', 'mariadb', 'cert-manager']);
  await startBundleOperator(supervisor(), OPERATOR);
  await waitForOperatorLog(supervisor(), OPERATOR, 'controllers started');
});

after(async () => {
  await stopStandIn?.();
  await operators?.stopAll();
  cleanUp();
  await cluster?.stop();
});

describe('the operator’s RBAC is exactly what it uses', () => {
  let client: KubeClient;
  let ns = '';

  before(async () => {
    client = adminClient();
    ns = await createTestNamespace('rbac-verbs');
    let stopped = false;
    const playing = playMariaDBOperator(client, [ns], new Map(), () => stopped);
    stopStandIn = async () => {
      stopped = true;
      await playing;
    };
  });

  it('runs a bench through its life', async () => {
    await apply(
      {
        apiVersion: 'vyogo.tech/v1alpha1',
        kind: 'FrappeBench',
        metadata: { name: 'life' },
        spec: {
          frappeVersion: '15',
          storageRetentionPolicy: 'Delete',
          redisConfig: { auth: { enabled: true } },
          commonSiteConfig: { maintenance_mode: '0' },
          componentAutoscaling: {
            'worker-short': { enabled: true, provider: 'keda', minReplicas: 0, maxReplicas: 5 },
            gunicorn: { enabled: true, provider: 'hpa', minReplicas: 2, maxReplicas: 4 },
          },
        },
      },
      ns,
    );
    await waitForCondition(client, ns, 'life', 'Ready', 'True', undefined, 180_000);
    // Persistence: the redis-queue StatefulSet is re-created (immutable volumeClaimTemplates).
    await patchBench(ns, 'life', { spec: { redisConfig: { storageSize: '2Gi' } } });
    // A new image and config: bench-init runs again (its Job replaced, the old ConfigMap pruned).
    await patchBench(ns, 'life', {
      spec: { imageConfig: { tag: 'v15.2.0' }, commonSiteConfig: { maintenance_mode: '1' } },
    });
    await eventually(
      async () => {
        const b = await client.get<KubeObject & { status?: { initializedImage?: string } }>(
          'vyogo.tech/v1alpha1',
          'FrappeBench',
          ns,
          'life',
        );
        assert.match(b?.status?.initializedImage ?? '', /:v15\.2\.0$/);
      },
      { timeout: 120_000, message: 'bench-init ran for the new image' },
    );
    // Autoscaling off: the HPA, ScaledObject, TriggerAuthentication and PDB are pruned.
    await patchBench(ns, 'life', {
      spec: {
        componentAutoscaling: {
          'worker-short': { enabled: false },
          gunicorn: { enabled: false },
        },
      },
    });
    await waitForCondition(client, ns, 'life', 'Ready', 'True', undefined, 180_000);
  });

  it('serves /metrics to Prometheus and refuses a stranger (TokenReview, SubjectAccessReview)', async () => {
    const line = await waitForOperatorLog(supervisor(), OPERATOR, 'serving metrics over HTTPS');
    const port = (line.address as { port: number }).port;
    const reader = await metricsReaderToken(ns);
    await eventually(async () => {
      assert.equal((await scrape(port, reader)).status, 200);
    });
    assert.equal((await scrape(port, 'not-a-token')).status, 401);
  });

  // The sites below live through the blocks that follow them: each controller that works on a
  // Ready site (SiteJob; SiteBackup joins with its controller) has its scenario as one block
  // between the sites becoming Ready and their deletion.
  const SITES = ['gone', 'kept', 'solo'];

  it('brings sites on it to Ready, and drains one’s traffic', async () => {
    await apply(mariadb('frappe-mariadb'), ns);
    await apply(site('gone', 'life', { deletionPolicy: 'Delete' }), ns);
    await apply(site('kept', 'life'), ns);
    // A dedicated MariaDB of its own.
    await apply(site('solo', 'life', { dbConfig: { mode: 'dedicated' } }), ns);
    for (const name of SITES) {
      await waitForSite(client, ns, name, 'Ready', 'True', undefined, 180_000);
    }
    // Traffic drained: the Ingress is deleted.
    await kubectl(
      [
        'patch',
        'frappesite',
        'kept',
        '--type=merge',
        '-p',
        '{"spec":{"ingress":{"enabled":false}}}',
      ],
      { namespace: ns },
    );
    await waitForGone(client, 'networking.k8s.io/v1', 'Ingress', ns, 'kept-ingress');
  });

  it('runs a SiteJob on a Ready site to Succeeded', async () => {
    await apply(
      {
        apiVersion: 'vyogo.tech/v1alpha1',
        kind: 'SiteJob',
        metadata: { name: 'flush' },
        spec: { siteRef: { name: 'gone' }, jobType: 'clear-cache' },
      },
      ns,
    );
    await eventually(
      async () => {
        const sj = await client.get<SiteJob>('vyogo.tech/v1alpha1', 'SiteJob', ns, 'flush');
        assert.equal(sj?.status?.phase, 'Succeeded', sj?.status?.message);
        assert.equal(sj.status.jobName, 'flush-job');
      },
      { timeout: 120_000, interval: 250, message: 'SiteJob flush Succeeded' },
    );
  });

  it('backs a Ready site up on a schedule, then once (CronJob applied, patched, pruned)', async () => {
    const backup = (spec: Record<string, unknown>) => ({
      apiVersion: 'vyogo.tech/v1alpha1',
      kind: 'SiteBackup',
      // The reference operator's finalizer, which the controller removes.
      metadata: { name: 'nightly', finalizers: ['vyogo.tech/finalizer'] },
      spec: { siteRef: { name: 'kept' }, ...spec },
    });
    const cronJob = () =>
      client.get<KubeObject & { spec: { schedule: string } }>(
        'batch/v1',
        'CronJob',
        ns,
        'nightly-backup',
      );
    const nightly = () =>
      client.get<SiteBackup>('vyogo.tech/v1alpha1', 'SiteBackup', ns, 'nightly');
    await apply(backup({ schedule: '0 2 * * *' }), ns);
    await eventually(
      async () => {
        const sb = await nightly();
        assert.equal(sb?.status?.phase, 'Scheduled');
        assert.deepEqual(sb.metadata.finalizers ?? [], []);
        assert.ok((await cronJob()) !== undefined);
      },
      { timeout: 120_000, interval: 250, message: 'SiteBackup nightly Scheduled' },
    );
    await kubectl(
      ['patch', 'sitebackup', 'nightly', '--type=merge', '-p', '{"spec":{"schedule":"0 3 * * *"}}'],
      { namespace: ns },
    );
    // The CronJob patched in place before the schedule goes (so the patch is seen).
    await eventually(
      async () => {
        assert.equal((await cronJob())?.spec.schedule, '0 3 * * *');
      },
      { timeout: 120_000, interval: 250, message: 'CronJob nightly-backup at 0 3 * * *' },
    );
    // Without a schedule: the CronJob goes, one Job runs.
    await kubectl(
      [
        'patch',
        'sitebackup',
        'nightly',
        '--type=json',
        '-p',
        '[{"op":"remove","path":"/spec/schedule"}]',
      ],
      { namespace: ns },
    );
    await eventually(
      async () => {
        assert.equal((await nightly())?.status?.phase, 'Succeeded');
        assert.equal(await cronJob(), undefined);
      },
      { timeout: 120_000, interval: 250, message: 'SiteBackup nightly Succeeded once' },
    );
  });

  it('deletes the sites under both deletion policies', async () => {
    await kubectl(['delete', 'frappesite', ...SITES, '--wait=false'], { namespace: ns });
    for (const name of SITES) {
      await waitForGone(client, 'vyogo.tech/v1alpha1', 'FrappeSite', ns, name, 120_000);
    }
  });

  it('switches the bench to an external Redis (its StatefulSets and Services pruned)', async () => {
    await patchBench(ns, 'life', {
      spec: {
        redisConfig: {
          auth: null,
          storageSize: null,
          external: true,
          host: 'redis.example.com',
        },
      },
    });
    await waitForGone(client, 'v1', 'Service', ns, 'life-redis-queue');
    await waitForCondition(client, ns, 'life', 'Ready', 'True', undefined, 180_000);
  });

  it('deletes the bench with its PVC, and follows its ConfigMap', async () => {
    await kubectl(['delete', 'frappebench', 'life', '--wait=false'], { namespace: ns });
    await waitForGone(client, 'vyogo.tech/v1alpha1', 'FrappeBench', ns, 'life');
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
    await waitForOperatorLog(supervisor(), OPERATOR, 'operator configuration changed');
  });

  it('used every verb it is granted, and was granted every verb it used', async () => {
    const events = (await readFile(cluster?.auditLogPath ?? '', 'utf8'))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as AuditEvent)
      .filter((e) => e.user.username === OPERATOR_USER);
    const refused = events.filter((e) => e.responseStatus?.code === 403);
    assert.deepEqual(
      refused.map((e) => `${e.verb} ${resourceOf(e) ?? ''}`),
      [],
      'requests refused',
    );
    const used = new Set<string>();
    for (const e of events) {
      const resource = resourceOf(e);
      if (resource === undefined) continue; // discovery and other non-resource requests
      used.add(`${e.verb} ${resource}`);
      // A server-side apply that created its object was authorised as create too.
      if (e.verb === 'patch' && e.responseStatus?.code === 201) used.add(`create ${resource}`);
    }
    const manager = grants(managerClusterRole().rules);
    const election = grants(leaderElectionRole().rules);
    const sorted = (s: Iterable<string>) => [...s].sort();
    assert.deepEqual(
      sorted([...used].filter((u) => !manager.has(u) && !election.has(u))),
      [],
      'used but not granted',
    );
    assert.deepEqual(
      sorted([...manager, ...election].filter((g) => !used.has(g) && !(g in ADMISSION_ONLY))),
      [],
      `granted but never used (used: ${sorted(used).join(', ')})`,
    );
  });
});
