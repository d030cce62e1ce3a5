// The site's status (API.md §2.2): the step conditions of the walk (BenchReady, SecretsReady,
// DatabaseReady, Restored, Initialized, IngressReady, Migrated), then the summary — Ready (the
// first step that blocks names itself), Progressing (a Job at work), Degraded (a failed
// migration or password reset, or a step error) — the phase, and the records the steps keep:
// the pinned database, installed apps, the image migrated to, the restore and the admin Secret
// version applied. Pure: the reconciler gathers, this judges.
import type { FrappeSite, FrappeSiteStatus } from '../../api/v1alpha1/index.ts';
import {
  falseCondition,
  setCondition,
  trueCondition,
  type Condition,
  type ConditionInput,
} from '../../runtime/conditions.ts';
import { transitionEvents, type EventInput } from '../../runtime/events.ts';
import { errorMessage } from '../../runtime/errors.ts';
import { errorReason, notReadyCondition, stepConditions, type Walk } from '../../runtime/steps.ts';
import type { DomainSource } from './plan.ts';

type Restore = NonNullable<FrappeSiteStatus['restore']>;
type Database = NonNullable<FrappeSiteStatus['database']>;

/** A Job of the site at work or failed, outside the step that blocks Ready. */
export interface JobActivity {
  job: string;
  phase: 'Running' | 'Failed';
  /** What it does, or why it failed. */
  message: string;
}

/** What the walk recorded, for the status. */
export interface SiteRecords {
  url: string;
  domain: string;
  domainSource: DomainSource;
  database: Database | undefined;
  installedApps: string[] | undefined;
  migratedImage: string | undefined;
  initInputsHash: string | undefined;
  restore: Restore | undefined;
  adminPasswordSecretVersion: string | undefined;
  /** The site-init, restore or migrate Job running or failed now. */
  work: JobActivity | undefined;
  /** The migration of the site (Degraded when it failed; Ready is not affected). */
  migration: JobActivity | undefined;
  /** The admin password reset (Degraded when it failed). */
  adminPassword: JobActivity | undefined;
}

const ok = trueCondition;
const notOk = falseCondition;

/** Blocking steps that mean "not started yet" (phase Pending). */
const PENDING_STEPS = new Set(['bench', 'secrets']);
const FAILED_REASONS = new Set(['InitFailed', 'RestoreFailed', 'AppNotInBench']);

function degraded(walk: Walk, r: SiteRecords): Omit<ConditionInput, 'observedGeneration'> {
  if (r.migration?.phase === 'Failed')
    return ok('Degraded', 'MigrationFailed', r.migration.message);
  if (r.adminPassword?.phase === 'Failed') {
    return ok('Degraded', 'AdminPasswordFailed', r.adminPassword.message);
  }
  if (r.work?.phase === 'Failed') return ok('Degraded', 'JobFailed', r.work.message);
  const failed = walk.error;
  if (failed !== undefined) {
    return ok(
      'Degraded',
      errorReason(failed.step),
      `step ${failed.step} failed: ${errorMessage(failed.error)}`,
    );
  }
  return notOk('Degraded', 'AsExpected', 'nothing is degraded');
}

function progressing(r: SiteRecords): Omit<ConditionInput, 'observedGeneration'> {
  for (const a of [r.work, r.migration, r.adminPassword]) {
    if (a?.phase === 'Running') return ok('Progressing', 'JobRunning', a.message);
  }
  return notOk('Progressing', 'Complete', 'no Job of the site is running');
}

