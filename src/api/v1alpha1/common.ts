// vyogo.tech/v1alpha1: group/version constants, the patterns of API.md §6, the shapes shared by
// the four kinds (ResourceRequirements, SecretKeyRef, DatabaseConfig, Destination, SiteRef,
// Condition, ObjectMeta and the common status fields) and defineKind, which makes each kind's
// schema and definition alike.
import { Type } from '@sinclair/typebox';
import type { Static, TProperties, TSchema } from '@sinclair/typebox';
import { API_VERSION, GROUP, VERSION } from './names.ts';
import { DEFAULT_RESOURCES, describeSize } from './resources.ts';
import {
  IntOrString,
  KeyedMap,
  MapOf,
  MESSAGE,
  PatternString,
  StringEnum,
  celIsInt,
  celIsQuantity,
  celList,
  celQuantity,
  celRegex,
} from '../schema.ts';
import type { KindDefinition, Options, PrinterColumn } from '../schema.ts';

export { API_VERSION, GROUP, VERSION } from './names.ts';
/** Every kind is in this category: `kubectl get frappe` lists all four. */
export const CATEGORY = 'frappe';

/** `jan` → `[jJ][aA][nN]`: a case-insensitive name for RE2 and JavaScript alike. */
const anyCase = (name: string): string => name.replace(/[a-z]/g, (c) => `[${c}${c.toUpperCase()}]`);

/**
 * A CronJob schedule as Kubernetes parses it (robfig/cron's standard parser): one of the
 * descriptors, or five fields — minute 0–59, hour 0–23, day of month 1–31, month 1–12 or
 * JAN–DEC, day of week 0–6 or SUN–SAT (names in any case) — each a list of `*`, `?`, a value or a
 * range `a-b`, optionally with a step `/n` (n ≥ 1). A value out of its field's range (minute 61)
 * is refused at admission with K2's message, not by the CronJob the backup controller would make.
 */
function cronPattern(): string {
  const names = (list: string) => list.split(' ').map(anyCase).join('|');
  const field = (value: string) => {
    const item = `(\\*|\\?|(${value})(-(${value}))?)(/[1-9][0-9]*)?`;
    return `${item}(,${item})*`;
  };
  const fields = [
    '[0-5]?[0-9]',
    '[01]?[0-9]|2[0-3]',
    '0?[1-9]|[12][0-9]|3[01]',
    `0?[1-9]|1[0-2]|${names('jan feb mar apr may jun jul aug sep oct nov dec')}`,
    `0?[0-6]|${names('sun mon tue wed thu fri sat')}`,
  ].map((v) => `(${field(v)})`);
  return `^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|${fields.join('[ \\t]+')})$`;
}

/** The regular expressions of API.md §6 (RE2 and JavaScript compatible). */
export const PATTERNS = {
  DNS_LABEL: String.raw`^[a-z]([-a-z0-9]*[a-z0-9])?$`,
  DNS_NAME: String.raw`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$`,
  DNS_SUFFIX: String.raw`^\.?[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$`,
  DNS_SUBDOMAIN: String.raw`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`,
  APP_NAME: String.raw`^[a-z][a-z0-9_]{0,63}$`,
  // Every string it accepts is valid JSON: JSON's own whitespace only (RE2's \s has \f, which
  // JSON.parse refuses) and no control character inside a version string.
  APPS_JSON: String.raw`^[ \t\n\r]*\[[ \t\n\r]*("[a-z][a-z0-9_]*(@[^"\\\x00-\x20]+)?"[ \t\n\r]*(,[ \t\n\r]*"[a-z][a-z0-9_]*(@[^"\\\x00-\x20]+)?"[ \t\n\r]*)*)?\][ \t\n\r]*$`,
  VERSION: String.raw`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`,
  IMAGE_REPO: String.raw`^([A-Za-z0-9.-]+(:[0-9]+)?/)?[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$`,
  IMAGE_TAG: String.raw`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`,
  CRON: cronPattern(),
  S3_URL: String.raw`^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/\S+$`,
  S3_OBJECT: String.raw`^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/\S*[^/\s]$`,
  BUCKET: String.raw`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`,
  TIME_ZONE: String.raw`^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$`,
  PREFIX: String.raw`^([A-Za-z0-9._-]+/)*[A-Za-z0-9._-]*$`,
  HTTP_URL: String.raw`^https?://`,
  /** Kubernetes' own quantity syntax (resource.Quantity). */
  QUANTITY: String.raw`^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$`,
  SECRET_KEY: String.raw`^[-._a-zA-Z0-9]+$`,
} as const;

