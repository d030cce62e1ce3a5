// A checker of the `restricted` Pod Security Standard (Kubernetes ≥ 1.30, profile "latest"),
// written from the published rules, for property tests of the pod specs our builders produce.
// Returns the violated rules; an empty list means the pod would be admitted in a namespace
// labelled `pod-security.kubernetes.io/enforce: restricted`.
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

function containerViolations(c: Container, pod: PodSecurityContext): string[] {
  const sc: SecurityContext = c.securityContext ?? {};
  const v: string[] = [];
  const where = `container ${c.name}`;
  if (sc.privileged === true) v.push(`${where}: privileged`);
  if (sc.allowPrivilegeEscalation !== false) v.push(`${where}: allowPrivilegeEscalation != false`);
  if (!(sc.capabilities?.drop ?? []).includes('ALL'))
    v.push(`${where}: capabilities.drop lacks ALL`);
  for (const cap of sc.capabilities?.add ?? []) {
    if (cap !== 'NET_BIND_SERVICE') v.push(`${where}: capability ${cap} added`);
  }
  const nonRoot = sc.runAsNonRoot ?? pod.runAsNonRoot;
  if (nonRoot !== true) v.push(`${where}: runAsNonRoot not true`);
  if ((sc.runAsUser ?? pod.runAsUser) === 0) v.push(`${where}: runAsUser 0`);
  const seccomp = sc.seccompProfile?.type ?? pod.seccompProfile?.type;
  if (seccomp === undefined || !SECCOMP_OK.has(seccomp))
    v.push(`${where}: seccompProfile ${String(seccomp)}`);
  if (sc.procMount !== undefined && sc.procMount !== 'Default')
    v.push(`${where}: procMount ${sc.procMount}`);
  if (sc.appArmorProfile?.type === 'Unconfined') v.push(`${where}: appArmorProfile Unconfined`);
  const se = sc.seLinuxOptions;
  if (
    se !== undefined &&
    (!SELINUX_TYPES.has(se.type ?? '') || (se.user ?? '') !== '' || (se.role ?? '') !== '')
  ) {
    v.push(`${where}: seLinuxOptions`);
  }
  for (const p of c.ports ?? []) {
    if ((p.hostPort ?? 0) !== 0) v.push(`${where}: hostPort ${p.hostPort}`);
  }
  return v;
}

/** The restricted rules `spec` violates. */
export function restrictedViolations(spec: PodSpec): string[] {
  const pod: PodSecurityContext = spec.securityContext ?? {};
  const v: string[] = [];
  if (spec.hostNetwork === true) v.push('hostNetwork');
  if (spec.hostPID === true) v.push('hostPID');
  if (spec.hostIPC === true) v.push('hostIPC');
  if (pod.runAsUser === 0) v.push('pod runAsUser 0');
  if (pod.seccompProfile?.type === 'Unconfined') v.push('pod seccompProfile Unconfined');
  if (pod.appArmorProfile?.type === 'Unconfined') v.push('pod appArmorProfile Unconfined');
  const se = pod.seLinuxOptions;
  if (
    se !== undefined &&
    (!SELINUX_TYPES.has(se.type ?? '') || (se.user ?? '') !== '' || (se.role ?? '') !== '')
  ) {
    v.push('pod seLinuxOptions');
  }
  for (const s of pod.sysctls ?? []) if (!SAFE_SYSCTLS.has(s.name)) v.push(`sysctl ${s.name}`);
  for (const vol of spec.volumes ?? []) {
    const types = Object.keys(vol).filter((k) => k !== 'name');
    for (const t of types) if (!RESTRICTED_VOLUME_TYPES.has(t)) v.push(`volume ${vol.name}: ${t}`);
  }
  for (const c of [...(spec.initContainers ?? []), ...spec.containers])
    v.push(...containerViolations(c, pod));
  return v;
}
