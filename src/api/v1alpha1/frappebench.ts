// FrappeBench (vyogo.tech/v1alpha1): one Frappe image and its runtime — sites volume, Redis,
// gunicorn, nginx, socketio, scheduler, three workers and their scaling. Schema, types, printer
// columns and the admission rules B0–B23 of API.md §6.
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { AUTOSCALED_COMPONENTS, COMPONENTS, KIND, BENCH_PHASES, type BenchPhase } from './names.ts';
import { DEFAULT_RESOURCES, describeSize, type ResourceDefaults } from './resources.ts';
import {
  IntOrString,
  KeyedMap,
  MESSAGE,
  MessageEnum,
  PatternString,
  PreserveUnknown,
  StringEnum,
  celIsInt,
  celIsQuantity,
  celList,
  celHas,
  celQuantity,
  celRegex,
  celUnchanged,
} from '../schema.ts';
import {
  AGE_COLUMN,
  DatabaseConfig,
  Int32,
  Int64,
  MemorySize,
  ObjectMeta,
  PATTERNS,
  PHASE_COLUMN,
  PositiveQuantity,
  READY_COLUMN,
  ResourceRequirementsSchema,
  SecretKeyRef,
  SecretName,
  StringMap,
  defineKind,
  statusFields,
} from './common.ts';

export {
  AUTOSCALED_COMPONENTS,
  COMPONENTS,
  type AutoscaledComponent,
  type ComponentName,
} from './names.ts';

const MESSAGES = {
  b1: 'FrappeBench name must be a DNS-1035 label of at most 40 characters (it prefixes Service and StatefulSet names)',
  b2: 'frappeVersion must look like 15, 15.1.0, version-15 or v15.1.0',
  b3Repository:
    'imageConfig.repository must be an image name without tag or digest; put the tag in imageConfig.tag',
  b3Tag: 'imageConfig.tag must be a valid image tag',
  b4: 'apps[].name must be a Python package name: lowercase letters, digits and underscores',
  b5: "only source 'image' is supported in v1alpha1: build the app into the bench image",
  b6: 'appsJSON must be a JSON array of app names, each optionally with @version, e.g. ["erpnext", "custom_app@v2.0.0"]',
  b8: 'componentAutoscaling keys must be gunicorn, nginx, socketio, worker-default, worker-short or worker-long (the scheduler always runs 1 replica)',
  b9: 'minReplicas must not exceed maxReplicas',
  b10: 'minReplicas must be at least 1 with provider hpa; scaling to zero requires provider keda',
  b11: "keda trigger 'redis' is only valid for worker-default, worker-short and worker-long",
  b12: 'keda.targetValue must be a positive number in a string, e.g. "5"',
  b13Decrease: 'storageSize cannot be decreased',
  b14Class: 'storageClassName is immutable',
  b14Mode: 'storageAccessMode is immutable',
  b15Host: 'redisConfig.host is required when redisConfig.external is true',
  b15BuiltIn: 'redisConfig.storageSize, auth and metrics apply only to the built-in Redis',
  b16: 'domainConfig.suffix must be a DNS suffix such as .erp.example.com',
  b17: 'security.podSecurityContext must keep pods non-root with a seccomp profile (restricted Pod Security Standard)',
  b18: 'security.securityContext must not allow root, privilege escalation, privileged mode or added capabilities (restricted Pod Security Standard)',
  b19: "podConfig.labels must not override the operator's labels app, bench, component, site or app.kubernetes.io/*",
  b20: 'commonSiteConfig must not set operator-managed keys: bench_id, redis_cache, redis_queue, redis_socketio, socketio_port',
  b21: 'podDisruptionBudget.maxUnavailable must be at least 1 or a percentage from 1% to 100%',
  b22: 'nginx.upstreamRealIPAddress must be one IPv4 or IPv6 address or CIDR, such as 10.0.0.0/8 (the addresses your ingress controller or load balancer connects from)',
  b23: 'nginx.upstreamRealIPHeader must be an HTTP header name such as X-Forwarded-For or X-Real-IP (letters, digits, - and _)',
  restrictedAppArmor:
    'appArmorProfile.type must be RuntimeDefault or Localhost: Unconfined is not allowed (restricted Pod Security Standard)',
  restrictedProcMount:
    'security.securityContext.procMount must be Default: Unmasked is not allowed (restricted Pod Security Standard)',
  restrictedSELinux:
    'seLinuxOptions.type must be container_t, container_init_t, container_kvm_t or container_engine_t, and seLinuxOptions.user and role must be unset (restricted Pod Security Standard)',
  restrictedSysctls:
    'security.podSecurityContext.sysctls may only set the safe sysctls kernel.shm_rmid_forced, net.ipv4.ip_local_port_range, net.ipv4.ip_local_reserved_ports, net.ipv4.ip_unprivileged_port_start, net.ipv4.ping_group_range, net.ipv4.tcp_syncookies, net.ipv4.tcp_keepalive_time, net.ipv4.tcp_keepalive_intvl, net.ipv4.tcp_keepalive_probes and net.ipv4.tcp_fin_timeout (restricted Pod Security Standard)',
  restrictedAppArmorAnnotations:
    'podConfig.annotations may set container.apparmor.security.beta.kubernetes.io/<container> only to runtime/default or localhost/<profile> (restricted Pod Security Standard)',
} as const;