/** Messages of API.md §6 used by more than one kind. */
export const MESSAGES = {
  secretName: 'must be a valid Secret name',
  pvcName: 'must be a valid PersistentVolumeClaim name',
  resourceKeys: 'only cpu, memory and ephemeral-storage may be set',
  resourceQuantity: 'resource values must be quantities such as 500m or 2Gi',
  requestsWithinLimits: 'requests must not exceed limits',
  siteRefName: 'siteRef.name must name a FrappeSite',
} as const;

// ---------------------------------------------------------------------------------------------
// Scalars
// ---------------------------------------------------------------------------------------------

/** A Secret name (DNS-1123 subdomain). */
export function SecretName(description: string) {
  return PatternString(PATTERNS.DNS_SUBDOMAIN, MESSAGES.secretName, {
    maxLength: 253,
    description,
  });
}

/**
 * A quantity (int-or-string) such as `500m` or `2Gi`, checked by the CEL `rule` (default: it parses
 * as a quantity) with `message`.
 */
export function Quantity(options: Options & { message?: string; rule?: string }) {
  const { message = MESSAGES.resourceQuantity, rule = celIsQuantity('self'), ...rest } = options;
  return IntOrString({
    ...rest,
    maxLength: 64,
    stringPattern: PATTERNS.QUANTITY,
    [MESSAGE]: message,
    'x-kubernetes-validations': [{ rule, message }, ...(rest['x-kubernetes-validations'] ?? [])],
  });
}

/** A strictly positive size quantity; `field` and `example` make the message. */
export function PositiveQuantity(field: string, example: string, options: Options) {
  return Quantity({
    ...options,
    message: `${field} must be a positive quantity such as ${example}`,
    rule: `${celIsInt('self')} ? self > 0 : (isQuantity(self) && quantity(self).isGreaterThan(quantity('0')))`,
  });
}

/** A size of at least 1Mi: a plain number is bytes; a milli-byte (`512m`) is refused. */
export function MemorySize(field: string, example: string, options: Options) {
  return Quantity({
    ...options,
    message: `${field} must be at least 1Mi, such as ${example} (a plain number is bytes; m means milli-bytes)`,
    rule: `${celIsInt('self')} ? self >= 1048576 : (isQuantity(self) && quantity(self).compareTo(quantity('1Mi')) >= 0)`,
  });
}

export const Int32 = (options: Options) => Type.Integer({ format: 'int32', ...options });
export const Int64 = (options: Options) => Type.Integer({ format: 'int64', ...options });
export const Timestamp = (description: string) => Type.String({ format: 'date-time', description });
/** An optional string field with nothing but a description (status fields, mostly). */
export const OptionalString = (description: string) => Type.Optional(Type.String({ description }));

// ---------------------------------------------------------------------------------------------
// ResourceRequirements
// ---------------------------------------------------------------------------------------------

export const RESOURCE_NAMES = ['cpu', 'memory', 'ephemeral-storage'] as const;
export type ResourceName = (typeof RESOURCE_NAMES)[number];

function ResourceList(description: string) {
  return KeyedMap(
    RESOURCE_NAMES,
    Quantity({ description: 'Quantity of the resource, e.g. 500m (cpu) or 2Gi (memory).' }),
    {
      description,
      maxProperties: 3,
      [MESSAGE]: MESSAGES.resourceKeys,
      'x-kubernetes-validations': [
        { rule: `self.all(k, k in ${celList(RESOURCE_NAMES)})`, message: MESSAGES.resourceKeys },
      ],
    },
  );
}

