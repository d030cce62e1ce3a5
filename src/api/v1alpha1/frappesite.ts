// FrappeSite (vyogo.tech/v1alpha1): one site on a bench — database, secrets, init, migrations,
// ingress/TLS, restore and deletion. Schema, types, printer columns and the admission rules S0–S12
// (and D1–D6 on dbConfig) of API.md §6.
import { Type } from '@sinclair/typebox';
import { KIND, SITE_PHASES, type SitePhase } from './names.ts';
import type { Static } from '@sinclair/typebox';
import { PatternString, StringEnum, celUnchanged } from '../schema.ts';
import {
  AGE_COLUMN,
  DatabaseConfig,
  defineKind,
  Int32,
  ObjectMeta,
  OptionalString,
  PATTERNS,
  PHASE_COLUMN,
  READY_COLUMN,
  SecretKeyRef,
  SecretName,
  statusFields,
  StringMap,
  Timestamp,
} from './common.ts';

const MESSAGES = {
  s1: 'FrappeSite name must be a DNS-1035 label of at most 50 characters',
  s2: 'siteName must be a lowercase DNS name such as erp.example.com',
  s2Immutable: 'siteName is immutable',
  s3: 'benchRef.name must name a FrappeBench',
  s3Immutable: 'benchRef is immutable',
  s4: 'domain must be a lowercase DNS name',
  s5: 'apps entries must be Python package names',
  s6Provider: 'dbConfig.provider is immutable',
  s6Mode: 'dbConfig.mode is immutable',
  s7Backup: 'restoreFrom.backup must be an s3://bucket/key URL',
  s7Files:
    'restoreFrom.files and restoreFrom.privateFiles must be s3://bucket/key URLs of tar files',
  s8: 'restoreFrom can only be set when the site is created and cannot be changed',
  s9: 'restoreFrom and skipInit cannot be combined',
  s10: 'restoreFrom.endpoint must be an http(s) URL',
  s11: 'set either tls or ingress.tls, not both',
} as const;

const Tls = Type.Object(
  {
    enabled: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          'Serve the site over TLS (always on when the operator enforceHTTPS is set); siteURL becomes https.',
      }),
    ),
    secretName: Type.Optional(SecretName('Secret holding the certificate (default <site>-tls).')),
    issuer: Type.Optional(
      Type.String({
        maxLength: 253,
        description:
          'cert-manager ClusterIssuer (annotation cert-manager.io/cluster-issuer); default: the operator defaultClusterIssuer.',
      }),
    ),
  },
  { description: 'TLS of the site Ingress.' },
);

const s3Object = (description: string) =>
  Type.Optional(
    PatternString(PATTERNS.S3_OBJECT, MESSAGES.s7Files, { maxLength: 1024, description }),
  );

const RestoreFrom = Type.Object(
  {
    backup: PatternString(PATTERNS.S3_URL, MESSAGES.s7Backup, {
      maxLength: 1024,
      description:
        's3:// URL of a .sql.gz database dump, or of a backup-set directory ending in / (its manifest.json names the files).',
    }),
    files: s3Object('s3:// URL of the public files tar.'),
    privateFiles: s3Object('s3:// URL of the private files tar.'),
    credentialsSecret: Type.Optional(
      SecretName(
        "Secret with keys AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and optional AWS_SESSION_TOKEN. Without it the download uses the pod's workload identity (podConfig.serviceAccountName), else anonymous access.",
      ),
    ),
    endpoint: Type.Optional(
      PatternString(PATTERNS.HTTP_URL, MESSAGES.s10, {
        maxLength: 2048,
        description: 'http(s) URL of an S3-compatible store; default AWS.',
      }),
    ),
    region: Type.Optional(
      Type.String({ maxLength: 64, default: 'us-east-1', description: 'S3 region.' }),
    ),
    forcePathStyle: Type.Optional(
      Type.Boolean({ default: false, description: 'Path-style addressing, e.g. for MinIO.' }),
    ),
  },
  {
    description:
      'Create the site from a backup instead of a new site. Can be set only when the site is created and never changed; it may be removed once restored.',
  },
);

