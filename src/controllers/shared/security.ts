// Security contexts of every pod and container the operator creates for a bench and its sites
// (API.md §5.1). Per field: `bench.spec.security` > operator env (FRAPPE_DEFAULT_UID/_GID/
// _FSGROUP) > built-in 1001/0/0. On OpenShift the IDs stay unset, so the SCC assigns them, unless
// the bench or an explicitly set env gives them. Everything else is fixed so that every pod passes
// the `restricted` Pod Security Standard.
import { CONFIG_SPEC } from '../../config/operator-config.ts';
import type { PodSecurityContext, SecurityContext } from './k8s.ts';

/** The operator's start-up security defaults; `*Set` is true when the env gave the value. */
export interface SecurityDefaults {
  uid: number;
  gid: number;
  fsGroup: number;
  uidSet: boolean;
  gidSet: boolean;
  fsGroupSet: boolean;
}

/** The operator configuration's built-in IDs, none set by the env. */
export const BUILTIN_SECURITY_DEFAULTS: SecurityDefaults = {
  uid: CONFIG_SPEC.defaultUID.default,
  gid: CONFIG_SPEC.defaultGID.default,
  fsGroup: CONFIG_SPEC.defaultFSGroup.default,
  uidSet: false,
  gidSet: false,
  fsGroupSet: false,
};

/** A bench's `spec.security`. */
export interface SecurityOverrides {
  podSecurityContext?: PodSecurityContext;
  securityContext?: SecurityContext;
}

export interface SecurityContexts {
  pod: PodSecurityContext;
  container: SecurityContext;
}

const defaultId = (value: number, set: boolean, isOpenShift: boolean): number | undefined =>
  isOpenShift && !set ? undefined : value;

/** The restricted standard requires dropping ALL, whatever else a bench drops. */
const withAll = (drop: string[] | undefined): string[] =>
  drop?.includes('ALL') === true ? drop : [...(drop ?? []), 'ALL'];

/** Drop undefined fields, so applied objects carry only the fields the operator decides. */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** The pod and container security contexts for one bench. */
export function securityContexts(
  overrides: SecurityOverrides | undefined,
  defaults: SecurityDefaults,
  isOpenShift: boolean,
): SecurityContexts {
  const p = overrides?.podSecurityContext ?? {};
  const c = overrides?.securityContext ?? {};
  const pod = defined<PodSecurityContext>({
    ...p,
    runAsUser: p.runAsUser ?? defaultId(defaults.uid, defaults.uidSet, isOpenShift),
    runAsGroup: p.runAsGroup ?? defaultId(defaults.gid, defaults.gidSet, isOpenShift),
    fsGroup: p.fsGroup ?? defaultId(defaults.fsGroup, defaults.fsGroupSet, isOpenShift),
    runAsNonRoot: p.runAsNonRoot ?? true,
    fsGroupChangePolicy: p.fsGroupChangePolicy ?? 'OnRootMismatch',
    seccompProfile: p.seccompProfile ?? { type: 'RuntimeDefault' },
  });
  const container = defined<SecurityContext>({
    ...c,
    runAsUser: c.runAsUser ?? (isOpenShift ? undefined : pod.runAsUser),
    runAsGroup: c.runAsGroup ?? (isOpenShift ? undefined : pod.runAsGroup),
    allowPrivilegeEscalation: c.allowPrivilegeEscalation ?? false,
    capabilities: { ...c.capabilities, drop: withAll(c.capabilities?.drop) },
    readOnlyRootFilesystem: c.readOnlyRootFilesystem ?? false,
    seccompProfile: c.seccompProfile ?? { type: 'RuntimeDefault' },
  });
  return { pod, container };
}