// Values are checked by their own rule; an invalid one makes this rule report an evaluation error
// too (guarding it here again would double the CEL cost of the 17 ResourceRequirements of a bench).
const requestsWithinLimits = `!has(self.requests) || !has(self.limits) || self.requests.all(k, !(k in self.limits) || ${celQuantity('self.requests[k]')}.compareTo(${celQuantity('self.limits[k]')}) <= 0)`;

/** Container requests and limits (cpu, memory, ephemeral-storage). */
export function ResourceRequirementsSchema(description: string) {
  return Type.Object(
    {
      requests: Type.Optional(
        ResourceList(
          'Minimum resources reserved for the container. A missing request is min(built-in default request, your limit).',
        ),
      ),
      limits: Type.Optional(
        ResourceList(
          'Maximum resources the container may use. A missing limit is max(built-in default limit, your request).',
        ),
      ),
    },
    {
      description,
      'x-kubernetes-validations': [
        { rule: requestsWithinLimits, message: MESSAGES.requestsWithinLimits },
      ],
    },
  );
}
export const ResourceRequirements = ResourceRequirementsSchema(
  'Requests and limits of cpu, memory and ephemeral-storage.',
);
export type ResourceRequirements = Static<typeof ResourceRequirements>;

// ---------------------------------------------------------------------------------------------
// References
// ---------------------------------------------------------------------------------------------

/** A key of a Secret in the object's own namespace; `defaultKey` is the key when unset. */
export function SecretKeyRef(defaultKey: string, description: string) {
  return Type.Object(
    {
      name: SecretName('Name of the Secret, in the same namespace.'),
      key: Type.Optional(
        Type.String({
          description: `Key within the Secret (default "${defaultKey}").`,
          default: defaultKey,
          maxLength: 253,
          pattern: PATTERNS.SECRET_KEY,
        }),
      ),
    },
    { description },
  );
}
export type SecretKeyRef = Static<ReturnType<typeof SecretKeyRef>>;

/** Reference to a FrappeSite in the same namespace (SiteBackup, SiteJob). */
export const SiteRef = Type.Object(
  {
    name: PatternString(PATTERNS.DNS_LABEL, MESSAGES.siteRefName, {
      maxLength: 63,
      description: 'Name of the FrappeSite object (metadata.name), not the Frappe site name.',
    }),
  },
  { description: 'The FrappeSite, in the same namespace.' },
);
export type SiteRef = Static<typeof SiteRef>;

// ---------------------------------------------------------------------------------------------
// DatabaseConfig
// ---------------------------------------------------------------------------------------------

const DB_MESSAGES = {
  d1: 'dbConfig.connectionSecretRef is required when provider is external',
  d2: 'dbConfig.mode dedicated is only supported with provider mariadb',
  d3: 'dbConfig.mariadbRef applies only to a shared mariadb database',
  d4: 'dbConfig.connectionSecretRef applies only to provider external',
  d5: 'dbConfig.host and dbConfig.port apply only to provider external',
  d5Port: 'dbConfig.port must be between 1 and 65535',
  d6: 'dbConfig.image, storageSize, storageClassName and resources apply only to mode dedicated',
} as const;

