// Which FrappeSites reference which FrappeBench, in one place for every controller: the bench
// counts its sites and waits for them before deletion; the site controller finds its bench.
// A site references a bench of its own namespace unless `benchRef.namespace` says otherwise.
import type { FrappeSite } from '../../api/v1alpha1/index.ts';
import type { Informer } from '../../kube/informer.ts';
import type { Request } from '../../runtime/controller.ts';

/** Index of FrappeSites by the bench they reference: `<namespace>/<bench>`. */
export const SITES_BY_BENCH = 'bench';

/** The bench a site references. */
export const benchOfSite = (site: FrappeSite): Request => ({
  namespace: site.spec.benchRef.namespace ?? site.metadata.namespace ?? '',
  name: site.spec.benchRef.name,
});

/** Index the sites of `informer` by the bench they reference (every controller may ask). */
export function indexSitesByBench(informer: Informer<FrappeSite>): void {
  informer.addIndexer(SITES_BY_BENCH, (site) => {
    const bench = benchOfSite(site);
    return [`${bench.namespace}/${bench.name}`];
  });
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