export const FrappeSiteSpec = Type.Object(
  {
    benchRef: Type.Object(
      {
        name: PatternString(PATTERNS.DNS_LABEL, MESSAGES.s3, {
          maxLength: 63,
          description: 'Name of the FrappeBench.',
        }),
        namespace: Type.Optional(
          Type.String({
            maxLength: 63,
            description:
              'Accepted for compatibility; only the site namespace is supported (another one gives BenchReady=False, reason CrossNamespaceUnsupported).',
          }),
        ),
      },
      {
        description: 'The FrappeBench the site runs on. Immutable.',
        'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: MESSAGES.s3Immutable }],
      },
    ),
    siteName: PatternString(PATTERNS.DNS_NAME, MESSAGES.s2, {
      maxLength: 253,
      description:
        'Frappe site name: the site directory and the Host Frappe serves, e.g. erp.example.com. Immutable.',
      'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: MESSAGES.s2Immutable }],
    }),
    domain: Type.Optional(
      PatternString(PATTERNS.DNS_NAME, MESSAGES.s4, {
        maxLength: 253,
        description:
          'External host of the site (default: siteName plus the bench domainConfig.suffix when siteName has no dot, else siteName). When it differs from siteName the operator links sites/<domain> to <siteName>.',
      }),
    ),
    apps: Type.Optional(
      Type.Array(
        PatternString(PATTERNS.APP_NAME, MESSAGES.s5, {
          maxLength: 64,
          description: 'App name, e.g. erpnext.',
        }),
        {
          maxItems: 50,
          'x-kubernetes-list-type': 'set',
          description:
            'Apps to install (each must be in the bench image). Apps added later are installed by an update run; apps removed from the list are not uninstalled (use a SiteJob uninstall-app).',
        },
      ),
    ),
    adminPasswordSecretRef: Type.Optional(
      SecretKeyRef(
        'password',
        'Administrator password (default: generated Secret <site>-admin). May name a Secret that does not exist yet; the site waits with SecretsReady=False. A change of the Secret resets the password.',
      ),
    ),
    encryptionKeySecretRef: Type.Optional(
      SecretKeyRef(
        'encryption_key',
        "Frappe encryption key (default: generated Secret <site>-encryption-key). For a restore, point it at the source site's key.",
      ),
    ),
    dbConfig: Type.Optional(DatabaseConfig),
    ingress: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(
            Type.Boolean({
              default: true,
              description:
                'false deletes the Ingress (traffic drain; the site stays Ready); true recreates it.',
            }),
          ),
          className: Type.Optional(
            Type.String({
              maxLength: 253,
              description:
                'IngressClass (default: the operator defaultIngressClassName, else the cluster default).',
            }),
          ),
          annotations: Type.Optional(
            StringMap("Annotations merged over the operator's.", { maxProperties: 64 }),
          ),
          tls: Type.Optional(Tls),
        },
        { default: {}, description: 'The site Ingress <site>-ingress.' },
      ),
    ),
    tls: Type.Optional(Tls),
    deletionPolicy: Type.Optional(
      StringEnum(['Retain', 'Delete'], {
        default: 'Retain',
        description:
          'Retain: deleting the FrappeSite keeps the site directory, database and Secrets (a new FrappeSite of the same name adopts them). Delete: final backup when a destination is known, then the site files and database are removed.',
      }),
    ),
    skipInit: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          'Adopt an existing site or database: no new-site; migrate and install missing apps.',
      }),
    ),
    restoreFrom: Type.Optional(RestoreFrom),
  },
  {
    description: 'Desired state of the site.',
    'x-kubernetes-validations': [
      {
        rule: celUnchanged('dbConfig.provider'),
        message: MESSAGES.s6Provider,
        fieldPath: '.dbConfig.provider',
      },
      {
        rule: celUnchanged('dbConfig.mode'),
        message: MESSAGES.s6Mode,
        fieldPath: '.dbConfig.mode',
      },
      {
        rule: '!has(self.restoreFrom) || (has(oldSelf.restoreFrom) && self.restoreFrom == oldSelf.restoreFrom)',
        message: MESSAGES.s8,
        fieldPath: '.restoreFrom',
      },
      { rule: '!has(self.restoreFrom) || !self.skipInit', message: MESSAGES.s9 },
      {
        rule: '!has(self.tls) || !has(self.ingress) || !has(self.ingress.tls)',
        message: MESSAGES.s11,
      },
    ],
  },
);
export type FrappeSiteSpec = Static<typeof FrappeSiteSpec>;

