// SiteBackup (vyogo.tech/v1alpha1): scheduled or one-shot backups of a site to S3 or a PVC, with
// retention. Schema, types, printer columns and the admission rules K0–K8 of API.md §6.
import { Type } from '@sinclair/typebox';
import { KIND } from './names.ts';
import type { Static } from '@sinclair/typebox';
import { PatternString, StringEnum, celUnchanged } from '../schema.ts';
import {
  AGE_COLUMN,
  defineKind,
  Destination,
  Int32,
  Int64,
  ObjectMeta,
  OptionalString,
  PATTERNS,
  PHASE_COLUMN,
  SiteRef,
  statusFields,
  Timestamp,
} from './common.ts';

const MESSAGES = {
  k1: 'exactly one of siteRef or site must be set',
  k1Immutable: 'the site of a SiteBackup is immutable; create a new SiteBackup',
  k2: 'schedule must be a cron expression with 5 fields (e.g. "0 2 * * *") or one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly',
  k3TimeZone: 'timeZone must be an IANA time zone such as Europe/Berlin',
  k3Retention:
    'retention requires a destination; backups kept on the bench volume are rotated by Frappe itself',
} as const;

export const SiteBackupSpec = Type.Object(
  {
    siteRef: Type.Optional(SiteRef),
    site: Type.Optional(
      Type.String({
        maxLength: 253,
        description:
          "Reference-style site: matched against spec.siteName of the namespace's FrappeSites, then metadata.name. Use siteRef or site, not both. Immutable.",
      }),
    ),
    schedule: Type.Optional(
      PatternString(PATTERNS.CRON, MESSAGES.k2, {
        maxLength: 128,
        description:
          'Cron schedule (5 fields or @daily etc.): a CronJob runs the backups. Empty: one backup Job now.',
      }),
    ),
    timeZone: Type.Optional(
      PatternString(PATTERNS.TIME_ZONE, MESSAGES.k3TimeZone, {
        maxLength: 64,
        default: 'Etc/UTC',
        description: 'IANA time zone of schedule (CronJob timeZone).',
      }),
    ),
    suspend: Type.Optional(Type.Boolean({ default: false, description: 'Suspend the CronJob.' })),
    withFiles: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'Back up the public and private files too (--with-files).',
      }),
    ),
    compress: Type.Optional(
      Type.Boolean({ default: false, description: 'Compress the files backup (--compress).' }),
    ),
    retention: Type.Optional(
      Type.Object(
        {
          days: Type.Optional(
            Int32({
              minimum: 0,
              description: 'Delete sets older than this many days; 0 or unset: no age limit.',
            }),
          ),
          count: Type.Optional(
            Int32({
              minimum: 0,
              description: 'Keep at most this many sets; 0 or unset: no count limit.',
            }),
          ),
        },
        {
          description:
            'Pruning of uploaded sets after every successful run and at least every 6 h. The newest successful set is never deleted; only sets of this SiteBackup are considered.',
        },
      ),
    ),
    destination: Type.Optional(Destination),
  },
  {
    description: 'Desired backups of one site.',
    'x-kubernetes-validations': [
      { rule: 'has(self.siteRef) != has(self.site)', message: MESSAGES.k1 },
      {
        rule: `${celUnchanged('siteRef')} && ${celUnchanged('site')}`,
        message: MESSAGES.k1Immutable,
      },
      { rule: '!has(self.retention) || has(self.destination)', message: MESSAGES.k3Retention },
    ],
  },
);
export type SiteBackupSpec = Static<typeof SiteBackupSpec>;

export const BACKUP_PHASES = [
  'Pending',
  'Scheduled',
  'Suspended',
  'Running',
  'Succeeded',
  'Failed',
] as const;
export type BackupPhase = (typeof BACKUP_PHASES)[number];

export const BackupRun = Type.Object(
  {
    jobName: Type.String({ description: 'The Job of the run.' }),
    startTime: Type.Optional(Timestamp('Start of the run.')),
    completionTime: Type.Optional(Timestamp('End of the run.')),
    state: StringEnum(['Running', 'Succeeded', 'Failed'], { description: 'State of the run.' }),
    location: OptionalString('Where the set was uploaded.'),
    sizeBytes: Type.Optional(Int64({ minimum: 0, description: 'Total size of the set.' })),
    message: OptionalString('Details, e.g. why the run failed.'),
  },
  { description: 'One backup run.' },
);
export type BackupRun = Static<typeof BackupRun>;

export const SiteBackupStatus = Type.Object(
  {
    ...statusFields(
      BACKUP_PHASES,
      'Pending (site not found or not initialised), Scheduled, Suspended, Running, or Succeeded / Failed for a one-shot backup.',
    ),
    site: OptionalString('The resolved FrappeSite name.'),
    cronJobName: OptionalString('The CronJob running scheduled backups.'),
    lastBackupJob: OptionalString('The last backup Job.'),
    lastScheduleTime: Type.Optional(Timestamp('Last time the CronJob was scheduled.')),
    lastSuccessfulBackup: Type.Optional(Timestamp('Completion time of the newest successful run.')),
    lastBackupLocation: OptionalString(
      'Location of the newest successful set, e.g. s3://frappe-backups/production/prod-site/20260102T020000Z/.',
    ),
    recentBackups: Type.Optional(
      Type.Array(BackupRun, { maxItems: 10, description: 'Recent runs, newest first.' }),
    ),
    lastRetentionRun: Type.Optional(Timestamp('Last retention pass.')),
    retainedSets: Type.Optional(
      Int32({ minimum: 0, description: 'Sets kept by the last retention pass.' }),
    ),
    prunedSets: Type.Optional(
      Int32({ minimum: 0, description: 'Sets deleted by the last retention pass.' }),
    ),
  },
  { description: 'Observed state of the backups.' },
);
export type SiteBackupStatus = Static<typeof SiteBackupStatus>;

export const SiteBackupDefinition = defineKind({
  kind: KIND.SiteBackup,
  plural: 'sitebackups',
  shortNames: ['sbk'],
  description:
    'SiteBackup makes scheduled or one-shot backups of a site to S3 or a PVC, with retention.',
  metadata: ObjectMeta(),
  spec: SiteBackupSpec,
  status: SiteBackupStatus,
  printerColumns: [
    { name: 'Site', type: 'string', jsonPath: '.status.site', description: 'The FrappeSite.' },
    {
      name: 'Schedule',
      type: 'string',
      jsonPath: '.spec.schedule',
      description: 'Cron schedule.',
    },
    {
      name: 'Last Backup',
      type: 'date',
      jsonPath: '.status.lastSuccessfulBackup',
      description: 'Completion of the newest successful run.',
    },
    PHASE_COLUMN,
    AGE_COLUMN,
    {
      name: 'Destination',
      type: 'string',
      jsonPath: '.spec.destination.type',
      description: 'Destination type.',
      priority: 1,
    },
  ],
});
export const SiteBackupSchema = SiteBackupDefinition.schema;
export type SiteBackup = Static<typeof SiteBackupSchema>;
