// What the site builders need besides the FrappeSite itself, gathered by the reconciler from the
// operator configuration and the informer caches. `resolveSite` (plan.ts) turns the site and
// this context into the plan every builder takes.
import type { FrappeBench } from '../../api/v1alpha1/index.ts';
import type { Stored } from '../../kube/informer.ts';
import type { OperatorDefaults } from '../shared/defaults.ts';

/** A MariaDB object of the MariaDB Operator: `namespace/name`. */
export interface MariaDBRef {
  name: string;
  namespace: string;
}

export interface SiteContext {
  defaults: OperatorDefaults;
  /** The site's bench with its schema defaults applied; undefined when it does not exist. */
  bench: Stored<FrappeBench> | undefined;
  /** `spec.mariaDbRef` of the site's existing Database object: the MariaDB it was pinned to. */
  pinnedMariaDB: MariaDBRef | undefined;
}