export const DatabaseConfig = Type.Object(
  {
    provider: Type.Optional(
      StringEnum(['mariadb', 'external'], {
        description:
          'Database provider. mariadb: a MariaDB Operator database; external: an existing MySQL/MariaDB server reached with connectionSecretRef. Defaults to external when connectionSecretRef is set, else mariadb. Immutable on a FrappeSite.',
      }),
    ),
    mode: Type.Optional(
      StringEnum(['shared', 'dedicated'], {
        description:
          'shared (default): a database and user on a shared MariaDB (mariadbRef); dedicated: one MariaDB per site. Immutable on a FrappeSite.',
      }),
    ),
    mariadbRef: Type.Optional(
      Type.Object(
        {
          name: Type.String({
            maxLength: 253,
            description: 'Name of the MariaDB object (k8s.mariadb.com/v1alpha1).',
          }),
          namespace: Type.Optional(
            Type.String({
              maxLength: 63,
              description: 'Namespace of the MariaDB object (default: the site namespace).',
            }),
          ),
        },
        {
          description:
            'Shared MariaDB object of the MariaDB Operator (default frappe-mariadb in the site namespace); may be in another namespace, e.g. databases.',
        },
      ),
    ),
    connectionSecretRef: Type.Optional(
      Type.Object(
        { name: SecretName('Name of the Secret, in the same namespace.') },
        {
          description:
            'External provider: Secret with keys username and password (required); host, port, database (optional); rootUsername and rootPassword (only for restoreFrom). The database must already exist.',
        },
      ),
    ),
    host: Type.Optional(
      Type.String({
        maxLength: 253,
        description:
          'External provider: database host; overrides the Secret key host. A ProxySQL Service works.',
      }),
    ),
    port: Type.Optional(
      IntOrString({
        maxLength: 5,
        stringPattern: '^[0-9]{1,5}$',
        description:
          'External provider: database port (default 3306); overrides the Secret key port.',
        [MESSAGE]: DB_MESSAGES.d5Port,
        'x-kubernetes-validations': [
          {
            rule: `${celIsInt('self')} ? (self >= 1 && self <= 65535) : (self.matches(r'^[0-9]{1,5}$') && int(self) >= 1 && int(self) <= 65535)`,
            message: DB_MESSAGES.d5Port,
          },
        ],
      }),
    ),
    image: Type.Optional(
      Type.String({
        maxLength: 512,
        description: 'Dedicated mode: MariaDB image (default: the operator defaultMariaDBImage).',
      }),
    ),
    storageSize: Type.Optional(
      PositiveQuantity('dbConfig.storageSize', '10Gi', {
        description: 'Dedicated mode: size of the database volume (default 10Gi).',
      }),
    ),
    storageClassName: Type.Optional(
      Type.String({
        maxLength: 253,
        description:
          'Dedicated mode: StorageClass of the database volume (default: the cluster default).',
      }),
    ),
    resources: Type.Optional(
      ResourceRequirementsSchema(
        `Dedicated mode: resources of the MariaDB container (default ${describeSize(DEFAULT_RESOURCES.mariadb)}).`,
      ),
    ),
  },
  {
    description:
      'Database settings. A site resolves each field from its own dbConfig, then the bench dbConfig, then the runtime default, and pins the result in status.database when the database is first provisioned.',
    'x-kubernetes-validations': [
      {
        rule: "self.?provider.orValue('') != 'external' || has(self.connectionSecretRef)",
        message: DB_MESSAGES.d1,
      },
      {
        rule: "self.?mode.orValue('') != 'dedicated' || self.?provider.orValue('mariadb') == 'mariadb'",
        message: DB_MESSAGES.d2,
      },
      {
        rule: "!has(self.mariadbRef) || (self.?provider.orValue('mariadb') == 'mariadb' && self.?mode.orValue('shared') != 'dedicated')",
        message: DB_MESSAGES.d3,
      },
      {
        rule: "!has(self.connectionSecretRef) || self.?provider.orValue('external') == 'external'",
        message: DB_MESSAGES.d4,
      },
      {
        rule: "!(has(self.host) || has(self.port)) || self.?provider.orValue('external') == 'external'",
        message: DB_MESSAGES.d5,
      },
      {
        rule: "!(has(self.image) || has(self.storageSize) || has(self.storageClassName) || has(self.resources)) || self.?mode.orValue('dedicated') == 'dedicated'",
        message: DB_MESSAGES.d6,
      },
    ],
  },
);
export type DatabaseConfig = Static<typeof DatabaseConfig>;

// ---------------------------------------------------------------------------------------------
// Destination
// ---------------------------------------------------------------------------------------------

const DESTINATION_MESSAGES = {
  k4: 'destination.config.bucket is required for type s3 and must be a valid bucket name',
  k5: 'destination.config fields must match destination.type',
  k6: "destination.config.prefix must be a relative path without '..'",
  k7: 'destination.config.endpoint must be an http(s) URL',
} as const;

const S3_ONLY_FIELDS = ['bucket', 'region', 'endpoint', 'credentialsSecret', 'forcePathStyle'];