// The restricted Pod Security Standard (kubernetes.io/docs/concepts/security/pod-security-standards,
// "Baseline", which restricted includes): the SELinux types and sysctls it allows. The sysctls are
// the safe set of Kubernetes 1.30, our minimum version (net.ipv4.tcp_rmem and tcp_wmem join it in
// 1.32: a 1.30 or 1.31 cluster would refuse the pods).
const RESTRICTED_SELINUX_TYPES = [
  'container_t',
  'container_init_t',
  'container_kvm_t',
  'container_engine_t',
];
const SAFE_SYSCTLS = [
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.ping_group_range',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
  'net.ipv4.tcp_fin_timeout',
];
const APPARMOR_ANNOTATION = 'container.apparmor.security.beta.kubernetes.io/';

const KEDA_TARGET = String.raw`^[0-9]+(\.[0-9]+)?$`;

// nginx-entrypoint.sh substitutes these values into the nginx configuration verbatim
// (`set_real_ip_from ${UPSTREAM_REAL_IP_ADDRESS};`, `real_ip_header ...;`): anything but one
// address or CIDR, or one header name, would fail nginx at start or inject configuration.
const IPV4 = String.raw`(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}`;
const H16 = '[0-9A-Fa-f]{1,4}';
const IPV6 = [
  `(${H16}:){7}${H16}`,
  `(${H16}:){1,7}:`,
  `(${H16}:){1,6}:${H16}`,
  `(${H16}:){1,5}(:${H16}){1,2}`,
  `(${H16}:){1,4}(:${H16}){1,3}`,
  `(${H16}:){1,3}(:${H16}){1,4}`,
  `(${H16}:){1,2}(:${H16}){1,5}`,
  `${H16}:(:${H16}){1,6}`,
  `:((:${H16}){1,7}|:)`,
].join('|');
const IP_OR_CIDR = `^(${IPV4}(/(3[0-2]|[12]?[0-9]))?|(${IPV6})(/(12[0-8]|1[01][0-9]|[1-9]?[0-9]))?)$`;
const HTTP_HEADER = '^[A-Za-z0-9][-A-Za-z0-9_]*$';

/** Labels the operator sets on every object; podConfig.labels may not override them (B19). */
export const RESERVED_LABELS = ['app', 'bench', 'component', 'site'] as const;
/** common_site_config.json keys written by bench-init; commonSiteConfig may not set them (B20). */
export const OPERATOR_SITE_CONFIG_KEYS = [
  'bench_id',
  'redis_cache',
  'redis_queue',
  'redis_socketio',
  'socketio_port',
] as const;

// ---------------------------------------------------------------------------------------------
// Images and apps
// ---------------------------------------------------------------------------------------------

const ImageConfig = Type.Object(
  {
    repository: Type.Optional(
      PatternString(PATTERNS.IMAGE_REPO, MESSAGES.b3Repository, {
        maxLength: 255,
        description:
          'Image repository without tag or digest, e.g. docker.io/frappe/erpnext (default: the repository of the operator defaultFrappeImage).',
      }),
    ),
    tag: Type.Optional(
      PatternString(PATTERNS.IMAGE_TAG, MESSAGES.b3Tag, {
        maxLength: 128,
        description:
          'Image tag; wins over frappeVersion (default: the normalised frappeVersion, else the tag of the operator defaultFrappeImage).',
      }),
    ),
    pullPolicy: Type.Optional(
      StringEnum(['Always', 'IfNotPresent', 'Never'], {
        default: 'IfNotPresent',
        description: 'imagePullPolicy of every pod of the bench and its sites, Redis included.',
      }),
    ),
    pullSecrets: Type.Optional(
      Type.Array(
        Type.Object(
          { name: SecretName('Name of a docker-registry Secret in the bench namespace.') },
          { description: 'A Secret reference.' },
        ),
        {
          maxItems: 16,
          description: 'imagePullSecrets of every pod of the bench and its sites.',
        },
      ),
    ),
  },
  {
    default: {},
    description:
      'Image of the bench. The image is repository:tag, where tag is imageConfig.tag, else derived from frappeVersion (15 → version-15, 15.1.0 → v15.1.0, anything else verbatim).',
  },
);

const BenchApp = Type.Object(
  {
    name: PatternString(PATTERNS.APP_NAME, MESSAGES.b4, {
      maxLength: 64,
      description: 'Python package name of the app, e.g. erpnext.',
    }),
    version: Type.Optional(
      Type.String({
        maxLength: 64,
        description:
          'Expected version (a leading v is ignored). A mismatch with the image sets AppsVerified=False, reason VersionMismatch, without blocking.',
      }),
    ),
    source: Type.Optional(
      MessageEnum(['image'], MESSAGES.b5, {
        default: 'image',
        description: 'Where the app comes from; only image (apps are baked into the bench image).',
      }),
    ),
  },
  { description: 'An app the bench image must contain.' },
);

// ---------------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------------

const componentResource = (name: string, defaults: ResourceDefaults) =>
  Type.Optional(
    ResourceRequirementsSchema(`Resources of ${name} (default ${describeSize(defaults)}).`),
  );

const ComponentResources = Type.Object(
  {
    gunicorn: componentResource('gunicorn', DEFAULT_RESOURCES.gunicorn),
    nginx: componentResource('nginx', DEFAULT_RESOURCES.nginx),
    socketio: componentResource('socketio', DEFAULT_RESOURCES.socketio),
    scheduler: componentResource('the scheduler', DEFAULT_RESOURCES.scheduler),
    workerDefault: componentResource('worker-default', DEFAULT_RESOURCES.worker),
    workerLong: componentResource('worker-long', DEFAULT_RESOURCES.worker),
    workerShort: componentResource('worker-short', DEFAULT_RESOURCES.worker),
  },
  {
    description:
      'Requests and limits per component, merged per resource with the built-in defaults. A change rolls the affected Deployment.',
  },
);

