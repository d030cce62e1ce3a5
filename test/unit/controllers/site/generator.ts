// The site's entry in the shared property suite (../children.test.ts): generated sites within
// the admission rules on generated Ready benches, and every child the site controller writes —
// its generated Secrets (built by `secretObject` with distinctive values, the secrets the suite
// looks for in every other child), the Ingress, the MariaDB Operator objects and the Job of
// every site Job request (init, restore, migrate, admin-password, delete under both policies),
// as the Job runner creates them.
import fc from 'fast-check';
import { databaseObjects, dedicatedMariaDB } from '../../../../src/controllers/site/database.ts';
import { siteIngress } from '../../../../src/controllers/site/ingress.ts';
import {
  adminPasswordRequest,
  deleteRequest,
  migrateRequest,
  restoreRequest,
  siteInitRequest,
  type DatabaseEndpoint,
} from '../../../../src/controllers/site/jobs.ts';
import { resolveSite, withDefaults, type SitePlan } from '../../../../src/controllers/site/plan.ts';
import { generatedSecrets, secretObject } from '../../../../src/controllers/site/secrets.ts';
import type { KubeObject } from '../../../../src/kube/client.ts';
import { desiredJob } from '../../../../src/runtime/jobs.ts';
import { secretValue } from '../bench/arbitraries.ts';
import type { ChildrenGenerator, GeneratedChildren } from '../children.ts';
import { siteWithContext } from './arbitraries.ts';

/** Where the database step would find the site's database. */
function endpoint(plan: SitePlan): DatabaseEndpoint {
  const db = plan.database;
  const host =
    db.host ??
    (db.mariadb === undefined
      ? 'db.example.com'
      : `${db.mariadb.name}.${db.mariadb.namespace}.svc.cluster.local`);
  return { host, port: db.port ?? 3306, name: db.name };
}

/** Every child the site controller writes for `plan`, Secrets first. */
export function siteChildren(plan: SitePlan, values: readonly string[]): KubeObject[] {
  const secrets = generatedSecrets(plan).map((g, i) =>
    secretObject(plan, { ...g, value: () => values[i % values.length] ?? '' }),
  );
  const pod = plan.pod;
  if (pod === undefined) throw new Error(`site ${plan.name}: no pod settings`);
  const db = endpoint(plan);
  const adminVersion = '4711';
  const requests = [
    siteInitRequest(plan, pod, db, adminVersion),
    ...(plan.spec.restoreFrom === undefined
      ? []
      : [restoreRequest(plan, pod, db, plan.operatorImage ?? 'operator:test', adminVersion)]),
    migrateRequest(plan, pod),
    adminPasswordRequest(plan, pod, adminVersion),
    deleteRequest(plan, pod, undefined, true),
    deleteRequest(plan, pod, db, false),
  ];
  const ingress = siteIngress(plan);
  const dedicated = dedicatedMariaDB(plan);
  return [
    ...secrets,
    ...(dedicated === undefined ? [] : [dedicated]),
    ...databaseObjects(plan),
    ...(ingress === undefined ? [] : [ingress]),
    ...requests.map((r) => desiredJob(r)),
  ];
}

/** A generated site resolved, and the distinct secret values its generated Secrets get. */
export const sitePlans: fc.Arbitrary<{ plan: SitePlan; secrets: string[] }> = fc
  .tuple(siteWithContext, fc.uniqueArray(secretValue, { minLength: 4, maxLength: 4 }))
  .map(([{ site, ctx }, secrets]) => ({ plan: resolveSite(withDefaults(site), ctx), secrets }));

export const siteGenerator: ChildrenGenerator & { inputs: fc.Arbitrary<GeneratedChildren> } = {
  controller: 'frappesite',
  // Every child is owned by its site from creation (Retain strips references only at deletion).
  unowned: () => false,
  inputs: sitePlans.map(({ plan, secrets }) => ({
    owner: plan.site,
    children: siteChildren(plan, secrets),
    secrets,
  })),
};