export { SITE_PHASES, type SitePhase };

export const FrappeSiteStatus = Type.Object(
  {
    ...statusFields(
      SITE_PHASES,
      'Summary of the conditions: Pending (bench missing or not Ready, or waiting for Secrets), Provisioning, Restoring, Ready, Failed (init or restore failed) or Deleting.',
    ),
    siteURL: OptionalString('https://<domain> when TLS is effective, else http://<domain>.'),
    resolvedDomain: OptionalString('The domain the Ingress serves.'),
    domainSource: Type.Optional(
      StringEnum(['explicit', 'bench-suffix', 'sitename-default'], {
        description: 'Where resolvedDomain comes from.',
      }),
    ),
    database: Type.Optional(
      Type.Object(
        {
          provider: OptionalString('mariadb or external.'),
          mode: OptionalString('shared or dedicated.'),
          host: OptionalString('Database host.'),
          port: Type.Optional(Int32({ description: 'Database port.' })),
          name: OptionalString('Database name.'),
          user: OptionalString('Database user.'),
          secretName: OptionalString('Secret holding the database password.'),
        },
        {
          description:
            'Effective database settings, pinned when the database was first provisioned (no password).',
        },
      ),
    ),
    databaseName: OptionalString('Database name (reference compatibility).'),
    databaseCredentialsSecret: OptionalString(
      'Secret of the database credentials (reference compatibility).',
    ),
    installedApps: Type.Optional(
      Type.Array(Type.String({ description: 'App name.' }), {
        description: 'Apps installed on the site, from the last init, migrate or app Job.',
      }),
    ),
    initInputsHash: OptionalString(
      'Inputs hash of the last successful site-init (apps, database, domain, vyogo.tech/retry): a change runs site-init again as an update run, which never re-creates the site.',
    ),
    migratedImage: OptionalString(
      'Bench image the site was last initialised, restored or migrated with.',
    ),
    restore: Type.Optional(
      Type.Object(
        {
          source: OptionalString('The backup restored from.'),
          startTime: Type.Optional(Timestamp('Start of the restore.')),
          completionTime: Type.Optional(Timestamp('End of the restore.')),
          jobName: OptionalString('The restore Job.'),
        },
        { description: 'The restore from restoreFrom.' },
      ),
    ),
    adminPasswordSecretVersion: OptionalString(
      'resourceVersion of the admin password Secret last applied.',
    ),
  },
  { description: 'Observed state of the site.' },
);
export type FrappeSiteStatus = Static<typeof FrappeSiteStatus>;

export const FrappeSiteDefinition = defineKind({
  kind: KIND.FrappeSite,
  plural: 'frappesites',
  shortNames: ['fsite'],
  description:
    'FrappeSite is one site on a bench: database, secrets, init, migrations, ingress/TLS, restore and deletion.',
  metadata: ObjectMeta({ maxLength: 50, pattern: PATTERNS.DNS_LABEL, message: MESSAGES.s1 }),
  spec: FrappeSiteSpec,
  status: FrappeSiteStatus,
  printerColumns: [
    PHASE_COLUMN,
    READY_COLUMN,
    {
      name: 'Bench',
      type: 'string',
      jsonPath: '.spec.benchRef.name',
      description: 'The FrappeBench.',
    },
    { name: 'URL', type: 'string', jsonPath: '.status.siteURL', description: 'URL of the site.' },
    AGE_COLUMN,
    {
      name: 'Site',
      type: 'string',
      jsonPath: '.spec.siteName',
      description: 'Frappe site name.',
      priority: 1,
    },
    {
      name: 'Deletion',
      type: 'string',
      jsonPath: '.spec.deletionPolicy',
      description: 'Deletion policy.',
      priority: 1,
    },
  ],
});
export const FrappeSiteSchema = FrappeSiteDefinition.schema;
export type FrappeSite = Static<typeof FrappeSiteSchema>;