const JobResources = Type.Object(
  {
    default: componentResource(
      'Jobs without a specific entry (delete, password reset)',
      DEFAULT_RESOURCES.default,
    ),
    benchInit: componentResource('the bench-init Job', DEFAULT_RESOURCES.benchInit),
    siteInit: componentResource('site-init Jobs', DEFAULT_RESOURCES.siteInit),
    restore: componentResource('restore Jobs', DEFAULT_RESOURCES.restore),
    migrate: componentResource('migrate Jobs', DEFAULT_RESOURCES.migrate),
    backup: componentResource('backup Jobs', DEFAULT_RESOURCES.backup),
    siteJob: componentResource('SiteJob Jobs', DEFAULT_RESOURCES.siteJob),
    agent: componentResource(
      'the backup agent container (upload, download)',
      DEFAULT_RESOURCES.agent,
    ),
  },
  {
    description: 'Job sizing: the kind-specific entry, then default, then the built-in value.',
  },
);

// ---------------------------------------------------------------------------------------------
// gunicorn and nginx
// ---------------------------------------------------------------------------------------------

// The defaults are those of the official images and chart: the gunicorn argv of frappe_docker
// (images/layered/Containerfile CMD, resources/core/start.sh) and the nginx environment of
// frappe/helm (erpnext/values.yaml nginx.environment) and resources/nginx-entrypoint.sh.
const GunicornConfig = Type.Object(
  {
    workers: Type.Optional(
      Int32({
        minimum: 1,
        maximum: 64,
        default: 2,
        description:
          'gunicorn --workers: worker processes in each gunicorn pod (GUNICORN_WORKERS of the official images).',
      }),
    ),
    threads: Type.Optional(
      Int32({
        minimum: 1,
        maximum: 64,
        default: 4,
        description:
          'gunicorn --threads: threads of each worker, worker class gthread (GUNICORN_THREADS of the official images).',
      }),
    ),
    timeout: Type.Optional(
      Int32({
        minimum: 1,
        maximum: 3600,
        default: 120,
        description:
          "gunicorn --timeout in seconds: a request running longer is aborted (GUNICORN_TIMEOUT of the official images). nginx's proxy_read_timeout (PROXY_READ_TIMEOUT) follows it.",
      }),
    ),
    metrics: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(
            Type.Boolean({
              default: true,
              description:
                'Run gunicorn with --statsd-host=127.0.0.1:9125 --statsd-prefix=frappe and a statsd-exporter sidecar (port metrics 9102) serving http_requests_total{status}, gunicorn_requests_total, gunicorn_request_duration_seconds (histogram), gunicorn_workers and gunicorn_log_messages_total{level}, mapped by ConfigMap <bench>-statsd-mapping. false: neither.',
            }),
          ),
          image: Type.Optional(
            Type.String({
              maxLength: 512,
              description:
                'statsd-exporter image (default: the operator defaultStatsdExporterImage).',
            }),
          ),
        },
        {
          default: {},
          description: 'Prometheus metrics of gunicorn, through a statsd-exporter sidecar.',
        },
      ),
    ),
  },
  {
    default: {},
    description:
      'gunicorn of <bench>-gunicorn. The operator runs the official argv, never the image entrypoint: /home/frappe/frappe-bench/env/bin/gunicorn --chdir=/home/frappe/frappe-bench/sites --bind=0.0.0.0:8000 --threads=<threads> --workers=<workers> --worker-class=gthread --worker-tmp-dir=/dev/shm --timeout=<timeout> --preload [--statsd-host=127.0.0.1:9125 --statsd-prefix=frappe, while metrics.enabled] frappe.app:application. A change rolls the Deployment.',
  },
);

const NginxConfig = Type.Object(
  {
    upstreamRealIPAddress: Type.Optional(
      PatternString(IP_OR_CIDR, MESSAGES.b22, {
        maxLength: 64,
        default: '127.0.0.1',
        description:
          "UPSTREAM_REAL_IP_ADDRESS (nginx set_real_ip_from): the address or CIDR trusted to send the client's address in upstreamRealIPHeader, e.g. the pod CIDR of your ingress controller. The default trusts no proxy, so Frappe sees the ingress controller's address.",
      }),
    ),
    upstreamRealIPHeader: Type.Optional(
      PatternString(HTTP_HEADER, MESSAGES.b23, {
        maxLength: 64,
        default: 'X-Forwarded-For',
        description:
          "UPSTREAM_REAL_IP_HEADER (nginx real_ip_header): the request header carrying the client's address, e.g. X-Forwarded-For or X-Real-IP.",
      }),
    ),
    upstreamRealIPRecursive: Type.Optional(
      StringEnum(['on', 'off'], {
        default: 'off',
        description:
          'UPSTREAM_REAL_IP_RECURSIVE (nginx real_ip_recursive): on takes the last address in the header that is not trusted, off the last one. Quote it in YAML ("on"): unquoted, on and off are booleans.',
      }),
    ),
  },
  {
    default: {},
    description:
      "nginx of <bench>-nginx: how it learns the client's address behind an ingress or load balancer (the real_ip module). Names and defaults as the official chart's nginx.environment. A change rolls the Deployment.",
  },
);

// ---------------------------------------------------------------------------------------------
// Autoscaling
// ---------------------------------------------------------------------------------------------

