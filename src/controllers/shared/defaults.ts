// The operator-wide defaults every controller builds with (API.md §4.1, §5.1): images, ingress
// and TLS defaults, security IDs and OpenShift detection, read from the operator configuration
// in force (a ConfigMap change reaches the next reconcile) and discovery.
import type { OperatorConfigHolder } from '../../config/holder.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { SecurityDefaults } from './security.ts';

export interface OperatorDefaults {
  frappeImage: string;
  redisImage: string;
  redisExporterImage: string;
  statsdExporterImage: string;
  mariadbImage: string;
  /** The operator's own image: the backup agent of backup and restore Jobs. */
  operatorImage: string | undefined;
  /** `""`: the cluster's default IngressClass. */
  ingressClassName: string;
  /** `""`: none. */
  clusterIssuer: string;
  enforceHTTPS: boolean;
  security: SecurityDefaults;
  isOpenShift: boolean;
}

/**
 * The defaults of the configuration in force, with `isOpenShift` decided by the caller (discovery
 * in the operator; the configuration or a flag where there is no cluster, as `render` does).
 */
export function configDefaults(
  holder: Pick<OperatorConfigHolder, 'config' | 'sourceOf'>,
  isOpenShift: boolean,
): OperatorDefaults {
  const c = holder.config;
  return {
    frappeImage: c.defaultFrappeImage,
    redisImage: c.defaultRedisImage,
    redisExporterImage: c.defaultRedisExporterImage,
    statsdExporterImage: c.defaultStatsdExporterImage,
    mariadbImage: c.defaultMariaDBImage,
    operatorImage: c.operatorImage,
    ingressClassName: c.defaultIngressClassName,
    clusterIssuer: c.defaultClusterIssuer,
    enforceHTTPS: c.enforceHTTPS,
    security: {
      uid: c.defaultUID,
      gid: c.defaultGID,
      fsGroup: c.defaultFSGroup,
      uidSet: holder.sourceOf('defaultUID') === 'env',
      gidSet: holder.sourceOf('defaultGID') === 'env',
      fsGroupSet: holder.sourceOf('defaultFSGroup') === 'env',
    },
    isOpenShift,
  };
}

/** The defaults in force; OpenShift is detected by discovery unless FRAPPE_IS_OPENSHIFT says. */
export async function operatorDefaults(
  holder: OperatorConfigHolder,
  client: KubeClient,
): Promise<OperatorDefaults> {
  return configDefaults(
    holder,
    holder.config.isOpenShift ??
      (await client.hasResource('security.openshift.io/v1', 'SecurityContextConstraints')),
  );
}
