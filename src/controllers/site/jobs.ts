// The site's Jobs (API.md §3.3), each a request to the operator's Job runner: `<site>-init`
// (new site, or an update run of an existing one), `<site>-restore` (download from S3 by the
// operator's backup agent, then load into the site's own database), `<site>-migrate-<8 hex of
// image>`, `<site>-admin-password` and `<site>-delete`. Every one runs a script of scripts.ts on
// the bench image in the bench directory, with the sites volume; what it needs comes as env
// (names, hosts, ports) and as mounted Secret files (passwords, keys: never on argv or in env),
// and it reports `{installedApps}` or `{error, message}` through its termination message.
import {
  agentContainer,
  credentialsVolumes,
  s3Flags,
  SECRETS_DIR,
  type S3Access,
} from '../shared/agent.ts';
import { IMAGE_ANNOTATION } from '../shared/annotations.ts';
import type { BackupTarget } from '../backup/destination.ts';
import {
  backupPodSpec,
  parseBackupReport,
  reportContainer,
  type BackupReport,
} from '../backup/pod.ts';
import type { Container, EnvVar, Volume, VolumeMount } from '../shared/k8s.ts';
import { childJob, jobSpec } from '../shared/job.ts';
import type { Job } from '../shared/objects.ts';
import type { Component } from '../shared/labels.ts';
import { BENCH_DIR, frappeContainer, podSpec, type PodSettings } from '../shared/pod.ts';
import type { JobRequest, RetryBackoff } from '../../runtime/jobs.ts';
import { migratePurpose } from './names.ts';
import { jobName, siteLabels, type SecretKey, type SitePlan } from './plan.ts';
import {
  parseSiteReport,
  SITE_ADMIN_PASSWORD_SCRIPT,
  SITE_DELETE_SCRIPT,
  SITE_ENV,
  SITE_INIT_SCRIPT,
  SITE_MIGRATE_SCRIPT,
  SITE_RESTORE_SCRIPT,
  siteScriptCommand,
  type SiteScriptResult,
} from './scripts.ts';

/** The admin Secret's resourceVersion a Job set the password from. */
export const ADMIN_VERSION_ANNOTATION = 'vyogo.tech/admin-secret-version';
const RESTORE_DIR = '/restore';
/** Site-init and restore are retried after 1, 2, 4 … 30 minutes (API.md §3.3). */
export const SITE_JOB_RETRY: RetryBackoff = { firstMs: 60_000, maxMs: 30 * 60_000 };

/** Where the database is, as the database step found it (no secret). */
export interface DatabaseEndpoint {
  host: string;
  port: number;
  name: string;
}

/** What the site's Jobs report (scripts.ts). */
export type SiteReport = SiteScriptResult;

/** A Secret key mounted read-only as one file. */
interface SecretFile {
  volume: string;
  secret: SecretKey;
  file: string;
}

const secretVolume = (f: SecretFile): Volume => ({
  name: f.volume,
  secret: {
    secretName: f.secret.name,
    items: [{ key: f.secret.key, path: f.file }],
    defaultMode: 0o440,
  },
});

const secretMount = (f: SecretFile): VolumeMount => ({
  name: f.volume,
  mountPath: `${SECRETS_DIR}/${f.volume}`,
  readOnly: true,
});

const secretPath = (f: SecretFile): string => `${SECRETS_DIR}/${f.volume}/${f.file}`;

/** The Secret files of a Job's script: the DB password (and user), admin password, key. */
function secretFiles(plan: SitePlan, which: readonly ('db' | 'admin' | 'encryption')[]) {
  const files: { env: string; file: SecretFile }[] = [];
  const db = plan.database;
  if (which.includes('db')) {
    files.push({
      env: SITE_ENV.dbPasswordFile,
      file: { volume: 'db-password', secret: db.password, file: 'password' },
    });
    if (db.user === undefined && db.connectionSecret !== undefined) {
      files.push({
        env: SITE_ENV.dbUserFile,
        file: {
          volume: 'db-user',
          secret: { name: db.connectionSecret, key: 'username' },
          file: 'username',
        },
      });
    }
  }
  if (which.includes('admin')) {
    files.push({
      env: SITE_ENV.adminPasswordFile,
      file: { volume: 'admin-password', secret: plan.admin, file: 'password' },
    });
  }
  if (which.includes('encryption')) {
    files.push({
      env: SITE_ENV.encryptionKeyFile,
      file: { volume: 'encryption-key', secret: plan.encryption, file: 'encryption_key' },
    });
  }
  return files;
}