export const ComponentAutoscaling = Type.Object(
  {
    enabled: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'Autoscale the component; false runs staticReplicas.',
      }),
    ),
    provider: Type.Optional(
      StringEnum(['hpa', 'keda'], {
        default: 'hpa',
        description:
          'hpa: a HorizontalPodAutoscaler (autoscaling/v2); keda: a KEDA ScaledObject (keda.sh/v1alpha1), which can scale to zero.',
      }),
    ),
    staticReplicas: Type.Optional(
      Int32({
        minimum: 0,
        default: 1,
        description:
          'Replicas when autoscaling is disabled, and while the provider is unavailable (stated in a condition).',
      }),
    ),
    minReplicas: Type.Optional(
      Int32({
        minimum: 0,
        default: 1,
        description: 'Minimum replicas; at least 1 with hpa, 0 (scale to zero) only with keda.',
      }),
    ),
    maxReplicas: Type.Optional(
      Int32({ minimum: 1, default: 10, description: 'Maximum replicas; at least minReplicas.' }),
    ),
    cooldownPeriod: Type.Optional(
      Int32({
        minimum: 0,
        default: 300,
        description: 'keda: seconds after the last active trigger before scaling to minReplicas.',
      }),
    ),
    pollingInterval: Type.Optional(
      Int32({ minimum: 1, default: 30, description: 'keda: seconds between trigger checks.' }),
    ),
    hpa: Type.Optional(
      Type.Object(
        {
          metric: Type.Optional(
            StringEnum(['cpu', 'memory'], {
              default: 'cpu',
              description: 'Resource whose average utilisation drives scaling.',
            }),
          ),
          targetUtilization: Type.Optional(
            Int32({
              minimum: 1,
              maximum: 100,
              default: 70,
              description: 'Target average utilisation in percent of the requests.',
            }),
          ),
          scaleUpStabilization: Type.Optional(
            Int32({
              minimum: 0,
              default: 0,
              description: 'behavior.scaleUp.stabilizationWindowSeconds.',
            }),
          ),
          scaleDownStabilization: Type.Optional(
            Int32({
              minimum: 0,
              default: 300,
              description: 'behavior.scaleDown.stabilizationWindowSeconds.',
            }),
          ),
        },
        { description: 'Settings of the hpa provider.' },
      ),
    ),
    keda: Type.Optional(
      Type.Object(
        {
          trigger: Type.Optional(
            StringEnum(['redis', 'cpu', 'memory'], {
              description:
                'redis: length of the component queue in Redis (workers only); cpu or memory: utilisation. Default redis for workers, else cpu.',
            }),
          ),
          targetValue: Type.Optional(
            PatternString(KEDA_TARGET, MESSAGES.b12, {
              maxLength: 32,
              description:
                'Positive number in a string: queue length per replica (redis) or utilisation percent (cpu, memory). Default "5" for redis, "70" for cpu and memory.',
              // Guarded so that a non-number reports only the pattern rule, not an evaluation error.
              'x-kubernetes-validations': [
                {
                  rule: `!self.matches(${celRegex(KEDA_TARGET)}) || double(self) > 0.0`,
                  message: MESSAGES.b12,
                },
              ],
            }),
          ),
          metadata: Type.Optional(
            StringMap(
              "Trigger metadata merged over the operator's (address, listName, ...); your keys win.",
              { maxProperties: 32 },
            ),
          ),
        },
        { description: 'Settings of the keda provider.' },
      ),
    ),
  },
  {
    description: 'Scaling of one component.',
    'x-kubernetes-validations': [
      { rule: 'self.minReplicas <= self.maxReplicas', message: MESSAGES.b9 },
      {
        rule: "!self.enabled || self.provider != 'hpa' || self.minReplicas >= 1",
        message: MESSAGES.b10,
      },
    ],
  },
);
export type ComponentAutoscaling = Static<typeof ComponentAutoscaling>;

// ---------------------------------------------------------------------------------------------
// Security
// ---------------------------------------------------------------------------------------------

const SeccompProfile = Type.Object(
  {
    type: StringEnum(['RuntimeDefault', 'Localhost', 'Unconfined'], {
      description: 'RuntimeDefault or Localhost (Unconfined is rejected).',
    }),
    localhostProfile: Type.Optional(
      Type.String({ maxLength: 4096, description: 'Localhost: profile path on the node.' }),
    ),
  },
  { description: 'Seccomp profile.' },
);

const AppArmorProfile = Type.Object(
  {
    type: StringEnum(['RuntimeDefault', 'Localhost', 'Unconfined'], {
      description: 'AppArmor profile type: RuntimeDefault or Localhost (Unconfined is rejected).',
    }),
    localhostProfile: Type.Optional(
      Type.String({ maxLength: 4096, description: 'Localhost: profile name loaded on the node.' }),
    ),
  },
  {
    description: 'AppArmor profile.',
    'x-kubernetes-validations': [
      { rule: "self.type != 'Unconfined'", message: MESSAGES.restrictedAppArmor },
    ],
  },
);

const SELinuxOptions = Type.Object(
  {
    user: Type.Optional(
      Type.String({ maxLength: 256, description: 'SELinux user label; must be unset.' }),
    ),
    role: Type.Optional(
      Type.String({ maxLength: 256, description: 'SELinux role label; must be unset.' }),
    ),
    type: Type.Optional(
      Type.String({
        maxLength: 256,
        description: `SELinux type label: ${RESTRICTED_SELINUX_TYPES.join(', ')}.`,
      }),
    ),
    level: Type.Optional(Type.String({ maxLength: 256, description: 'SELinux level label.' })),
  },
  {
    description: 'SELinux labels.',
    'x-kubernetes-validations': [
      {
        rule:
          `self.?type.orValue('') in ${celList(['', ...RESTRICTED_SELINUX_TYPES])}` +
          " && self.?user.orValue('') == '' && self.?role.orValue('') == ''",
        message: MESSAGES.restrictedSELinux,
      },
    ],
  },
);

