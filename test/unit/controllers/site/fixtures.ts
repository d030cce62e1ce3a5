// FrappeSite objects as the API server stores them (validated, schema defaults applied) and the
// context the reconciler gathers for them: the guide's recovered-site (docs/operations-guide.txt,
// src/dev/guide/recovered-site.yaml), API.md §2.2's typical site, a Ready prod-bench with its
// bench-init done, and `planOf` resolving a site as the reconciler does.
import {
  validateFrappeSite,
  type FrappeBench,
  type FrappeSite,
} from '../../../../src/api/v1alpha1/index.ts';
import { withDefaults as benchWithDefaults } from '../../../../src/controllers/bench/plan.ts';
import type { SiteContext } from '../../../../src/controllers/site/context.ts';
import type { DatabaseEndpoint } from '../../../../src/controllers/site/jobs.ts';
import { resolveSite, withDefaults, type SitePlan } from '../../../../src/controllers/site/plan.ts';
import { loadManifest, MANIFESTS } from '../../../../src/dev/guide/guide.ts';
import type { Stored } from '../../../../src/kube/informer.ts';
import { prodBenchManifest, stored as storedBench } from '../bench/fixtures.ts';
import { operatorDefaults } from '../defaults.ts';

export const NAMESPACE = 'production';
export const SITE_UID = '7a2b3c4d-0000-4000-8000-000000000002';
/** The image prod-bench's bench-init succeeded with (status.initializedImage and status.image). */
export const BENCH_IMAGE = 'docker.io/frappe/erpnext:v15.38.0';

/** `obj` as stored: validated, schema defaults filled in, uid and generation set. */
export function storedSite(obj: unknown): Stored<FrappeSite> {
  const result = validateFrappeSite(obj);
  if (!result.ok) throw new Error(`invalid FrappeSite: ${result.errors.join('; ')}`);
  const site = result.value;
  return {
    ...site,
    metadata: {
      uid: SITE_UID,
      resourceVersion: '1',
      generation: 1,
      ...site.metadata,
      name: site.metadata.name ?? 'site',
      namespace: site.metadata.namespace ?? NAMESPACE,
    },
  };
}

/** A FrappeSite in `production` on prod-bench with `spec` (benchRef and siteName defaulted). */
export function site(
  spec: Record<string, unknown> = {},
  metadata: Record<string, unknown> = {},
): Stored<FrappeSite> {
  return storedSite({
    apiVersion: 'vyogo.tech/v1alpha1',
    kind: 'FrappeSite',
    metadata: { name: 'acme', namespace: NAMESPACE, ...metadata },
    spec: { benchRef: { name: 'prod-bench' }, siteName: 'acme.example.com', ...spec },
  });
}

/** The guide's Site Recovery FrappeSite, unchanged, stored in `production` beside prod-bench. */
export async function recoveredSite(): Promise<Stored<FrappeSite>> {
  const fixture = MANIFESTS.find((m) => m.file === 'recovered-site.yaml');
  if (fixture === undefined) throw new Error('no recovered-site fixture');
  const manifest = (await loadManifest(fixture)) as { metadata?: Record<string, unknown> };
  return storedSite({ ...manifest, metadata: { ...manifest.metadata, namespace: NAMESPACE } });
}

/** API.md §2.2's typical site: the guide's admin Secret and shared MariaDB, TLS, erpnext. */
export const prodSite = (): Stored<FrappeSite> =>
  site(
    {
      siteName: 'erp.example.com',
      apps: ['erpnext'],
      tls: { enabled: true },
      adminPasswordSecretRef: { name: 'prod-site-admin-password' },
      dbConfig: { mariadbRef: { name: 'shared-mariadb', namespace: 'databases' } },
    },
    { name: 'prod-site' },
  );

/** prod-bench (API.md §2.1) Ready: bench-init done for `image`, the apps its image has. */
export function readyBench(
  spec: Record<string, unknown> = {},
  image: string = BENCH_IMAGE,
  name = 'prod-bench',
): Stored<FrappeBench> {
  const bench = storedBench({
    ...prodBenchManifest,
    metadata: { ...prodBenchManifest.metadata, name },
    spec: { ...prodBenchManifest.spec, ...spec },
    status: {
      phase: 'Ready',
      observedGeneration: 1,
      image,
      initializedImage: image,
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'BenchReady',
          message: 'every component is available',
          observedGeneration: 1,
          lastTransitionTime: '2025-01-01T00:00:00Z',
        },
      ],
      apps: [
        { name: 'frappe', version: '15.38.0' },
        { name: 'erpnext', version: '15.38.0' },
        { name: 'hrms', version: '15.30.0' },
      ],
    },
  });
  return benchWithDefaults(bench);
}

/** The context of a site on the Ready prod-bench with the operator's defaults. */
export function context(overrides: Partial<SiteContext> = {}): SiteContext {
  return {
    defaults: operatorDefaults(),
    bench: readyBench(),
    pinnedMariaDB: undefined,
    ...overrides,
  };
}

/** The site resolved as the reconciler resolves it (defaults applied once). */
export const planOf = (s: Stored<FrappeSite>, overrides: Partial<SiteContext> = {}): SitePlan =>
  resolveSite(withDefaults(s), context(overrides));

/** The plan's pod settings, which exist whenever the bench does. */
export function podOf(plan: SitePlan): NonNullable<SitePlan['pod']> {
  if (plan.pod === undefined) throw new Error(`site ${plan.name}: no pod settings (no bench?)`);
  return plan.pod;
}

/** Where the database step found the shared MariaDB's database. */
export const endpointOf = (
  plan: SitePlan,
  host = 'shared-mariadb.databases.svc.cluster.local',
): DatabaseEndpoint => ({
  host,
  port: 3306,
  name: plan.database.name,
});
