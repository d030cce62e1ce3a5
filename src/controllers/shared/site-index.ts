// Which FrappeSites reference which FrappeBench, in one place for every controller: the bench
// counts its sites and waits for them before deletion; the site controller finds its bench.
// A site runs on a bench of its own namespace. A `benchRef.namespace` naming another namespace
// is accepted by the schema for compatibility but unsupported (API.md §2.2): such a site never
// counts toward that bench and never holds up its deletion — a tenant of one namespace cannot
// block another namespace's bench.
import type { FrappeSite } from '../../api/v1alpha1/index.ts';
import type { Informer } from '../../kube/informer.ts';
import type { Request } from '../../runtime/controller.ts';

/** Index of FrappeSites by the bench they reference: `<namespace>/<bench>`. */
const SITES_BY_BENCH = 'bench';

/** Whether the site's benchRef names another namespace (unsupported). */
const crossNamespaceBenchRef = (site: FrappeSite): boolean => {
  const ns = site.spec.benchRef.namespace;
  return ns !== undefined && ns !== site.metadata.namespace;
};

/** The bench a site runs on: none for a cross-namespace benchRef. */
export const benchOfSite = (site: FrappeSite): Request[] =>
  crossNamespaceBenchRef(site)
    ? []
    : [{ namespace: site.metadata.namespace ?? '', name: site.spec.benchRef.name }];

/** Index the sites of `informer` by the bench they run on (every controller may ask). */
export function indexSitesByBench(informer: Informer<FrappeSite>): void {
  informer.addIndexer(SITES_BY_BENCH, (site) =>
    benchOfSite(site).map((b) => `${b.namespace}/${b.name}`),
  );
}

/** The sites referencing the bench `namespace/name`, as `namespace/name`, sorted. */
export const sitesOfBench = (
  informer: Informer<FrappeSite>,
  namespace: string,
  name: string,
): string[] =>
  informer
    .byIndex(SITES_BY_BENCH, `${namespace}/${name}`)
    .map((s) => `${s.metadata.namespace}/${s.metadata.name}`)
    .sort();