const runAsFields = {
  runAsUser: Type.Optional(
    Int64({ description: 'UID the container processes run as; 0 (root) is rejected.' }),
  ),
  runAsGroup: Type.Optional(Int64({ description: 'Primary GID of the container processes.' })),
  runAsNonRoot: Type.Optional(
    Type.Boolean({ description: 'Require a non-root UID; false is rejected.' }),
  ),
  seccompProfile: Type.Optional(SeccompProfile),
  seLinuxOptions: Type.Optional(SELinuxOptions),
  appArmorProfile: Type.Optional(AppArmorProfile),
};

const PodSecurityContext = Type.Object(
  {
    ...runAsFields,
    fsGroup: Type.Optional(Int64({ description: 'Group owning mounted volumes.' })),
    fsGroupChangePolicy: Type.Optional(
      StringEnum(['OnRootMismatch', 'Always'], {
        description: 'When volume ownership is changed to fsGroup.',
      }),
    ),
    supplementalGroups: Type.Optional(
      Type.Array(Int64({ description: 'A GID.' }), {
        maxItems: 32,
        description: 'Additional GIDs of the container processes.',
      }),
    ),
    sysctls: Type.Optional(
      Type.Array(
        Type.Object(
          {
            name: Type.String({ maxLength: 256, description: 'Sysctl name.' }),
            value: Type.String({ maxLength: 1024, description: 'Sysctl value.' }),
          },
          { description: 'A namespaced sysctl.' },
        ),
        {
          maxItems: 32,
          description: `Namespaced sysctls: only the safe set, ${SAFE_SYSCTLS.join(', ')}.`,
          'x-kubernetes-validations': [
            {
              rule: `self.all(s, s.name in ${celList(SAFE_SYSCTLS)})`,
              message: MESSAGES.restrictedSysctls,
            },
          ],
        },
      ),
    ),
  },
  {
    description:
      'Per-field overrides of the pod security context of every pod of the bench and its sites (defaults: runAsUser 1001, runAsGroup 0, fsGroup 0, runAsNonRoot true, seccomp RuntimeDefault).',
    'x-kubernetes-validations': [
      {
        rule: "self.?runAsUser.orValue(1) != 0 && self.?runAsNonRoot.orValue(true) && self.?seccompProfile.?type.orValue('') != 'Unconfined'",
        message: MESSAGES.b17,
      },
    ],
  },
);

const SecurityContext = Type.Object(
  {
    ...runAsFields,
    allowPrivilegeEscalation: Type.Optional(
      Type.Boolean({ description: 'Allow privilege escalation; true is rejected.' }),
    ),
    privileged: Type.Optional(Type.Boolean({ description: 'Privileged mode; true is rejected.' })),
    readOnlyRootFilesystem: Type.Optional(
      Type.Boolean({ description: 'Mount the root filesystem read-only.' }),
    ),
    capabilities: Type.Optional(
      Type.Object(
        {
          add: Type.Optional(
            Type.Array(Type.String({ maxLength: 64, description: 'A capability.' }), {
              maxItems: 64,
              description: 'Capabilities to add; only NET_BIND_SERVICE is allowed.',
            }),
          ),
          drop: Type.Optional(
            Type.Array(Type.String({ maxLength: 64, description: 'A capability.' }), {
              maxItems: 64,
              description: 'Capabilities to drop (default ALL).',
            }),
          ),
        },
        { description: 'Linux capabilities.' },
      ),
    ),
    procMount: Type.Optional(
      StringEnum(['Default', 'Unmasked'], {
        description: 'proc mount type: Default (Unmasked is rejected).',
        'x-kubernetes-validations': [
          { rule: "self == 'Default'", message: MESSAGES.restrictedProcMount },
        ],
      }),
    ),
  },
  {
    description:
      'Per-field overrides of the security context of every container of the bench and its sites (defaults: allowPrivilegeEscalation false, capabilities drop ALL, seccomp RuntimeDefault).',
    'x-kubernetes-validations': [
      {
        rule: [
          '!self.?privileged.orValue(false) && !self.?allowPrivilegeEscalation.orValue(false)',
          '&& self.?runAsUser.orValue(1) != 0 && self.?runAsNonRoot.orValue(true)',
          `&& (!(${celHas('capabilities.add')}) || self.capabilities.add.all(c, c == 'NET_BIND_SERVICE'))`,
          "&& self.?seccompProfile.?type.orValue('') != 'Unconfined'",
        ].join(' '),
        message: MESSAGES.b18,
      },
    ],
  },
);

// ---------------------------------------------------------------------------------------------
// Redis
// ---------------------------------------------------------------------------------------------