const siteEnv = (plan: SitePlan): EnvVar[] => [
  { name: SITE_ENV.siteName, value: plan.siteName },
  { name: SITE_ENV.siteDomain, value: plan.domain },
  { name: SITE_ENV.siteUrl, value: plan.url },
];

const dbEnv = (plan: SitePlan, db: DatabaseEndpoint): EnvVar[] => [
  { name: SITE_ENV.dbName, value: db.name },
  { name: SITE_ENV.dbHost, value: db.host },
  { name: SITE_ENV.dbPort, value: String(db.port) },
  ...(plan.database.user === undefined
    ? []
    : [{ name: SITE_ENV.dbUser, value: plan.database.user }]),
];

interface SiteJobParts {
  purpose: string;
  component: Component;
  container: string;
  script: string;
  env: EnvVar[];
  secrets: readonly ('db' | 'admin' | 'encryption')[];
  resources: Container['resources'];
  backoffLimit: number;
  annotations?: Record<string, string>;
  initContainers?: Container[];
  extraVolumes?: Volume[];
  extraMounts?: VolumeMount[];
}

function siteJob(plan: SitePlan, pod: PodSettings, parts: SiteJobParts): Job {
  const files = secretFiles(plan, parts.secrets);
  const labels = siteLabels(plan, parts.component);
  const container = frappeContainer(pod, {
    name: parts.container,
    command: siteScriptCommand(parts.script),
    workingDir: BENCH_DIR,
    env: [...parts.env, ...files.map((f) => ({ name: f.env, value: secretPath(f.file) }))],
    resources: parts.resources,
    terminationMessagePolicy: 'File',
    volumeMounts: [...files.map((f) => secretMount(f.file)), ...(parts.extraMounts ?? [])],
  });
  const spec = podSpec(pod, {
    containers: [container],
    ...(parts.initContainers === undefined ? {} : { initContainers: parts.initContainers }),
    volumes: [...files.map((f) => secretVolume(f.file)), ...(parts.extraVolumes ?? [])],
    mountsSites: true,
    restartPolicy: 'Never',
  });
  return childJob(
    plan.site,
    jobName(plan, parts.purpose),
    labels,
    { [IMAGE_ANNOTATION]: pod.image, ...parts.annotations },
    jobSpec(pod, labels, spec, { backoffLimit: parts.backoffLimit }),
  );
}

/** The request of a site Job: its inputs are everything in it but the generated Job. */
function request(
  plan: SitePlan,
  job: Job,
  container: string,
  inputs: unknown,
  retry?: RetryBackoff,
): JobRequest<SiteReport, Job> {
  return {
    owner: plan.site,
    job,
    inputs,
    container,
    parseReport: parseSiteReport,
    ...(retry === undefined ? {} : { retry }),
  };
}

/** The inputs of site-init: when they change, an update run installs what is new. */
export const initInputs = (plan: SitePlan, db: DatabaseEndpoint): Record<string, unknown> => ({
  siteName: plan.siteName,
  domain: plan.domain,
  url: plan.url,
  apps: plan.apps,
  adopt: plan.spec.skipInit === true,
  db,
  user: plan.database.user ?? null,
  secrets: [plan.database.password, plan.admin, plan.encryption],
  script: SITE_INIT_SCRIPT,
});

