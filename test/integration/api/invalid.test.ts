// Admission validation against the real API server: a table of invalid objects and updates, one
// or more per rule of API.md §6 (B0–B23, D1–D6, S0–S12, K0–K8, J0–J7), each rejected with its
// message. Update cases first create a valid object, then send the merge patch.
import { strict as assert } from 'node:assert';
import { before, describe, it } from 'node:test';
import { applyOurCrds, createTestNamespace } from '../../harness/namespace.ts';
import { kubectl } from '../../harness/kubectl.ts';
import { API_VERSION, KINDS } from '../../../src/api/v1alpha1/index.ts';
import type { KindName } from '../../../src/api/v1alpha1/index.ts';
import { installedCrdDiffers, submit } from './support.ts';

type Spec = Record<string, unknown>;

interface Case {
  /** Rule ids of API.md §6 the case exercises. */
  rule: string;
  title: string;
  kind: KindName;
  /** Merged over the kind's valid base spec. */
  spec?: Spec;
  name?: string;
  /** Update case: the merge patch sent after creating the object. */
  patch?: Spec;
  /** Text that must appear in kubectl's stderr. */
  message: string;
}

const BASE: Record<KindName, Spec> = {
  FrappeBench: {},
  FrappeSite: { benchRef: { name: 'prod-bench' }, siteName: 'erp.example.com' },
  SiteBackup: { siteRef: { name: 'prod-site' } },
  SiteJob: { siteRef: { name: 'prod-site' }, jobType: 'migrate' },
};

const autoscaling = (entry: Spec, key = 'gunicorn') => ({
  componentAutoscaling: { [key]: { enabled: true, ...entry } },
});
const s3 = { type: 's3', config: { bucket: 'frappe-backups' } };

const MSG = {
  b1: 'FrappeBench name must be a DNS-1035 label of at most 40 characters (it prefixes Service and StatefulSet names)',
  b6: 'appsJSON must be a JSON array of app names, each optionally with @version, e.g. ["erpnext", "custom_app@v2.0.0"]',
  b7Keys: 'only cpu, memory and ephemeral-storage may be set',
  b7Quantity: 'resource values must be quantities such as 500m or 2Gi',
  b12: 'keda.targetValue must be a positive number in a string, e.g. "5"',
  b13: 'storageSize must be a positive quantity such as 10Gi',
  b15: 'redisConfig.storageSize, auth and metrics apply only to the built-in Redis',
  b17: 'security.podSecurityContext must keep pods non-root with a seccomp profile (restricted Pod Security Standard)',
  b18: 'security.securityContext must not allow root, privilege escalation, privileged mode or added capabilities (restricted Pod Security Standard)',
  b19: "podConfig.labels must not override the operator's labels app, bench, component, site or app.kubernetes.io/*",
  appArmor:
    'appArmorProfile.type must be RuntimeDefault or Localhost: Unconfined is not allowed (restricted Pod Security Standard)',
  procMount:
    'security.securityContext.procMount must be Default: Unmasked is not allowed (restricted Pod Security Standard)',
  seLinux:
    'seLinuxOptions.type must be container_t, container_init_t, container_kvm_t or container_engine_t, and seLinuxOptions.user and role must be unset (restricted Pod Security Standard)',
  sysctls:
    'security.podSecurityContext.sysctls may only set the safe sysctls kernel.shm_rmid_forced, net.ipv4.ip_local_port_range, net.ipv4.ip_local_reserved_ports, net.ipv4.ip_unprivileged_port_start, net.ipv4.ping_group_range, net.ipv4.tcp_syncookies, net.ipv4.tcp_keepalive_time, net.ipv4.tcp_keepalive_intvl, net.ipv4.tcp_keepalive_probes and net.ipv4.tcp_fin_timeout (restricted Pod Security Standard)',
  appArmorAnnotations:
    'podConfig.annotations may set container.apparmor.security.beta.kubernetes.io/<container> only to runtime/default or localhost/<profile> (restricted Pod Security Standard)',
  b21: 'podDisruptionBudget.maxUnavailable must be at least 1 or a percentage from 1% to 100%',
  b22: 'nginx.upstreamRealIPAddress must be one IPv4 or IPv6 address or CIDR, such as 10.0.0.0/8 (the addresses your ingress controller or load balancer connects from)',
  b23: 'nginx.upstreamRealIPHeader must be an HTTP header name such as X-Forwarded-For or X-Real-IP (letters, digits, - and _)',
  s7Files:
    'restoreFrom.files and restoreFrom.privateFiles must be s3://bucket/key URLs of tar files',
  s8: 'restoreFrom can only be set when the site is created and cannot be changed',
  k1: 'exactly one of siteRef or site must be set',
  k2: 'schedule must be a cron expression with 5 fields (e.g. "0 2 * * *") or one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly',
  k4: 'destination.config.bucket is required for type s3 and must be a valid bucket name',
  k5: 'destination.config fields must match destination.type',
  j5Backup: 'jobConfig.withFiles, compress and destination apply only to jobType backup',
  j6: 'jobConfig.apps entries must be app names; frappe cannot be uninstalled',
} as const;