const RedisConfig = Type.Object(
  {
    type: Type.Optional(
      StringEnum(['redis'], { default: 'redis', description: 'Redis implementation: redis.' }),
    ),
    image: Type.Optional(
      Type.String({
        maxLength: 512,
        description: 'Redis image (default: the operator defaultRedisImage).',
      }),
    ),
    resources: Type.Optional(
      ResourceRequirementsSchema(
        `Resources of each of the two Redis instances (default ${describeSize(DEFAULT_RESOURCES.redis)}).`,
      ),
    ),
    maxMemory: Type.Optional(
      MemorySize('redisConfig.maxMemory', '512Mi', {
        description:
          'Redis maxmemory (default 80 % of the memory limit). The cache evicts allkeys-lru; the queue is noeviction.',
      }),
    ),
    storageSize: Type.Optional(
      PositiveQuantity('redisConfig.storageSize', '1Gi', {
        description:
          'When set, redis-queue persists (AOF, everysec) on a PVC of this size. redis-cache never persists.',
      }),
    ),
    storageClassName: Type.Optional(
      Type.String({
        maxLength: 253,
        description: 'StorageClass of the redis-queue PVC (default: the cluster default).',
      }),
    ),
    auth: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(
            Type.Boolean({ default: false, description: 'Require a password.' }),
          ),
          secretName: Type.Optional(
            SecretName(
              'Secret holding the password in key password (default: generated <bench>-redis-auth).',
            ),
          ),
        },
        { description: 'Password of the built-in Redis.' },
      ),
    ),
    external: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'Use an existing Redis (host, port) for cache and queue; no StatefulSets.',
      }),
    ),
    host: Type.Optional(
      Type.String({ maxLength: 253, description: 'External Redis host (required with external).' }),
    ),
    port: Type.Optional(
      Int32({ minimum: 1, maximum: 65535, default: 6379, description: 'External Redis port.' }),
    ),
    connectionSecretRef: Type.Optional(SecretKeyRef('password', 'Password of the external Redis.')),
    metrics: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(
            Type.Boolean({
              default: false,
              description:
                'Add a redis_exporter sidecar (port metrics 9121) exporting the rq:queue:* lengths.',
            }),
          ),
          image: Type.Optional(
            Type.String({
              maxLength: 512,
              description: 'Exporter image (default: the operator defaultRedisExporterImage).',
            }),
          ),
        },
        { description: 'Prometheus exporter sidecar of the built-in Redis.' },
      ),
    ),
  },
  {
    description:
      'Redis of the bench: built-in (two StatefulSets, redis-cache and redis-queue) or external.',
    'x-kubernetes-validations': [
      { rule: '!self.external || has(self.host)', message: MESSAGES.b15Host },
      {
        rule: '!self.external || !(has(self.storageSize) || has(self.auth) || has(self.metrics))',
        message: MESSAGES.b15BuiltIn,
      },
    ],
  },
);

// ---------------------------------------------------------------------------------------------
// Pods
// ---------------------------------------------------------------------------------------------

const Toleration = Type.Object(
  {
    key: Type.Optional(
      Type.String({ maxLength: 317, description: 'Taint key; empty matches all.' }),
    ),
    operator: Type.Optional(
      StringEnum(['Exists', 'Equal'], { description: 'Exists or Equal (default Equal).' }),
    ),
    value: Type.Optional(Type.String({ maxLength: 63, description: 'Taint value for Equal.' })),
    effect: Type.Optional(
      StringEnum(['NoSchedule', 'PreferNoSchedule', 'NoExecute'], {
        description: 'Taint effect to match; empty matches all.',
      }),
    ),
    tolerationSeconds: Type.Optional(
      Int64({ description: 'NoExecute: seconds the pod stays bound after the taint appears.' }),
    ),
  },
  { description: 'A core/v1 Toleration.' },
);

const PodConfig = Type.Object(
  {
    labels: Type.Optional(
      StringMap(
        'Extra pod labels; may not override app, bench, component, site or app.kubernetes.io/*.',
        {
          maxProperties: 64,
          'x-kubernetes-validations': [
            {
              rule: `self.all(k, !(k in ${celList(RESERVED_LABELS)}) && !k.startsWith('app.kubernetes.io/'))`,
              message: MESSAGES.b19,
            },
          ],
        },
      ),
    ),
    annotations: Type.Optional(
      StringMap(
        `Extra pod annotations; ${APPARMOR_ANNOTATION}* only runtime/default or localhost/<profile>.`,
        {
          maxProperties: 64,
          'x-kubernetes-validations': [
            {
              rule:
                `self.all(k, !k.startsWith('${APPARMOR_ANNOTATION}')` +
                " || self[k] == 'runtime/default' || self[k].startsWith('localhost/'))",
              message: MESSAGES.restrictedAppArmorAnnotations,
            },
          ],
        },
      ),
    ),
    nodeSelector: Type.Optional(StringMap('Pod nodeSelector.', { maxProperties: 64 })),
    affinity: Type.Optional(
      PreserveUnknown({
        description:
          'Pod affinity (core/v1 Affinity). With storageAccessMode ReadWriteOnce the operator adds a required pod affinity keeping all bench pods on one node.',
      }),
    ),
    tolerations: Type.Optional(
      Type.Array(Toleration, { maxItems: 64, description: 'Pod tolerations.' }),
    ),
    topologySpreadConstraints: Type.Optional(
      Type.Array(PreserveUnknown({ description: 'A core/v1 TopologySpreadConstraint.' }), {
        maxItems: 16,
        description: 'Pod topologySpreadConstraints (core/v1).',
      }),
    ),
    priorityClassName: Type.Optional(
      Type.String({ maxLength: 253, description: 'Pod priorityClassName.' }),
    ),
    serviceAccountName: Type.Optional(
      Type.String({
        maxLength: 253,
        description:
          'Pod serviceAccountName; also the workload identity of backup and restore Jobs without credentials.',
      }),
    ),
  },
  { description: 'Settings applied to every pod of the bench and its sites.' },
);

// ---------------------------------------------------------------------------------------------
// Spec, status, kind
// ---------------------------------------------------------------------------------------------