/** `<site>-init`: a new site (`bench new-site --no-setup-db`), or an update run of an existing one. */
export function siteInitRequest(
  plan: SitePlan,
  pod: PodSettings,
  db: DatabaseEndpoint,
  adminVersion: string,
): JobRequest<SiteReport, Job> {
  const job = siteJob(plan, pod, {
    purpose: 'init',
    component: 'site-init',
    container: 'site-init',
    script: SITE_INIT_SCRIPT,
    env: [
      ...siteEnv(plan),
      { name: SITE_ENV.siteApps, value: JSON.stringify(plan.apps) },
      { name: SITE_ENV.initMode, value: plan.spec.skipInit === true ? 'adopt' : 'new' },
      ...dbEnv(plan, db),
    ],
    secrets: ['db', 'admin', 'encryption'],
    resources: plan.resources.siteInit,
    backoffLimit: 2,
    annotations: { [ADMIN_VERSION_ANNOTATION]: adminVersion },
  });
  return request(plan, job, 'site-init', initInputs(plan, db), SITE_JOB_RETRY);
}

/** `restoreFrom`'s store. */
function restoreStore(plan: SitePlan): S3Access {
  const r = plan.spec.restoreFrom;
  if (r === undefined) throw new Error('restoreStore needs restoreFrom');
  return {
    endpoint: r.endpoint,
    // Filled from the schema's defaults.
    region: r.region ?? '',
    forcePathStyle: r.forcePathStyle === true,
    credentialsSecret: r.credentialsSecret,
  };
}

/** Init container `download`: the agent fetches `restoreFrom` into the restore emptyDir. */
function downloadContainer(plan: SitePlan, image: string): Container {
  const r = plan.spec.restoreFrom;
  const pod = plan.pod;
  if (r === undefined || pod === undefined) {
    throw new Error('downloadContainer needs restoreFrom and the bench');
  }
  return agentContainer(pod, {
    name: 'download',
    image,
    args: [
      'download',
      `--source=${r.backup}`,
      ...(r.files === undefined ? [] : [`--files=${r.files}`]),
      ...(r.privateFiles === undefined ? [] : [`--private-files=${r.privateFiles}`]),
      `--destination=${RESTORE_DIR}`,
      ...s3Flags(restoreStore(plan)),
    ],
    resources: plan.resources.agent,
    volumeMounts: [{ name: 'restore', mountPath: RESTORE_DIR }],
    s3: restoreStore(plan),
  });
}

/**
 * `<site>-restore`: init container `download` (the operator's image) fetches the backup into an
 * emptyDir; container `restore` loads it with the site's own DB user into the site's own
 * database, restores the files, migrates and sets the admin password.
 */
export function restoreRequest(
  plan: SitePlan,
  pod: PodSettings,
  db: DatabaseEndpoint,
  operatorImage: string,
  adminVersion: string,
): JobRequest<SiteReport, Job> {
  const job = siteJob(plan, pod, {
    purpose: 'restore',
    component: 'site-restore',
    container: 'restore',
    script: SITE_RESTORE_SCRIPT,
    env: [
      ...siteEnv(plan),
      // The restore script installs the apps of spec.apps that the dump lacks.
      { name: SITE_ENV.siteApps, value: JSON.stringify(plan.apps) },
      { name: SITE_ENV.restoreDir, value: RESTORE_DIR },
      ...dbEnv(plan, db),
    ],
    secrets: ['db', 'admin', 'encryption'],
    resources: plan.resources.restore,
    backoffLimit: 1,
    annotations: { [ADMIN_VERSION_ANNOTATION]: adminVersion },
    initContainers: [downloadContainer(plan, operatorImage)],
    extraVolumes: [{ name: 'restore', emptyDir: {} }, ...credentialsVolumes(restoreStore(plan))],
    extraMounts: [{ name: 'restore', mountPath: RESTORE_DIR, readOnly: true }],
  });
  const inputs = {
    restoreFrom: plan.spec.restoreFrom,
    siteName: plan.siteName,
    domain: plan.domain,
    apps: plan.apps,
    db,
    user: plan.database.user ?? null,
    secrets: [plan.database.password, plan.admin, plan.encryption],
    operatorImage,
    script: SITE_RESTORE_SCRIPT,
  };
  return request(plan, job, 'restore', inputs, SITE_JOB_RETRY);
}

