// SiteJob (vyogo.tech/v1alpha1): one operation on a site, run once (backup, migrate, clear-cache,
// install-app, uninstall-app, set-maintenance-mode, custom). Schema, types, printer columns and
// the admission rules J0–J7 of API.md §6 (K4–K8 through jobConfig.destination).
import { Type } from '@sinclair/typebox';
import { KIND } from './names.ts';
import type { Static } from '@sinclair/typebox';
import { PatternString, StringEnum, celHas, celList } from '../schema.ts';
import {
  AGE_COLUMN,
  defineKind,
  Destination,
  Int64,
  ObjectMeta,
  OptionalString,
  PATTERNS,
  PHASE_COLUMN,
  SiteRef,
  statusFields,
  Timestamp,
} from './common.ts';

export const JOB_TYPES = [
  'backup',
  'migrate',
  'clear-cache',
  'install-app',
  'uninstall-app',
  'set-maintenance-mode',
  'custom',
] as const;
export type JobType = (typeof JOB_TYPES)[number];

const MESSAGES = {
  j1: 'SiteJob spec is immutable; create a new SiteJob',
  j2: 'jobType custom requires jobConfig.command',
  j3: 'jobType install-app and uninstall-app require jobConfig.apps',
  j4: 'jobType set-maintenance-mode requires jobConfig.enabled (true or false)',
  j5Backup: 'jobConfig.withFiles, compress and destination apply only to jobType backup',
  j5Command: 'jobConfig.command applies only to jobType custom',
  j5Apps: 'jobConfig.apps applies only to jobType install-app and uninstall-app',
  j5Enabled: 'jobConfig.enabled applies only to jobType set-maintenance-mode',
  j6: 'jobConfig.apps entries must be app names; frappe cannot be uninstalled',
} as const;

const APP_JOBS = ['install-app', 'uninstall-app'];

/** CEL: the jobConfig field is set. */
const has = (field: string) => `self.?jobConfig.?${field}.hasValue()`;

export const SiteJobSpec = Type.Object(
  {
    siteRef: SiteRef,
    jobType: StringEnum(JOB_TYPES, {
      description:
        'The operation: backup, migrate, clear-cache, install-app, uninstall-app, set-maintenance-mode or custom.',
    }),
    jobConfig: Type.Optional(
      Type.Object(
        {
          withFiles: Type.Optional(
            Type.Boolean({
              description: 'backup: back up the public and private files too (default false).',
            }),
          ),
          compress: Type.Optional(
            Type.Boolean({ description: 'backup: compress the files backup (default false).' }),
          ),
          destination: Type.Optional(Destination),
          apps: Type.Optional(
            Type.Array(
              PatternString(PATTERNS.APP_NAME, MESSAGES.j6, {
                maxLength: 64,
                description: 'App name.',
              }),
              {
                minItems: 1,
                maxItems: 20,
                description: 'install-app, uninstall-app: the apps, in order.',
              },
            ),
          ),
          enabled: Type.Optional(
            Type.Boolean({ description: 'set-maintenance-mode: on (true) or off (false).' }),
          ),
          command: Type.Optional(
            Type.Array(Type.String({ maxLength: 4096, description: 'An argument.' }), {
              minItems: 1,
              maxItems: 64,
              description:
                'custom: argv run in the bench directory with env SITE_NAME; no shell unless written (["bash", "-c", "..."]).',
            }),
          ),
        },
        {
          description:
            "Settings of the job type. backup without destination uploads to the destination of the site's SiteBackup with the most recent success, else keeps the backup on the site volume.",
        },
      ),
    ),
    activeDeadlineSeconds: Type.Optional(
      Int64({ minimum: 60, default: 7200, description: 'Deadline of the Job in seconds.' }),
    ),
  },
  {
    description: 'The operation to run once. Immutable: create a new SiteJob to run again.',
    'x-kubernetes-validations': [
      { rule: 'self == oldSelf', message: MESSAGES.j1 },
      {
        rule: `self.jobType != 'custom' || ${has('command')}`,
        message: MESSAGES.j2,
      },
      {
        rule: `!(self.jobType in ${celList(APP_JOBS)}) || ${has('apps')}`,
        message: MESSAGES.j3,
      },
      {
        rule: `self.jobType != 'set-maintenance-mode' || ${has('enabled')}`,
        message: MESSAGES.j4,
      },
      {
        rule: `self.jobType == 'backup' || !(${has('withFiles')} || ${has('compress')} || ${has('destination')})`,
        message: MESSAGES.j5Backup,
      },
      { rule: `self.jobType == 'custom' || !${has('command')}`, message: MESSAGES.j5Command },
      {
        rule: `self.jobType in ${celList(APP_JOBS)} || !${has('apps')}`,
        message: MESSAGES.j5Apps,
      },
      {
        rule: `self.jobType == 'set-maintenance-mode' || !${has('enabled')}`,
        message: MESSAGES.j5Enabled,
      },
      {
        rule: `self.jobType != 'uninstall-app' || !(${celHas('jobConfig.apps')}) || !('frappe' in self.jobConfig.apps)`,
        message: MESSAGES.j6,
      },
    ],
  },
);
export type SiteJobSpec = Static<typeof SiteJobSpec>;

export const JOB_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed'] as const;
export type JobPhase = (typeof JOB_PHASES)[number];

export const SiteJobStatus = Type.Object(
  {
    ...statusFields(
      JOB_PHASES,
      'Pending (waiting; the message says for what), Running, Succeeded or Failed.',
    ),
    jobName: OptionalString('The Job running the operation.'),
    startTime: Type.Optional(Timestamp('Start of the Job.')),
    completionTime: Type.Optional(Timestamp('End of the Job.')),
    message: OptionalString('Details, e.g. why the Job failed.'),
    backup: Type.Optional(
      Type.Object(
        {
          location: OptionalString('Where the backup set was written.'),
          sizeBytes: Type.Optional(Int64({ minimum: 0, description: 'Total size of the set.' })),
        },
        { description: 'backup: the set written.' },
      ),
    ),
  },
  { description: 'Observed state of the operation.' },
);
export type SiteJobStatus = Static<typeof SiteJobStatus>;

export const SiteJobDefinition = defineKind({
  kind: KIND.SiteJob,
  plural: 'sitejobs',
  shortNames: ['sjob'],
  description:
    'SiteJob runs one operation on a site once (backup, migrate, clear-cache, install-app, uninstall-app, set-maintenance-mode, custom).',
  metadata: ObjectMeta(),
  spec: SiteJobSpec,
  status: SiteJobStatus,
  printerColumns: [
    {
      name: 'Site',
      type: 'string',
      jsonPath: '.spec.siteRef.name',
      description: 'The FrappeSite.',
    },
    { name: 'Job Type', type: 'string', jsonPath: '.spec.jobType', description: 'The operation.' },
    PHASE_COLUMN,
    AGE_COLUMN,
    {
      name: 'Job',
      type: 'string',
      jsonPath: '.status.jobName',
      description: 'The Job.',
      priority: 1,
    },
    {
      name: 'Completed',
      type: 'date',
      jsonPath: '.status.completionTime',
      description: 'End of the Job.',
      priority: 1,
    },
  ],
});
export const SiteJobSchema = SiteJobDefinition.schema;
export type SiteJob = Static<typeof SiteJobSchema>;
