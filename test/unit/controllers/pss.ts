// A checker of the `restricted` Pod Security Standard (Kubernetes ≥ 1.30, profile "latest"),
// written from the published rules, for property tests of the pod specs our builders produce.
// Returns the violated rules, each named by its control as the pod-security-admission library
// names its checks (the baseline and restricted variants of `capabilities` and `seccompProfile`
// merged); an empty list means the pod would be admitted in a namespace labelled
// `pod-security.kubernetes.io/enforce: restricted`.
import type {
  Container,
  PodSecurityContext,
  PodSpec,
  SecurityContext,
} from '../../../src/controllers/shared/k8s.ts';

const RESTRICTED_VOLUME_TYPES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);
const SELINUX_TYPES = new Set([
  '',
  'container_t',
  'container_init_t',
  'container_kvm_t',
  'container_engine_t',
]);
const SECCOMP_OK = new Set(['RuntimeDefault', 'Localhost']);

/** A control of the restricted profile (pod-security-admission's check IDs). */
export type PssRule =
  | 'hostNamespaces'
  | 'privileged'
  | 'capabilities'
  | 'hostPathVolumes'
  | 'hostPorts'
  | 'appArmorProfile'
  | 'seLinuxOptions'
  | 'procMount'
  | 'seccompProfile'
  | 'sysctls'
  | 'restrictedVolumes'
  | 'allowPrivilegeEscalation'
  | 'runAsNonRoot'
  | 'runAsUser';

export interface PssViolation {
  rule: PssRule;
  /** `pod`, or `container <name>` (init containers included). */
  where: string;
  /** What exactly is wrong, e.g. `capability SYS_ADMIN added`. */
  detail: string;
}

function badSeLinux(se: PodSecurityContext['seLinuxOptions']): boolean {
  return (
    se !== undefined &&
    (!SELINUX_TYPES.has(se.type ?? '') || (se.user ?? '') !== '' || (se.role ?? '') !== '')
  );
}

function containerViolations(c: Container, pod: PodSecurityContext): PssViolation[] {
  const sc: SecurityContext = c.securityContext ?? {};
  const v: PssViolation[] = [];
  const add = (rule: PssRule, detail: string): void => {
    v.push({ rule, where: `container ${c.name}`, detail });
  };
  if (sc.privileged === true) add('privileged', 'privileged');
  if (sc.allowPrivilegeEscalation !== false)
    add('allowPrivilegeEscalation', 'allowPrivilegeEscalation != false');
  if (!(sc.capabilities?.drop ?? []).includes('ALL'))
    add('capabilities', 'capabilities.drop lacks ALL');
  for (const cap of sc.capabilities?.add ?? []) {
    if (cap !== 'NET_BIND_SERVICE') add('capabilities', `capability ${cap} added`);
  }
  if ((sc.runAsNonRoot ?? pod.runAsNonRoot) !== true) add('runAsNonRoot', 'runAsNonRoot not true');
  if ((sc.runAsUser ?? pod.runAsUser) === 0) add('runAsUser', 'runAsUser 0');
  const seccomp = sc.seccompProfile?.type ?? pod.seccompProfile?.type;
  if (seccomp === undefined || !SECCOMP_OK.has(seccomp))
    add('seccompProfile', `seccompProfile ${String(seccomp)}`);
  if (sc.procMount !== undefined && sc.procMount !== 'Default')
    add('procMount', `procMount ${sc.procMount}`);
  if (sc.appArmorProfile?.type === 'Unconfined')
    add('appArmorProfile', 'appArmorProfile Unconfined');
  if (badSeLinux(sc.seLinuxOptions)) add('seLinuxOptions', 'seLinuxOptions');
  for (const p of c.ports ?? []) {
    if ((p.hostPort ?? 0) !== 0) add('hostPorts', `hostPort ${p.hostPort}`);
  }
  return v;
}

/** The restricted rules `spec` violates, one entry per rule, place and cause. */
export function restrictedRuleViolations(spec: PodSpec): PssViolation[] {
  const pod: PodSecurityContext = spec.securityContext ?? {};
  const v: PssViolation[] = [];
  const add = (rule: PssRule, detail: string): void => {
    v.push({ rule, where: 'pod', detail });
  };
  if (spec.hostNetwork === true) add('hostNamespaces', 'hostNetwork');
  if (spec.hostPID === true) add('hostNamespaces', 'hostPID');
  if (spec.hostIPC === true) add('hostNamespaces', 'hostIPC');
  if (pod.runAsUser === 0) add('runAsUser', 'runAsUser 0');
  if (pod.seccompProfile?.type === 'Unconfined') add('seccompProfile', 'seccompProfile Unconfined');
  if (pod.appArmorProfile?.type === 'Unconfined')
    add('appArmorProfile', 'appArmorProfile Unconfined');
  if (badSeLinux(pod.seLinuxOptions)) add('seLinuxOptions', 'seLinuxOptions');
  for (const s of pod.sysctls ?? []) if (!SAFE_SYSCTLS.has(s.name)) add('sysctls', s.name);
  for (const vol of spec.volumes ?? []) {
    const types = Object.keys(vol).filter((k) => k !== 'name');
    for (const t of types) {
      // A hostPath volume fails both controls, as the admission plugin reports it.
      if (t === 'hostPath') add('hostPathVolumes', `volume ${vol.name}: hostPath`);
      if (!RESTRICTED_VOLUME_TYPES.has(t)) add('restrictedVolumes', `volume ${vol.name}: ${t}`);
    }
  }
  for (const c of [...(spec.initContainers ?? []), ...spec.containers])
    v.push(...containerViolations(c, pod));
  return v;
}

/** The restricted rules `spec` violates, as readable lines (`<where>: <rule>: <detail>`). */
export function restrictedViolations(spec: PodSpec): string[] {
  return restrictedRuleViolations(spec).map((v) => `${v.where}: ${v.rule}: ${v.detail}`);
}