export const FrappeBenchSpec = Type.Object(
  {
    frappeVersion: Type.Optional(
      PatternString(PATTERNS.VERSION, MESSAGES.b2, {
        maxLength: 64,
        description:
          'Frappe version, e.g. 15, 15.1.0, version-15 or develop. Image tag when imageConfig.tag is unset: 15 → version-15, 15.1.0 → v15.1.0, anything else verbatim.',
      }),
    ),
    imageConfig: Type.Optional(ImageConfig),
    apps: Type.Optional(
      Type.Array(BenchApp, {
        maxItems: 100,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
        description:
          'Apps the image must contain (bench-init fails if one is missing). Merged with appsJSON; apps wins on duplicates.',
      }),
    ),
    appsJSON: Type.Optional(
      PatternString(PATTERNS.APPS_JSON, MESSAGES.b6, {
        maxLength: 4096,
        description:
          'Legacy list of apps: a JSON array of "app" or "app@version", e.g. ["erpnext", "hrms"]. Merged with apps.',
      }),
    ),
    componentResources: Type.Optional(ComponentResources),
    componentAutoscaling: Type.Optional(
      KeyedMap(AUTOSCALED_COMPONENTS, ComponentAutoscaling, {
        maxProperties: 6,
        [MESSAGE]: MESSAGES.b8,
        description:
          'Scaling per component, keyed gunicorn, nginx, socketio, worker-default, worker-short or worker-long. Components without an entry run 1 replica; the scheduler always runs 1 replica.',
        'x-kubernetes-validations': [
          { rule: `self.all(k, k in ${celList(AUTOSCALED_COMPONENTS)})`, message: MESSAGES.b8 },
          {
            rule: "self.all(k, k.startsWith('worker-') || self[k].?keda.?trigger.orValue('') != 'redis')",
            message: MESSAGES.b11,
          },
        ],
      }),
    ),
    gunicorn: Type.Optional(GunicornConfig),
    nginx: Type.Optional(NginxConfig),
    security: Type.Optional(
      Type.Object(
        {
          podSecurityContext: Type.Optional(PodSecurityContext),
          securityContext: Type.Optional(SecurityContext),
        },
        {
          description:
            'Security contexts of every pod and container of the bench and its sites; per field, spec.security wins over the operator env FRAPPE_DEFAULT_UID/GID/FSGROUP and the built-in 1001/0/0.',
        },
      ),
    ),
    siteReconcileConcurrency: Type.Optional(
      Int32({
        minimum: 1,
        maximum: 100,
        description:
          'Hint for the site worker pool: the operator runs max(maxConcurrentSiteReconciles, the largest siteReconcileConcurrency of all benches) site reconciles at once.',
      }),
    ),
    siteMigration: Type.Optional(
      Type.Object(
        {
          policy: Type.Optional(
            StringEnum(['Auto', 'Manual'], {
              default: 'Auto',
              description:
                'Auto: after an image change each site runs migrate once for the new image. Manual: run SiteJobs of type migrate yourself.',
            }),
          ),
          maxConcurrent: Type.Optional(
            Int32({
              minimum: 1,
              maximum: 100,
              default: 5,
              description: 'Migrate Jobs running at once on this bench.',
            }),
          ),
        },
        { default: {}, description: 'Site migrations after an image change.' },
      ),
    ),
    storageClassName: Type.Optional(
      Type.String({
        maxLength: 253,
        description:
          'StorageClass of the sites PVC <bench>-sites (default: the cluster default). Immutable.',
      }),
    ),
    storageSize: Type.Optional(
      PositiveQuantity('storageSize', '10Gi', {
        default: '10Gi',
        description:
          'Size of the sites PVC. May only grow (expands the PVC; the StorageClass needs allowVolumeExpansion).',
        'x-kubernetes-validations': [
          {
            rule: `!${celIsQuantity('self')} || !${celIsQuantity('oldSelf')} || ${celQuantity('self')}.compareTo(${celQuantity('oldSelf')}) >= 0`,
            message: MESSAGES.b13Decrease,
          },
        ],
      }),
    ),
    storageAccessMode: Type.Optional(
      StringEnum(['ReadWriteMany', 'ReadWriteOnce'], {
        default: 'ReadWriteMany',
        description:
          'Access mode of the sites PVC. ReadWriteOnce adds a required pod affinity keeping all bench pods on one node. Immutable.',
        'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: MESSAGES.b14Mode }],
      }),
    ),
    storageRetentionPolicy: Type.Optional(
      StringEnum(['Retain', 'Delete'], {
        default: 'Retain',
        description: 'Fate of the sites PVC when the bench is deleted.',
      }),
    ),
    redisConfig: Type.Optional(RedisConfig),
    dbConfig: Type.Optional(DatabaseConfig),
    domainConfig: Type.Optional(
      Type.Object(
        {
          suffix: Type.Optional(
            PatternString(PATTERNS.DNS_SUFFIX, MESSAGES.b16, {
              maxLength: 254,
              description:
                "DNS suffix (e.g. .erp.example.com) appended to a site's siteName when the site has no domain and siteName has no dot.",
            }),
          ),
        },
        { description: 'Domains of the sites of this bench.' },
      ),
    ),
    commonSiteConfig: Type.Optional(
      StringMap(
        'Keys merged into common_site_config.json; values that parse as JSON keep their type. Operator-managed keys (bench_id, redis_*, socketio_port) are rejected.',
        {
          maxProperties: 64,
          'x-kubernetes-validations': [
            {
              rule: `self.all(k, !(k in ${celList(OPERATOR_SITE_CONFIG_KEYS)}))`,
              message: MESSAGES.b20,
            },
          ],
        },
      ),
    ),
    podConfig: Type.Optional(PodConfig),
    podDisruptionBudget: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(
            Type.Boolean({
              default: true,
              description:
                'Create <bench>-gunicorn, -nginx and -socketio PDBs while the component runs at least 2 replicas. false: manage PDBs yourself.',
            }),
          ),
          maxUnavailable: Type.Optional(
            IntOrString({
              maxLength: 4,
              stringPattern: '^([1-9][0-9]?|100)%$',
              default: 1,
              description:
                'maxUnavailable of the PDBs: at least 1, or a percentage from 1% to 100%.',
              [MESSAGE]: MESSAGES.b21,
              'x-kubernetes-validations': [
                {
                  rule: `${celIsInt('self')} ? self >= 1 : self.matches(r'^([1-9][0-9]?|100)%$')`,
                  message: MESSAGES.b21,
                },
              ],
            }),
          ),
        },
        { default: {}, description: 'Operator-managed PodDisruptionBudgets.' },
      ),
    ),
    jobResources: Type.Optional(JobResources),
  },
  {
    default: {},
    description: 'Desired state of the bench.',
    'x-kubernetes-validations': [
      {
        rule: celUnchanged('storageClassName'),
        message: MESSAGES.b14Class,
        fieldPath: '.storageClassName',
      },
    ],
  },
);
export type FrappeBenchSpec = Static<typeof FrappeBenchSpec>;

