// Properties of the site's children beyond those every controller's children share
// (../children.test.ts), over generated sites: the Jobs keep the contract of their scripts and of
// API.md §3.1 (env names of SITE_ENV only, secrets only as mounted files, restartPolicy Never,
// ttlSecondsAfterFinished 86400, the site labels), and the dedicated MariaDB runs with restricted
// security contexts and requests and limits.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Container, PodSpec } from '../../../../src/controllers/shared/k8s.ts';
import type { Job } from '../../../../src/controllers/shared/objects.ts';
import { MARIADB_API_VERSION } from '../../../../src/controllers/site/database.ts';
import { SITE_ENV } from '../../../../src/controllers/site/scripts.ts';
import { restrictedViolations } from '../pss.ts';
import { siteChildren, sitePlans } from './generator.ts';

const ENV_NAMES = new Set<string>(['USER', 'HOME', ...Object.values(SITE_ENV)]);
const SECRETS_DIR = '/var/run/secrets/frappe/';

function jobViolations(job: Job, site: string, bench: string): string[] {
  const out: string[] = [];
  const where = `Job ${job.metadata.name ?? ''}`;
  const spec = job.spec;
  const pod = spec.template.spec;
  if (pod === undefined) return [`${where}: no pod spec`];
  if (pod.restartPolicy !== 'Never')
    out.push(`${where}: restartPolicy ${String(pod.restartPolicy)}`);
  if (spec.ttlSecondsAfterFinished !== 86_400) out.push(`${where}: ttlSecondsAfterFinished`);
  for (const labels of [job.metadata.labels, spec.template.metadata?.labels]) {
    const want = { app: 'frappe', bench, site };
    for (const [k, v] of Object.entries(want)) {
      if (labels?.[k] !== v) out.push(`${where}: label ${k}=${String(labels?.[k])}, want ${v}`);
    }
    if (labels?.component === undefined) out.push(`${where}: no component label`);
  }
  const secretVolumes = new Set(
    (pod.volumes ?? []).filter((v) => v.secret !== undefined).map((v) => v.name),
  );
  for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
    const mounts = c.volumeMounts ?? [];
    for (const e of c.env ?? []) {
      if (c.name !== 'download' && !ENV_NAMES.has(e.name)) {
        out.push(`${where}/${c.name}: env ${e.name} is not in SITE_ENV`);
      }
      if (e.valueFrom !== undefined) out.push(`${where}/${c.name}: env ${e.name} from a reference`);
      if (!e.name.endsWith('_FILE')) continue;
      // A secret reaches a script only as a file of a read-only Secret mount.
      const mount = mounts.find((m) => e.value?.startsWith(`${m.mountPath}/`) === true);
      if (
        e.value?.startsWith(SECRETS_DIR) !== true ||
        mount === undefined ||
        mount.readOnly !== true ||
        !secretVolumes.has(mount.name)
      ) {
        out.push(`${where}/${c.name}: ${e.name}=${String(e.value)} is not a read-only Secret file`);
      }
    }
  }
  return out;
}

test('site Jobs: SITE_ENV names, secrets as read-only files, Never, 24 h TTL, site labels', () => {
  fc.assert(
    fc.property(sitePlans, ({ plan, secrets }) => {
      const jobs = siteChildren(plan, secrets).filter((o): o is Job => o.kind === 'Job');
      assert.ok(jobs.length >= 5);
      assert.deepEqual(
        jobs.flatMap((j) => jobViolations(j, plan.name, plan.benchName)),
        [],
      );
    }),
    { numRuns: 150 },
  );
});

test('the dedicated MariaDB: restricted security contexts, requests and limits', () => {
  fc.assert(
    fc.property(sitePlans, ({ plan, secrets }) => {
      const mariadb = siteChildren(plan, secrets).find(
        (o) => o.apiVersion === MARIADB_API_VERSION && o.kind === 'MariaDB',
      ) as { spec: Record<string, unknown> } | undefined;
      if (plan.database.mode !== 'dedicated') {
        assert.equal(mariadb, undefined);
        return;
      }
      assert.ok(mariadb !== undefined);
      const spec = mariadb.spec;
      // The MariaDB Operator copies these onto the pod and its container.
      const container = {
        name: 'mariadb',
        securityContext: spec.securityContext,
        resources: spec.resources,
      } as Container;
      const pod = { securityContext: spec.podSecurityContext, containers: [container] } as PodSpec;
      assert.deepEqual(restrictedViolations(pod), []);
      for (const r of ['cpu', 'memory']) {
        assert.ok(container.resources?.requests?.[r] !== undefined, `request ${r}`);
        assert.ok(container.resources.limits?.[r] !== undefined, `limit ${r}`);
      }
    }),
    { numRuns: 150 },
  );
});