export const Destination = Type.Object(
  {
    type: StringEnum(['s3', 'pvc'], {
      description:
        's3: an S3 or S3-compatible bucket (MinIO, Ceph RGW, R2); pvc: a PersistentVolumeClaim.',
    }),
    config: Type.Optional(
      Type.Object(
        {
          bucket: Type.Optional(
            PatternString(PATTERNS.BUCKET, DESTINATION_MESSAGES.k4, {
              maxLength: 63,
              description: 's3: bucket name (required for s3).',
            }),
          ),
          region: Type.Optional(
            Type.String({ maxLength: 64, description: 's3: region (default us-east-1).' }),
          ),
          endpoint: Type.Optional(
            PatternString(PATTERNS.HTTP_URL, DESTINATION_MESSAGES.k7, {
              maxLength: 2048,
              description:
                's3: http(s) URL of an S3-compatible store (MinIO, Ceph RGW, R2); default AWS.',
            }),
          ),
          prefix: Type.Optional(
            Type.String({
              maxLength: 1024,
              default: '',
              pattern: PATTERNS.PREFIX,
              [MESSAGE]: DESTINATION_MESSAGES.k6,
              description:
                'Relative path under which backup sets go: <prefix>/<namespace>/<site>/<timestamp>/ (pvc: <prefix or "backups">/...).',
              'x-kubernetes-validations': [
                {
                  rule: `!self.matches(${celRegex(String.raw`(^|/)\.\.(/|$)`)})`,
                  message: DESTINATION_MESSAGES.k6,
                },
              ],
            }),
          ),
          credentialsSecret: Type.Optional(
            SecretName(
              "s3: Secret with keys AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and optional AWS_SESSION_TOKEN, mounted only into the upload agent. Without it the agent uses the Job pod's workload identity (podConfig.serviceAccountName).",
            ),
          ),
          forcePathStyle: Type.Optional(
            Type.Boolean({
              description: 's3: path-style addressing, e.g. for MinIO (default false).',
            }),
          ),
          claimName: Type.Optional(
            PatternString(PATTERNS.DNS_SUBDOMAIN, MESSAGES.pvcName, {
              maxLength: 253,
              description: "pvc: the claim (default: the bench's <bench>-sites).",
            }),
          ),
        },
        { description: 'Settings of the destination; which fields apply depends on type.' },
      ),
    ),
  },
  {
    description: 'Where backup sets are uploaded.',
    'x-kubernetes-validations': [
      {
        rule: "self.type != 's3' || (has(self.config) && has(self.config.bucket))",
        message: DESTINATION_MESSAGES.k4,
      },
      {
        rule: `!has(self.config) || (self.type == 's3' ? !has(self.config.claimName) : !(${S3_ONLY_FIELDS.map((f) => `has(self.config.${f})`).join(' || ')}))`,
        message: DESTINATION_MESSAGES.k5,
      },
    ],
  },
);
export type Destination = Static<typeof Destination>;

// ---------------------------------------------------------------------------------------------
// Metadata and status
// ---------------------------------------------------------------------------------------------

/** The fields of ObjectMeta the operator reads; `name` constrains metadata.name (root CEL rule). */
export function ObjectMeta(name?: { maxLength: number; pattern: string; message: string }) {
  return Type.Object(
    {
      name: Type.Optional(
        name === undefined
          ? Type.String({ description: 'Name of the object.' })
          : Type.String({
              description: 'Name of the object.',
              maxLength: name.maxLength,
              pattern: name.pattern,
              [MESSAGE]: name.message,
            }),
      ),
      generateName: OptionalString('Prefix of a generated name.'),
      namespace: OptionalString('Namespace of the object.'),
      uid: OptionalString('Unique identifier.'),
      resourceVersion: OptionalString('Version for optimistic concurrency.'),
      generation: Type.Optional(Type.Integer({ description: 'Generation of the spec.' })),
      creationTimestamp: OptionalString('Creation time (RFC 3339).'),
      deletionTimestamp: OptionalString('Deletion request time (RFC 3339).'),
      labels: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Labels.' })),
      annotations: Type.Optional(
        Type.Record(Type.String(), Type.String(), { description: 'Annotations.' }),
      ),
      finalizers: Type.Optional(Type.Array(Type.String(), { description: 'Finalizers.' })),
      ownerReferences: Type.Optional(
        Type.Array(
          Type.Object({
            apiVersion: Type.String(),
            kind: Type.String(),
            name: Type.String(),
            uid: Type.String(),
            controller: Type.Optional(Type.Boolean()),
            blockOwnerDeletion: Type.Optional(Type.Boolean()),
          }),
          { description: 'Owners of the object.' },
        ),
      ),
    },
    { description: 'Standard object metadata.' },
  );
}
export type ObjectMeta = Static<ReturnType<typeof ObjectMeta>>;

