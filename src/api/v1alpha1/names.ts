// The names of the API that the operator itself needs at run time — group, version, kinds, the
// bench's components — with nothing else: the schemas (TypeBox) are loaded only by the tools
// that need them (CRD generation, validation, docs), never by the running operator.

export const GROUP = 'vyogo.tech';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Kind names, e.g. `KIND.FrappeBench === 'FrappeBench'`. */
export const KIND = {
  FrappeBench: 'FrappeBench',
  FrappeSite: 'FrappeSite',
  SiteBackup: 'SiteBackup',
  SiteJob: 'SiteJob',
} as const;

export type KindName = (typeof KIND)[keyof typeof KIND];

/** The seven Deployments of a bench, named `<bench>-<component>`. */
export const COMPONENTS = [
  'gunicorn',
  'nginx',
  'socketio',
  'scheduler',
  'worker-default',
  'worker-short',
  'worker-long',
] as const;
export type ComponentName = (typeof COMPONENTS)[number];

/** Components that may be autoscaled: every component but the scheduler. */
export const AUTOSCALED_COMPONENTS = [
  'gunicorn',
  'nginx',
  'socketio',
  'worker-default',
  'worker-short',
  'worker-long',
] as const;
export type AutoscaledComponent = (typeof AUTOSCALED_COMPONENTS)[number];

/** The phases of a FrappeBench (status.phase). */
export const BENCH_PHASES = [
  'Pending',
  'Provisioning',
  'Updating',
  'Ready',
  'Failed',
  'Deleting',
] as const;
export type BenchPhase = (typeof BENCH_PHASES)[number];

/** The phases of a FrappeSite (status.phase). */
export const SITE_PHASES = [
  'Pending',
  'Provisioning',
  'Restoring',
  'Ready',
  'Failed',
  'Deleting',
] as const;
export type SitePhase = (typeof SITE_PHASES)[number];