export { BENCH_PHASES, type BenchPhase };

export const ComponentScalingStatus = Type.Object(
  {
    mode: StringEnum(['autoscaled', 'static'], {
      description: 'autoscaled (an HPA or ScaledObject manages replicas) or static.',
    }),
    provider: StringEnum(['hpa', 'keda', ''], {
      description: 'Provider managing the replicas; empty when static.',
    }),
    currentReplicas: Int32({ minimum: 0, description: 'status.replicas of the Deployment.' }),
    desiredReplicas: Int32({ minimum: 0, description: 'spec.replicas of the Deployment.' }),
    providerManaged: Type.Boolean({
      description: 'True when the autoscaler, not the operator, sets spec.replicas.',
    }),
  },
  { description: 'Scaling state of one component.' },
);
export type ComponentScalingStatus = Static<typeof ComponentScalingStatus>;

export const FrappeBenchStatus = Type.Object(
  {
    ...statusFields(
      BENCH_PHASES,
      'Summary of the conditions: Deleting, Failed (not Ready, last init failed), Updating (Ready and Progressing), Ready, Provisioning, or Pending.',
    ),
    image: Type.Optional(
      Type.String({ description: 'Resolved image the serving pods should run.' }),
    ),
    initializedImage: Type.Optional(
      Type.String({
        description:
          'Image of the last successful bench-init Job: the image the serving Deployments run.',
      }),
    ),
    initializedInputsHash: Type.Optional(
      Type.String({
        description:
          'Hash of the inputs (image, apps, Redis, commonSiteConfig) of the last successful bench-init: it does not run again for them, even once its Job is gone.',
      }),
    ),
    benchId: Type.Optional(
      Type.String({
        description: 'bench_id written into common_site_config.json (<namespace>-<bench>).',
      }),
    ),
    apps: Type.Optional(
      Type.Array(
        Type.Object(
          {
            name: Type.String({ description: 'App name.' }),
            version: Type.Optional(Type.String({ description: 'Version found in the image.' })),
          },
          { description: 'An app found in the image.' },
        ),
        { description: 'Apps and versions read from the image by bench-init.' },
      ),
    ),
    installedApps: Type.Optional(
      Type.Array(Type.String({ description: 'App name.' }), {
        description: 'Names of the apps in the image (reference compatibility).',
      }),
    ),
    siteCount: Type.Optional(
      Int32({ minimum: 0, description: 'FrappeSites referencing this bench.' }),
    ),
    componentScaling: Type.Optional(
      KeyedMap(COMPONENTS, ComponentScalingStatus, {
        maxProperties: 7,
        description: 'Scaling state per component (all seven; the scheduler is always static).',
      }),
    ),
  },
  { description: 'Observed state of the bench.' },
);
export type FrappeBenchStatus = Static<typeof FrappeBenchStatus>;

export const FrappeBenchDefinition = defineKind({
  kind: KIND.FrappeBench,
  plural: 'frappebenches',
  shortNames: ['fb'],
  description:
    'FrappeBench is one Frappe image and its runtime: sites volume, Redis, gunicorn, nginx, socketio, scheduler, three workers and their scaling.',
  metadata: ObjectMeta({ maxLength: 40, pattern: PATTERNS.DNS_LABEL, message: MESSAGES.b1 }),
  spec: FrappeBenchSpec,
  status: FrappeBenchStatus,
  printerColumns: [
    PHASE_COLUMN,
    READY_COLUMN,
    {
      name: 'Version',
      type: 'string',
      jsonPath: '.spec.frappeVersion',
      description: 'Frappe version.',
    },
    {
      name: 'Sites',
      type: 'integer',
      jsonPath: '.status.siteCount',
      description: 'FrappeSites referencing the bench.',
    },
    AGE_COLUMN,
    {
      name: 'Image',
      type: 'string',
      jsonPath: '.status.image',
      description: 'Image the serving pods run.',
      priority: 1,
    },
  ],
});
export const FrappeBenchSchema = FrappeBenchDefinition.schema;
export type FrappeBench = Static<typeof FrappeBenchSchema>;