export const ConditionStatus = StringEnum(['True', 'False', 'Unknown'], {
  description: 'Status of the condition: True, False or Unknown.',
});

/** metav1.Condition. */
export const Condition = Type.Object(
  {
    type: Type.String({
      maxLength: 316,
      pattern: String.raw`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$`,
      description: 'Type of the condition in CamelCase, e.g. Ready.',
    }),
    status: ConditionStatus,
    observedGeneration: Type.Optional(
      Int64({
        minimum: 0,
        description: 'metadata.generation the condition was set for.',
      }),
    ),
    lastTransitionTime: Timestamp('Last time the status changed.'),
    reason: Type.String({
      minLength: 1,
      maxLength: 1024,
      pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
      description: 'Programmatic identifier in CamelCase of the reason for the last transition.',
    }),
    message: Type.String({
      maxLength: 32768,
      description: 'Human-readable details, saying what to do when action is needed.',
    }),
  },
  { description: 'One aspect of the current state (metav1.Condition).' },
);
export type Condition = Static<typeof Condition>;

/** phase, observedGeneration and conditions, present in the status of every kind. */
export function statusFields<const P extends readonly string[]>(
  phases: P,
  phaseDescription: string,
) {
  return {
    phase: Type.Optional(StringEnum(phases, { description: phaseDescription })),
    observedGeneration: Type.Optional(
      Int64({ minimum: 0, description: 'Last metadata.generation fully processed.' }),
    ),
    conditions: Type.Optional(
      Type.Array(Condition, {
        description:
          'Latest observations (Ready, Progressing, Degraded and kind-specific conditions).',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
      }),
    ),
  } satisfies TProperties;
}

/** A string map, e.g. labels or annotations. */
export function StringMap(description: string, options: Options & { maxProperties: number }) {
  return MapOf(Type.String({ maxLength: 4096, description: 'Value.' }), {
    ...options,
    description,
  });
}

/**
 * A kind of the group: its object schema (apiVersion, kind, metadata, spec, status) and the
 * names every kind derives alike (listKind `<Kind>List`, singular the lower-case kind).
 */
export function defineKind<const K extends string, S extends TSchema, T extends TSchema>(def: {
  kind: K;
  plural: string;
  shortNames: readonly string[];
  description: string;
  metadata: ReturnType<typeof ObjectMeta>;
  spec: S;
  status: T;
  printerColumns: readonly PrinterColumn[];
}) {
  const schema = Type.Object(
    {
      apiVersion: Type.Literal(API_VERSION, { description: `Always ${API_VERSION}.` }),
      kind: Type.Literal(def.kind, { description: `Always ${def.kind}.` }),
      metadata: def.metadata,
      spec: def.spec,
      status: Type.Optional(def.status),
    },
    { description: def.description },
  );
  return {
    group: GROUP,
    version: VERSION,
    kind: def.kind,
    listKind: `${def.kind}List`,
    plural: def.plural,
    singular: def.kind.toLowerCase(),
    shortNames: def.shortNames,
    categories: [CATEGORY],
    description: def.description,
    schema,
    printerColumns: def.printerColumns,
  } as const satisfies KindDefinition<typeof schema>;
}

/** Printer columns shared by the kinds. */
export const PHASE_COLUMN = {
  name: 'Phase',
  type: 'string',
  jsonPath: '.status.phase',
  description: 'One-word summary of the conditions.',
} as const satisfies PrinterColumn;
export const READY_COLUMN = {
  name: 'Ready',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
  description: 'Status of the Ready condition.',
} as const satisfies PrinterColumn;
export const AGE_COLUMN = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  description: 'Time since creation.',
} as const satisfies PrinterColumn;