const CASES: Case[] = [
  // FrappeBench
  {
    rule: 'B0',
    title: 'storageAccessMode enum',
    kind: 'FrappeBench',
    spec: { storageAccessMode: 'ReadOnlyMany' },
    message: 'Unsupported value: "ReadOnlyMany"',
  },
  {
    rule: 'B0',
    title: 'pullPolicy enum',
    kind: 'FrappeBench',
    spec: { imageConfig: { pullPolicy: 'Sometimes' } },
    message: 'Unsupported value: "Sometimes"',
  },
  {
    rule: 'B0',
    title: 'hpa.metric enum',
    kind: 'FrappeBench',
    spec: autoscaling({ hpa: { metric: 'requests' } }),
    message: 'Unsupported value: "requests"',
  },
  {
    rule: 'B0',
    title: 'siteReconcileConcurrency below 1',
    kind: 'FrappeBench',
    spec: { siteReconcileConcurrency: 0 },
    message: 'should be greater than or equal to 1',
  },
  {
    rule: 'B0',
    title: 'targetUtilization above 100',
    kind: 'FrappeBench',
    spec: autoscaling({ hpa: { targetUtilization: 101 } }),
    message: 'should be less than or equal to 100',
  },
  {
    rule: 'B0',
    title: 'siteMigration.maxConcurrent above 100',
    kind: 'FrappeBench',
    spec: { siteMigration: { maxConcurrent: 101 } },
    message: 'should be less than or equal to 100',
  },
  {
    rule: 'B1',
    title: 'name longer than 40',
    kind: 'FrappeBench',
    name: 'b'.repeat(41),
    message: MSG.b1,
  },
  {
    rule: 'B1',
    title: 'name not a DNS-1035 label',
    kind: 'FrappeBench',
    name: '1bench',
    message: MSG.b1,
  },
  {
    rule: 'B2',
    title: 'frappeVersion',
    kind: 'FrappeBench',
    spec: { frappeVersion: 'v15 beta' },
    message: 'frappeVersion must look like 15, 15.1.0, version-15 or v15.1.0',
  },
  {
    rule: 'B3',
    title: 'repository with a tag',
    kind: 'FrappeBench',
    spec: { imageConfig: { repository: 'docker.io/frappe/erpnext:v15' } },
    message:
      'imageConfig.repository must be an image name without tag or digest; put the tag in imageConfig.tag',
  },
  {
    rule: 'B3',
    title: 'bad tag',
    kind: 'FrappeBench',
    spec: { imageConfig: { tag: 'v15/latest' } },
    message: 'imageConfig.tag must be a valid image tag',
  },
  {
    rule: 'B4',
    title: 'app name',
    kind: 'FrappeBench',
    spec: { apps: [{ name: 'ERPNext' }] },
    message: 'apps[].name must be a Python package name: lowercase letters, digits and underscores',
  },
  {
    rule: 'B4',
    title: 'duplicate app',
    kind: 'FrappeBench',
    spec: { apps: [{ name: 'erpnext' }, { name: 'erpnext' }] },
    message: 'Duplicate value',
  },
  {
    rule: 'B5',
    title: 'app source',
    kind: 'FrappeBench',
    spec: { apps: [{ name: 'erpnext', source: 'git' }] },
    message: "only source 'image' is supported in v1alpha1: build the app into the bench image",
  },
  {
    rule: 'B6',
    title: 'bad appsJSON',
    kind: 'FrappeBench',
    spec: { appsJSON: 'erpnext, hrms' },
    message: MSG.b6,
  },
  {
    rule: 'B6',
    title: 'appsJSON with an uppercase app',
    kind: 'FrappeBench',
    spec: { appsJSON: '["ERPNext"]' },
    message: MSG.b6,
  },
  {
    rule: 'B6',
    title: 'appsJSON that is not JSON: a control character in a version',
    kind: 'FrappeBench',
    spec: { appsJSON: '["erpnext@v15\u0001"]' },
    message: MSG.b6,
  },
  {
    rule: 'B7',
    title: 'resource key gpu',
    kind: 'FrappeBench',
    spec: { componentResources: { gunicorn: { requests: { gpu: '1' } } } },
    message: MSG.b7Keys,
  },
  {
    rule: 'B7',
    title: 'resource value not a quantity',
    kind: 'FrappeBench',
    spec: { componentResources: { nginx: { limits: { memory: 'lots' } } } },
    message: MSG.b7Quantity,
  },
  {
    rule: 'B7',
    title: 'request above limit',
    kind: 'FrappeBench',
    spec: { jobResources: { migrate: { requests: { cpu: 2 }, limits: { cpu: '1500m' } } } },
    message: 'requests must not exceed limits',
  },
  {
    rule: 'B8',
    title: 'scheduler autoscaling',
    kind: 'FrappeBench',
    spec: autoscaling({}, 'scheduler'),
    message:
      'componentAutoscaling keys must be gunicorn, nginx, socketio, worker-default, worker-short or worker-long (the scheduler always runs 1 replica)',
  },
  {
    rule: 'B9',
    title: 'minReplicas above maxReplicas',
    kind: 'FrappeBench',
    spec: autoscaling({ minReplicas: 5, maxReplicas: 3 }),
    message: 'minReplicas must not exceed maxReplicas',
  },
  {
    rule: 'B10',
    title: 'hpa with minReplicas 0',
    kind: 'FrappeBench',
    spec: autoscaling({ provider: 'hpa', minReplicas: 0 }),
    message:
      'minReplicas must be at least 1 with provider hpa; scaling to zero requires provider keda',
  },
  {
    rule: 'B11',
    title: 'keda redis trigger on gunicorn',
    kind: 'FrappeBench',
    spec: autoscaling({ provider: 'keda', keda: { trigger: 'redis' } }),
    message: "keda trigger 'redis' is only valid for worker-default, worker-short and worker-long",
  },
  {
    rule: 'B12',
    title: 'targetValue not a number',
    kind: 'FrappeBench',
    spec: autoscaling({ provider: 'keda', keda: { targetValue: 'five' } }, 'worker-short'),
    message: MSG.b12,
  },
  {
    rule: 'B12',
    title: 'targetValue zero',
    kind: 'FrappeBench',
    spec: autoscaling({ provider: 'keda', keda: { targetValue: '0' } }, 'worker-short'),
    message: MSG.b12,
  },
  {
    rule: 'B13',
    title: 'redisConfig.maxMemory in milli-bytes',
    kind: 'FrappeBench',
    spec: { redisConfig: { maxMemory: '512m' } },
    message:
      'redisConfig.maxMemory must be at least 1Mi, such as 512Mi (a plain number is bytes; m means milli-bytes)',
  },
  {
    rule: 'B13',
    title: 'storageSize zero',
    kind: 'FrappeBench',
    spec: { storageSize: '0' },
    message: MSG.b13,
  },
  {
    rule: 'B13',
    title: 'storageSize not a quantity',
    kind: 'FrappeBench',
    spec: { storageSize: 'big' },
    message: MSG.b13,
  },
  {
    rule: 'B13',
    title: 'storageSize decreased',
    kind: 'FrappeBench',
    spec: { storageSize: '20Gi' },
    patch: { storageSize: '10Gi' },
    message: 'storageSize cannot be decreased',
  },
  {
    rule: 'B14',
    title: 'storageClassName set later',
    kind: 'FrappeBench',
    patch: { storageClassName: 'fast-ssd' },
    message: 'storageClassName is immutable',
  },
  {
    rule: 'B14',
    title: 'storageClassName changed',
    kind: 'FrappeBench',
    spec: { storageClassName: 'standard' },
    patch: { storageClassName: 'fast-ssd' },
    message: 'storageClassName is immutable',
  },
  {
    rule: 'B14',
    title: 'storageClassName removed',
    kind: 'FrappeBench',
    spec: { storageClassName: 'standard' },
    patch: { storageClassName: null },
    message: 'storageClassName is immutable',
  },
  {
    rule: 'B14',
    title: 'storageAccessMode changed',
    kind: 'FrappeBench',
    patch: { storageAccessMode: 'ReadWriteOnce' },
    message: 'storageAccessMode is immutable',
  },
  {
    rule: 'B15',
    title: 'external Redis without host',
    kind: 'FrappeBench',
    spec: { redisConfig: { external: true } },
    message: 'redisConfig.host is required when redisConfig.external is true',
  },
  {
    rule: 'B15',
    title: 'external Redis with metrics',
    kind: 'FrappeBench',
    spec: { redisConfig: { external: true, host: 'redis', metrics: { enabled: true } } },
    message: MSG.b15,
  },
  {
    rule: 'B16',
    title: 'domain suffix',
    kind: 'FrappeBench',
    spec: { domainConfig: { suffix: '.Erp.Example.com' } },
    message: 'domainConfig.suffix must be a DNS suffix such as .erp.example.com',
  },
  {
    rule: 'B17',
    title: 'pod runAsUser 0',
    kind: 'FrappeBench',
    spec: { security: { podSecurityContext: { runAsUser: 0 } } },
    message: MSG.b17,
  },
  {
    rule: 'B17',
    title: 'pod seccomp Unconfined',
    kind: 'FrappeBench',
    spec: { security: { podSecurityContext: { seccompProfile: { type: 'Unconfined' } } } },
    message: MSG.b17,
  },
  {
    rule: 'B18',
    title: 'container runAsUser 0',
    kind: 'FrappeBench',
    spec: { security: { securityContext: { runAsUser: 0 } } },
    message: MSG.b18,
  },
  {
    rule: 'B18',
    title: 'privileged container',
    kind: 'FrappeBench',
    spec: { security: { securityContext: { privileged: true } } },
    message: MSG.b18,
  },
  {
    rule: 'B18',
    title: 'added capability',
    kind: 'FrappeBench',
    spec: { security: { securityContext: { capabilities: { add: ['SYS_ADMIN'] } } } },
    message: MSG.b18,
  },
  // Restricted means restricted: what the Pod Security Standard's restricted level refuses.
  {
    rule: 'B17',
    title: 'pod appArmorProfile Unconfined',
    kind: 'FrappeBench',
    spec: { security: { podSecurityContext: { appArmorProfile: { type: 'Unconfined' } } } },
    message: MSG.appArmor,
  },
  {
    rule: 'B18',
    title: 'container appArmorProfile Unconfined',
    kind: 'FrappeBench',
    spec: { security: { securityContext: { appArmorProfile: { type: 'Unconfined' } } } },
    message: MSG.appArmor,
  },
  {
    rule: 'B18',
    title: 'procMount Unmasked',
    kind: 'FrappeBench',
    spec: { security: { securityContext: { procMount: 'Unmasked' } } },
    message: MSG.procMount,
  },
  {
    rule: 'B17',
    title: 'pod SELinux type spc_t (unconfined)',
    kind: 'FrappeBench',
    spec: { security: { podSecurityContext: { seLinuxOptions: { type: 'spc_t' } } } },
    message: MSG.seLinux,
  },
  {
    rule: 'B18',
    title: 'container SELinux user',
    kind: 'FrappeBench',
    spec: {
      security: {
        securityContext: { seLinuxOptions: { type: 'container_t', user: 'system_u' } },
      },
    },
    message: MSG.seLinux,
  },
  {
    rule: 'B17',
    title: 'unsafe sysctl net.core.somaxconn',
    kind: 'FrappeBench',
    spec: {
      security: {
        podSecurityContext: {
          sysctls: [
            { name: 'net.ipv4.tcp_syncookies', value: '1' },
            { name: 'net.core.somaxconn', value: '1024' },
          ],
        },
      },
    },
    message: MSG.sysctls,
  },
  {
    rule: 'B19',
    title: 'podConfig.annotations AppArmor unconfined',
    kind: 'FrappeBench',
    spec: {
      podConfig: {
        annotations: { 'container.apparmor.security.beta.kubernetes.io/gunicorn': 'unconfined' },
      },
    },
    message: MSG.appArmorAnnotations,
  },
  {
    rule: 'B19',
    title: 'podConfig.labels overriding app',
    kind: 'FrappeBench',
    spec: { podConfig: { labels: { app: 'erp' } } },
    message: MSG.b19,
  },
  {
    rule: 'B19',
    title: 'podConfig.labels with app.kubernetes.io/name',
    kind: 'FrappeBench',
    spec: { podConfig: { labels: { 'app.kubernetes.io/name': 'erp' } } },
    message: MSG.b19,
  },
  {
    rule: 'B20',
    title: 'commonSiteConfig bench_id',
    kind: 'FrappeBench',
    spec: { commonSiteConfig: { bench_id: 'x' } },
    message:
      'commonSiteConfig must not set operator-managed keys: bench_id, redis_cache, redis_queue, redis_socketio, socketio_port',
  },
  {
    rule: 'B21',
    title: 'maxUnavailable 0',
    kind: 'FrappeBench',
    spec: { podDisruptionBudget: { maxUnavailable: 0 } },
    message: MSG.b21,
  },
  {
    rule: 'B21',
    title: 'maxUnavailable 0%',
    kind: 'FrappeBench',
    spec: { podDisruptionBudget: { maxUnavailable: '0%' } },
    message: MSG.b21,
  },
  {
    rule: 'B0',
    title: 'nginx.upstreamRealIPRecursive enum',
    kind: 'FrappeBench',
    spec: { nginx: { upstreamRealIPRecursive: 'yes' } },
    message: 'Unsupported value: "yes"',
  },
  {
    rule: 'B0',
    title: 'nginx.upstreamRealIPRecursive as a boolean (unquoted YAML on/off)',
    kind: 'FrappeBench',
    spec: { nginx: { upstreamRealIPRecursive: true } },
    message: 'spec.nginx.upstreamRealIPRecursive: Invalid value: "boolean"',
  },
  {
    rule: 'B0',
    title: 'gunicorn.workers 0',
    kind: 'FrappeBench',
    spec: { gunicorn: { workers: 0 } },
    message: 'should be greater than or equal to 1',
  },
  {
    rule: 'B0',
    title: 'gunicorn.timeout above 3600',
    kind: 'FrappeBench',
    spec: { gunicorn: { timeout: 7200 } },
    message: 'should be less than or equal to 3600',
  },
  {
    rule: 'B22',
    title: 'upstreamRealIPAddress with a second directive',
    kind: 'FrappeBench',
    spec: { nginx: { upstreamRealIPAddress: '10.0.0.0/8; set_real_ip_from 0.0.0.0/0' } },
    message: MSG.b22,
  },
  {
    rule: 'B22',
    title: 'upstreamRealIPAddress a host name',
    kind: 'FrappeBench',
    spec: { nginx: { upstreamRealIPAddress: 'ingress-nginx' } },
    message: MSG.b22,
  },
  {
    rule: 'B22',
    title: 'upstreamRealIPAddress IPv6 prefix above 128',
    kind: 'FrappeBench',
    spec: { nginx: { upstreamRealIPAddress: 'fd00::/129' } },
    message: MSG.b22,
  },
  {
    rule: 'B23',
    title: 'upstreamRealIPHeader with a space',
    kind: 'FrappeBench',
    spec: { nginx: { upstreamRealIPHeader: 'X Real IP' } },
    message: MSG.b23,
  },
  {
    rule: 'B23',
    title: 'upstreamRealIPHeader with a semicolon',
    kind: 'FrappeBench',
    spec: { nginx: { upstreamRealIPHeader: 'X-Real-IP;' } },
    message: MSG.b23,
  },
  {
    rule: 'D1',
    title: 'external without connectionSecretRef',
    kind: 'FrappeBench',
    spec: { dbConfig: { provider: 'external' } },
    message: 'dbConfig.connectionSecretRef is required when provider is external',
  },
  {
    rule: 'D2',
    title: 'dedicated with provider external',
    kind: 'FrappeSite',
    spec: {
      dbConfig: { provider: 'external', mode: 'dedicated', connectionSecretRef: { name: 'db' } },
    },
    message: 'dbConfig.mode dedicated is only supported with provider mariadb',
  },
  {
    rule: 'D3',
    title: 'mariadbRef with mode dedicated',
    kind: 'FrappeSite',
    spec: { dbConfig: { mode: 'dedicated', mariadbRef: { name: 'shared-mariadb' } } },
    message: 'dbConfig.mariadbRef applies only to a shared mariadb database',
  },
  {
    rule: 'D4',
    title: 'connectionSecretRef with provider mariadb',
    kind: 'FrappeBench',
    spec: { dbConfig: { provider: 'mariadb', connectionSecretRef: { name: 'db' } } },
    message: 'dbConfig.connectionSecretRef applies only to provider external',
  },
  {
    rule: 'D5',
    title: 'host with provider mariadb',
    kind: 'FrappeSite',
    spec: { dbConfig: { provider: 'mariadb', host: 'db.example.com' } },
    message: 'dbConfig.host and dbConfig.port apply only to provider external',
  },
  {
    rule: 'D5',
    title: 'port out of range',
    kind: 'FrappeBench',
    spec: { dbConfig: { port: 70000 } },
    message: 'dbConfig.port must be between 1 and 65535',
  },
  {
    rule: 'D6',
    title: 'storageSize with mode shared',
    kind: 'FrappeBench',
    spec: { dbConfig: { mode: 'shared', storageSize: '20Gi' } },
    message:
      'dbConfig.image, storageSize, storageClassName and resources apply only to mode dedicated',
  },
  // FrappeSite
  {
    rule: 'S0',
    title: 'deletionPolicy enum',
    kind: 'FrappeSite',
    spec: { deletionPolicy: 'Destroy' },
    message: 'Unsupported value: "Destroy"',
  },
  {
    rule: 'S1',
    title: 'name longer than 50',
    kind: 'FrappeSite',
    name: 's'.repeat(51),
    message: 'FrappeSite name must be a DNS-1035 label of at most 50 characters',
  },
  {
    rule: 'S2',
    title: 'siteName not a DNS name',
    kind: 'FrappeSite',
    spec: { siteName: 'ERP_Site' },
    message: 'siteName must be a lowercase DNS name such as erp.example.com',
  },
  {
    rule: 'S2',
    title: 'siteName changed',
    kind: 'FrappeSite',
    patch: { siteName: 'crm.example.com' },
    message: 'siteName is immutable',
  },
  {
    rule: 'S3',
    title: 'benchRef.name',
    kind: 'FrappeSite',
    spec: { benchRef: { name: 'Prod.Bench' } },
    message: 'benchRef.name must name a FrappeBench',
  },
  {
    rule: 'S3',
    title: 'benchRef changed',
    kind: 'FrappeSite',
    patch: { benchRef: { name: 'other-bench' } },
    message: 'benchRef is immutable',
  },
  {
    rule: 'S4',
    title: 'domain',
    kind: 'FrappeSite',
    spec: { domain: 'ERP.example.com' },
    message: 'domain must be a lowercase DNS name',
  },
  {
    rule: 'S5',
    title: 'app name',
    kind: 'FrappeSite',
    spec: { apps: ['ERPNext'] },
    message: 'apps entries must be Python package names',
  },
  {
    rule: 'S6',
    title: 'dbConfig.provider set later',
    kind: 'FrappeSite',
    patch: { dbConfig: { provider: 'mariadb' } },
    message: 'dbConfig.provider is immutable',
  },
  {
    rule: 'S6',
    title: 'dbConfig.mode changed',
    kind: 'FrappeSite',
    spec: { dbConfig: { mode: 'shared' } },
    patch: { dbConfig: { mode: 'dedicated' } },
    message: 'dbConfig.mode is immutable',
  },
  {
    rule: 'S7',
    title: 'backup not an s3 URL',
    kind: 'FrappeSite',
    spec: { restoreFrom: { backup: 'https://bucket/backup.sql.gz' } },
    message: 'restoreFrom.backup must be an s3://bucket/key URL',
  },
  {
    rule: 'S7',
    title: 'files ending in /',
    kind: 'FrappeSite',
    spec: { restoreFrom: { backup: 's3://bucket/set/', files: 's3://bucket/files/' } },
    message: MSG.s7Files,
  },
  {
    rule: 'S8',
    title: 'restoreFrom added later',
    kind: 'FrappeSite',
    patch: { restoreFrom: { backup: 's3://bucket/backup.sql.gz' } },
    message: MSG.s8,
  },
  {
    rule: 'S8',
    title: 'restoreFrom changed',
    kind: 'FrappeSite',
    spec: { restoreFrom: { backup: 's3://bucket/a.sql.gz' } },
    patch: { restoreFrom: { backup: 's3://bucket/b.sql.gz' } },
    message: MSG.s8,
  },
  {
    rule: 'S9',
    title: 'restoreFrom with skipInit',
    kind: 'FrappeSite',
    spec: { skipInit: true, restoreFrom: { backup: 's3://bucket/backup.sql.gz' } },
    message: 'restoreFrom and skipInit cannot be combined',
  },
  {
    rule: 'S10',
    title: 'restore endpoint',
    kind: 'FrappeSite',
    spec: { restoreFrom: { backup: 's3://bucket/b.sql.gz', endpoint: 'minio:9000' } },
    message: 'restoreFrom.endpoint must be an http(s) URL',
  },
  {
    rule: 'S11',
    title: 'tls and ingress.tls',
    kind: 'FrappeSite',
    spec: { tls: { enabled: true }, ingress: { tls: { enabled: true } } },
    message: 'set either tls or ingress.tls, not both',
  },
  {
    rule: 'S12',
    title: 'admin Secret name',
    kind: 'FrappeSite',
    spec: { adminPasswordSecretRef: { name: 'Admin_Password' } },
    message: 'must be a valid Secret name',
  },
  // SiteBackup
  {
    rule: 'K0',
    title: 'destination type',
    kind: 'SiteBackup',
    spec: { destination: { type: 'gcs' } },
    message: 'Unsupported value: "gcs"',
  },
  {
    rule: 'K0',
    title: 'negative retention',
    kind: 'SiteBackup',
    spec: { retention: { days: -1 }, destination: s3 },
    message: 'should be greater than or equal to 0',
  },
  {
    rule: 'K1',
    title: 'siteRef and site',
    kind: 'SiteBackup',
    spec: { site: 'erp.example.com' },
    message: MSG.k1,
  },
  {
    rule: 'K1',
    title: 'neither siteRef nor site',
    kind: 'SiteBackup',
    spec: { siteRef: null },
    message: MSG.k1,
  },
  {
    rule: 'K1',
    title: 'siteRef changed',
    kind: 'SiteBackup',
    patch: { siteRef: { name: 'other-site' } },
    message: 'the site of a SiteBackup is immutable; create a new SiteBackup',
  },
  {
    rule: 'K2',
    title: 'malformed cron',
    kind: 'SiteBackup',
    spec: { schedule: '0 2 * *' },
    message:
      'schedule must be a cron expression with 5 fields (e.g. "0 2 * * *") or one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly',
  },
  {
    rule: 'K2',
    title: 'cron minute 61',
    kind: 'SiteBackup',
    spec: { schedule: '61 2 * * *' },
    message: MSG.k2,
  },
  {
    rule: 'K2',
    title: 'cron day of week 7',
    kind: 'SiteBackup',
    spec: { schedule: '0 2 * * 7' },
    message: MSG.k2,
  },
  {
    rule: 'K2',
    title: 'cron step 0',
    kind: 'SiteBackup',
    spec: { schedule: '*/0 2 * * *' },
    message: MSG.k2,
  },
  {
    rule: 'K3',
    title: 'timeZone',
    kind: 'SiteBackup',
    spec: { timeZone: 'Central European Time' },
    message: 'timeZone must be an IANA time zone such as Europe/Berlin',
  },
  {
    rule: 'K3',
    title: 'retention without destination',
    kind: 'SiteBackup',
    spec: { retention: { count: 5 } },
    message:
      'retention requires a destination; backups kept on the bench volume are rotated by Frappe itself',
  },
  {
    rule: 'K4',
    title: 's3 without bucket',
    kind: 'SiteBackup',
    spec: { destination: { type: 's3' } },
    message: MSG.k4,
  },
  {
    rule: 'K4',
    title: 'bad bucket',
    kind: 'SiteBackup',
    spec: { destination: { type: 's3', config: { bucket: 'Frappe_Backups' } } },
    message: MSG.k4,
  },
  {
    rule: 'K5',
    title: 'pvc with a bucket',
    kind: 'SiteBackup',
    spec: { destination: { type: 'pvc', config: { bucket: 'frappe-backups' } } },
    message: MSG.k5,
  },
  {
    rule: 'K5',
    title: 's3 with claimName',
    kind: 'SiteBackup',
    spec: {
      destination: { type: 's3', config: { bucket: 'frappe-backups', claimName: 'backups' } },
    },
    message: MSG.k5,
  },
  {
    rule: 'K6',
    title: 'prefix with ..',
    kind: 'SiteBackup',
    spec: { destination: { type: 's3', config: { bucket: 'frappe-backups', prefix: 'a/../b' } } },
    message: "destination.config.prefix must be a relative path without '..'",
  },
  {
    rule: 'K7',
    title: 'endpoint',
    kind: 'SiteBackup',
    spec: {
      destination: { type: 's3', config: { bucket: 'frappe-backups', endpoint: 'minio:9000' } },
    },
    message: 'destination.config.endpoint must be an http(s) URL',
  },
  {
    rule: 'K8',
    title: 'credentialsSecret',
    kind: 'SiteBackup',
    spec: {
      destination: {
        type: 's3',
        config: { bucket: 'frappe-backups', credentialsSecret: 'AWS_Creds' },
      },
    },
    message: 'must be a valid Secret name',
  },
  {
    rule: 'K8',
    title: 'claimName',
    kind: 'SiteBackup',
    spec: { destination: { type: 'pvc', config: { claimName: 'Backup_Claim' } } },
    message: 'must be a valid PersistentVolumeClaim name',
  },
  // SiteJob
  {
    rule: 'J0',
    title: 'jobType enum',
    kind: 'SiteJob',
    spec: { jobType: 'restart' },
    message: 'Unsupported value: "restart"',
  },
  {
    rule: 'J0',
    title: 'activeDeadlineSeconds below 60',
    kind: 'SiteJob',
    spec: { activeDeadlineSeconds: 30 },
    message: 'should be greater than or equal to 60',
  },
  {
    rule: 'J1',
    title: 'spec changed',
    kind: 'SiteJob',
    patch: { jobType: 'clear-cache' },
    message: 'SiteJob spec is immutable; create a new SiteJob',
  },
  {
    rule: 'J2',
    title: 'custom without command',
    kind: 'SiteJob',
    spec: { jobType: 'custom' },
    message: 'jobType custom requires jobConfig.command',
  },
  {
    rule: 'J3',
    title: 'install-app without apps',
    kind: 'SiteJob',
    spec: { jobType: 'install-app', jobConfig: {} },
    message: 'jobType install-app and uninstall-app require jobConfig.apps',
  },
  {
    rule: 'J4',
    title: 'maintenance mode without enabled',
    kind: 'SiteJob',
    spec: { jobType: 'set-maintenance-mode' },
    message: 'jobType set-maintenance-mode requires jobConfig.enabled (true or false)',
  },
  {
    rule: 'J5',
    title: 'withFiles on migrate',
    kind: 'SiteJob',
    spec: { jobConfig: { withFiles: true } },
    message: MSG.j5Backup,
  },
  {
    rule: 'J5',
    title: 'command on backup',
    kind: 'SiteJob',
    spec: { jobType: 'backup', jobConfig: { command: ['ls'] } },
    message: 'jobConfig.command applies only to jobType custom',
  },
  {
    rule: 'J5',
    title: 'apps on clear-cache',
    kind: 'SiteJob',
    spec: { jobType: 'clear-cache', jobConfig: { apps: ['hrms'] } },
    message: 'jobConfig.apps applies only to jobType install-app and uninstall-app',
  },
  {
    rule: 'J5',
    title: 'enabled on migrate',
    kind: 'SiteJob',
    spec: { jobConfig: { enabled: true } },
    message: 'jobConfig.enabled applies only to jobType set-maintenance-mode',
  },
  {
    rule: 'J6',
    title: 'uninstall frappe',
    kind: 'SiteJob',
    spec: { jobType: 'uninstall-app', jobConfig: { apps: ['frappe'] } },
    message: MSG.j6,
  },
  {
    rule: 'J6',
    title: 'bad app name',
    kind: 'SiteJob',
    spec: { jobType: 'install-app', jobConfig: { apps: ['Custom App'] } },
    message: MSG.j6,
  },
  {
    rule: 'J7',
    title: 'siteRef.name',
    kind: 'SiteJob',
    spec: { siteRef: { name: 'Prod_Site' } },
    message: 'siteRef.name must name a FrappeSite',
  },
  {
    rule: 'K4',
    title: 'SiteJob destination without bucket',
    kind: 'SiteJob',
    spec: { jobType: 'backup', jobConfig: { destination: { type: 's3' } } },
    message: MSG.k4,
  },
];