/** `<site>-migrate-<8 hex of image>`: maintenance mode on, migrate, off — once per image. */
export function migrateRequest(plan: SitePlan, pod: PodSettings): JobRequest<SiteReport, Job> {
  const job = siteJob(plan, pod, {
    purpose: migratePurpose(pod.image),
    component: 'site-migrate',
    container: 'migrate',
    script: SITE_MIGRATE_SCRIPT,
    env: siteEnv(plan),
    secrets: [],
    resources: plan.resources.migrate,
    backoffLimit: 0,
  });
  return request(plan, job, 'migrate', {
    image: pod.image,
    siteName: plan.siteName,
    script: SITE_MIGRATE_SCRIPT,
  });
}

/** `<site>-admin-password`: the Administrator password from the admin Secret's `version`. */
export function adminPasswordRequest(
  plan: SitePlan,
  pod: PodSettings,
  version: string,
): JobRequest<SiteReport, Job> {
  const job = siteJob(plan, pod, {
    purpose: 'admin-password',
    component: 'site-init',
    container: 'admin-password',
    script: SITE_ADMIN_PASSWORD_SCRIPT,
    env: siteEnv(plan),
    secrets: ['admin'],
    resources: plan.resources.default,
    backoffLimit: 2,
    annotations: { [ADMIN_VERSION_ANNOTATION]: version },
  });
  const inputs = { version, secret: plan.admin, script: SITE_ADMIN_PASSWORD_SCRIPT };
  return request(plan, job, 'admin-password', inputs, SITE_JOB_RETRY);
}

/**
 * `<site>-delete`: removes the domain link and, unless `keepSite` (deletion policy Retain), the
 * site directory; for an external database also drops it with the site's own credentials.
 */
export function deleteRequest(
  plan: SitePlan,
  pod: PodSettings,
  db: DatabaseEndpoint | undefined,
  keepSite: boolean,
): JobRequest<SiteReport, Job> {
  const dropDatabase = !keepSite && plan.database.provider === 'external' && db !== undefined;
  const job = siteJob(plan, pod, {
    purpose: 'delete',
    component: 'site-delete',
    container: 'site-delete',
    script: SITE_DELETE_SCRIPT,
    env: [
      ...siteEnv(plan),
      { name: SITE_ENV.keepSite, value: keepSite ? '1' : '0' },
      ...(dropDatabase ? [{ name: SITE_ENV.dropDatabase, value: '1' }, ...dbEnv(plan, db)] : []),
    ],
    secrets: dropDatabase ? ['db'] : [],
    resources: plan.resources.default,
    backoffLimit: 2,
  });
  const inputs = { keepSite, dropDatabase, db: db ?? null, script: SITE_DELETE_SCRIPT };
  return request(plan, job, 'site-delete', inputs, SITE_JOB_RETRY);
}

/**
 * `<site>-final-backup`: the backup pod (backup/pod.ts) to the site's known destination before a
 * `Delete` deletion; its set's manifest names this Job as a SiteJob would, so no retention
 * deletes it.
 */
export function finalBackupRequest(
  plan: SitePlan,
  pod: PodSettings,
  target: BackupTarget,
): JobRequest<BackupReport, Job> {
  const labels = siteLabels(plan, 'backup');
  const name = jobName(plan, 'final-backup');
  const spec = backupPodSpec({
    site: { ...plan, installedApps: plan.site.status?.installedApps ?? [] },
    pod,
    withFiles: true,
    compress: true,
    target,
    operatorImage: plan.operatorImage,
    owner: { sitejob: name },
    agentRetention: undefined,
  });
  const job = childJob(
    plan.site,
    name,
    labels,
    { [IMAGE_ANNOTATION]: pod.image },
    jobSpec(pod, labels, spec, { backoffLimit: 1 }),
  );
  return {
    owner: plan.site,
    job,
    inputs: { target: target.url },
    container: reportContainer(target),
    parseReport: parseBackupReport,
  };
}