/** The status for `site` after `walk`; `now` stamps changes. */
export function siteStatus(
  site: FrappeSite,
  walk: Walk,
  r: SiteRecords,
  now: Date = new Date(),
): FrappeSiteStatus {
  const generation = site.metadata.generation ?? 0;
  const notReady = notReadyCondition(walk);
  const summary = [
    notReady ?? ok('Ready', 'SiteReady', `the site serves ${r.url}`),
    progressing(r),
    degraded(walk, r),
  ];
  let conditions = stepConditions(site.status?.conditions, walk, generation, now);
  for (const c of summary) {
    conditions = setCondition(conditions, { ...c, observedGeneration: generation }, now);
  }
  const blocker = walk.blocker?.step;
  const phase =
    notReady === undefined
      ? 'Ready'
      : FAILED_REASONS.has(notReady.reason)
        ? 'Failed'
        : blocker !== undefined && PENDING_STEPS.has(blocker)
          ? 'Pending'
          : blocker === 'restore'
            ? 'Restoring'
            : 'Provisioning';
  const db = r.database;
  return {
    phase,
    observedGeneration:
      walk.error === undefined ? generation : (site.status?.observedGeneration ?? 0),
    conditions,
    siteURL: r.url,
    resolvedDomain: r.domain,
    domainSource: r.domainSource,
    ...(db === undefined
      ? {}
      : {
          database: db,
          ...(db.name === undefined ? {} : { databaseName: db.name }),
          ...(db.secretName === undefined ? {} : { databaseCredentialsSecret: db.secretName }),
        }),
    ...(r.installedApps === undefined ? {} : { installedApps: r.installedApps }),
    ...(r.initInputsHash === undefined ? {} : { initInputsHash: r.initInputsHash }),
    ...(r.migratedImage === undefined ? {} : { migratedImage: r.migratedImage }),
    ...(r.restore === undefined ? {} : { restore: r.restore }),
    ...(r.adminPasswordSecretVersion === undefined
      ? {}
      : { adminPasswordSecretVersion: r.adminPasswordSecretVersion }),
  };
}

/** The status while the site is deleted: the last status, phase Deleting, `Terminating`. */
export function terminatingStatus(
  site: FrappeSite,
  terminating: Omit<ConditionInput, 'observedGeneration' | 'type'>,
  now: Date = new Date(),
): FrappeSiteStatus {
  return {
    ...site.status,
    phase: 'Deleting',
    conditions: setCondition(
      site.status?.conditions,
      { type: 'Terminating', ...terminating, observedGeneration: site.metadata.generation ?? 0 },
      now,
    ),
  };
}

/** The event a condition entering its current status and reason is worth, if any. */
function eventFor(c: Condition): EventInput | undefined {
  const event = (type: EventInput['type'], reason: string, action: string): EventInput => ({
    type,
    reason,
    action,
    note: c.message,
  });
  switch (c.type) {
    case 'Ready':
      return c.status === 'True'
        ? event('Normal', 'SiteReady', 'Reconcile')
        : event('Normal', c.reason, 'Reconcile');
    case 'Initialized':
      if (c.status === 'True') return event('Normal', 'Initialized', 'SiteInit');
      return FAILED_REASONS.has(c.reason) ? event('Warning', c.reason, 'SiteInit') : undefined;
    case 'Restored':
      if (c.status === 'True') return event('Normal', 'Restored', 'Restore');
      return c.reason === 'RestoreFailed' ? event('Warning', c.reason, 'Restore') : undefined;
    case 'Migrated':
      if (c.status === 'True') return event('Normal', 'Migrated', 'Migrate');
      return c.reason === 'MigrationFailed' ? event('Warning', c.reason, 'Migrate') : undefined;
    case 'DatabaseReady':
    case 'BenchReady':
      return c.status === 'False' && c.reason.startsWith('CrossNamespace')
        ? event('Warning', c.reason, 'Reconcile')
        : undefined;
    case 'Terminating':
      return c.status === 'False' ? event('Warning', c.reason, 'Delete') : undefined;
    case 'Degraded':
      return c.status === 'True' ? event('Warning', c.reason, 'Reconcile') : undefined;
    default:
      return undefined;
  }
}

/** Events for condition transitions between two statuses. */
export const transitions = (
  before: FrappeSiteStatus | undefined,
  after: FrappeSiteStatus,
): EventInput[] => transitionEvents(before?.conditions, after.conditions, eventFor);