function manifest(c: Case, spec: Spec): Record<string, unknown> {
  const singular = KINDS.find((k) => k.kind === c.kind)?.singular ?? 'object';
  return {
    apiVersion: API_VERSION,
    kind: c.kind,
    metadata: { name: c.name ?? singular },
    spec: Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== null)),
  };
}

describe(
  'admission rejects invalid objects with the documented message',
  { concurrency: 4 },
  () => {
    before(() => applyOurCrds());

    it('covers every rule of API.md §6 with at least 40 cases', () => {
      assert.ok(CASES.length >= 40);
      const ids = (prefix: string, first: number, last: number) =>
        Array.from({ length: last - first + 1 }, (_, i) => `${prefix}${first + i}`);
      const all = [
        ...ids('B', 0, 23),
        ...ids('D', 1, 6),
        ...ids('S', 0, 12),
        ...ids('K', 0, 8),
        ...ids('J', 0, 7),
      ];
      assert.deepEqual([...new Set(CASES.map((c) => c.rule))].sort(), all.sort());
    });

    it('accepts what the restricted Pod Security Standard allows', async () => {
      const ns = await createTestNamespace('api-restricted-ok');
      const obj = manifest(
        { rule: 'B17', title: 'allowed', kind: 'FrappeBench', message: '' },
        {
          security: {
            podSecurityContext: {
              appArmorProfile: { type: 'RuntimeDefault' },
              seLinuxOptions: { type: 'container_t', level: 's0:c123,c456' },
              sysctls: [{ name: 'net.ipv4.ip_local_port_range', value: '1024 65535' }],
            },
            securityContext: {
              appArmorProfile: { type: 'Localhost', localhostProfile: 'frappe' },
              procMount: 'Default',
              seLinuxOptions: { type: 'container_init_t' },
            },
          },
          podConfig: {
            annotations: {
              'container.apparmor.security.beta.kubernetes.io/gunicorn': 'runtime/default',
              'container.apparmor.security.beta.kubernetes.io/nginx': 'localhost/frappe',
              'example.com/team': 'erp',
            },
          },
        },
      );
      await submit('create', obj, ns);
    });

    for (const c of CASES) {
      it(`${c.rule} ${c.kind}: ${c.title}`, async () => {
        const ns = await createTestNamespace(`api-invalid-${c.rule.toLowerCase()}`);
        const obj = manifest(c, { ...BASE[c.kind], ...c.spec });
        let res;
        if (c.patch === undefined) {
          res = await submit('create', obj, ns, true);
        } else {
          await submit('create', obj, ns);
          const resource = KINDS.find((k) => k.kind === c.kind)?.plural ?? '';
          res = await kubectl(
            [
              'patch',
              resource,
              (obj.metadata as { name: string }).name,
              '--type=merge',
              '-p',
              JSON.stringify({ spec: c.patch }),
            ],
            { namespace: ns, allowFailure: true },
          );
        }
        if (res.code === 0) {
          assert.fail(`accepted: ${res.stdout}${(await installedCrdDiffers(c.kind)) ?? ''}`);
        }
        assert.ok(res.stderr.includes(c.message), `expected "${c.message}" in:\n${res.stderr}`);
      });
    }
  },
);
