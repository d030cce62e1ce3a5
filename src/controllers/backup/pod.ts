// The backup pod (API.md §3.4), shared by the SiteBackup's CronJob or Job, a SiteJob `backup`
// and a deleted site's `<site>-final-backup`:
//
// - with a destination: init container `backup` (bench image) runs `bench --site <siteName>
//   backup --backup-path /backup [--with-files] [--compress]` into an emptyDir (frappe/frappe
//   `frappe/commands/site.py` `backup`; the flags as in the bench docs' reference/backup.md),
//   then container `upload` (the operator's image) runs `frappe-operator backup-agent upload
//   --source=/backup --destination=<url> …`: it uploads with checksums, writes manifest.json
//   last and reports `{location, sizeBytes}` in its termination message. Only `upload` mounts
//   the S3 credentials, or the destination claim (`--pvc-mount`).
// - without one: container `backup` runs `bench --site <siteName> backup [...]`, and Frappe keeps
//   the files in `sites/<siteName>/private/backups` on the bench volume, rotated by Frappe.
//
// The manifest's identity (namespace, site, siteName, the SiteBackup or SiteJob, the bench image,
// Frappe's version and the site's apps) goes on the agent's flags: none of it is secret.
import type { FrappeBench } from '../../api/v1alpha1/index.ts';
import { parseReport, type Report } from '../../runtime/jobs.ts';
import { redactText } from '../../runtime/redact.ts';
import { agentContainer, credentialsVolumes, s3Flags } from '../shared/agent.ts';
import type { Container, PodSpec, Volume, VolumeMount } from '../shared/k8s.ts';
import {
  BENCH_DIR,
  frappeContainer,
  podSpec,
  sitesClaimName,
  type PodSettings,
} from '../shared/pod.ts';
import type { SitePlan } from '../site/plan.ts';
import type { BackupTarget } from './destination.ts';
import type { RetentionPolicy } from './retention.ts';

const SCRATCH_DIR = '/backup';
const SCRATCH_VOLUME = 'backup';
/** Where the upload container mounts a `pvc` destination's claim (its root). */
const PVC_MOUNT = '/destination';
/** The volume of the bench's sites PVC in every Frappe pod (shared/pod.ts). */
const SITES_VOLUME = 'sites';
const DESTINATION_VOLUME = 'destination';

/** The container whose termination message is a backup pod's report. */
const UPLOAD_CONTAINER = 'upload';
const BACKUP_CONTAINER = 'backup';

/** Who a set belongs to: retention considers only a SiteBackup's own sets. */
export type BackupOwner = { sitebackup: string } | { sitejob: string };

export interface BackupPodInput {
  site: Pick<SitePlan, 'name' | 'namespace' | 'siteName' | 'resources' | 'bench'> & {
    installedApps: readonly string[];
  };
  pod: PodSettings;
  withFiles: boolean;
  compress: boolean;
  /** Where the agent uploads; undefined: Frappe's own directory on the bench volume. */
  target: BackupTarget | undefined;
  /** The operator's image (the agent); required with a target. */
  operatorImage: string | undefined;
  owner: BackupOwner;
  /**
   * Retention the agent applies after the upload (pvc, or S3 without a credentials Secret): the
   * plan's policy, whose limits are above 0 or undefined.
   */
  agentRetention: RetentionPolicy | undefined;
}

/** `bench --site <siteName> backup [--backup-path DIR] [--with-files] [--compress]`. */
export function benchBackupCommand(
  siteName: string,
  opts: { withFiles: boolean; compress: boolean; path: string | undefined },
): string[] {
  return [
    'bench',
    '--site',
    siteName,
    'backup',
    ...(opts.path === undefined ? [] : ['--backup-path', opts.path]),
    ...(opts.withFiles ? ['--with-files'] : []),
    ...(opts.compress ? ['--compress'] : []),
  ];
}

const frappeVersion = (bench: FrappeBench | undefined): string | undefined =>
  bench?.status?.apps?.find((a) => a.name === 'frappe')?.version;

/** The manifest's identity and the agent-side retention as `upload` flags. */
function identityFlags(input: BackupPodInput): string[] {
  const { site, owner, agentRetention } = input;
  const version = frappeVersion(site.bench);
  return [
    `--namespace=${site.namespace}`,
    `--site=${site.name}`,
    `--site-name=${site.siteName}`,
    'sitebackup' in owner ? `--sitebackup=${owner.sitebackup}` : `--sitejob=${owner.sitejob}`,
    `--image=${input.pod.image}`,
    ...(version === undefined ? [] : [`--frappe-version=${version}`]),
    ...(site.installedApps.length === 0 ? [] : [`--apps=${site.installedApps.join(',')}`]),
    ...(agentRetention?.count === undefined
      ? []
      : [`--keep-count=${String(agentRetention.count)}`]),
    ...(agentRetention?.days === undefined ? [] : [`--keep-days=${String(agentRetention.days)}`]),
  ];
}

/** The upload container and the volumes only it needs. */
function uploadParts(
  input: BackupPodInput,
  target: BackupTarget,
): { container: Container; volumes: Volume[] } {
  if (input.operatorImage === undefined) {
    throw new Error('a backup with a destination needs the operator image');
  }
  const scratch: VolumeMount = { name: SCRATCH_VOLUME, mountPath: SCRATCH_DIR, readOnly: true };
  const common = [
    `--source=${SCRATCH_DIR}`,
    `--destination=${target.url}`,
    ...identityFlags(input),
  ];
  if (target.type === 's3') {
    return {
      container: agentContainer(input.pod, {
        name: UPLOAD_CONTAINER,
        image: input.operatorImage,
        args: ['upload', ...common, ...s3Flags(target.s3)],
        resources: input.site.resources.agent,
        volumeMounts: [scratch],
        s3: target.s3,
      }),
      volumes: credentialsVolumes(target.s3),
    };
  }
  // The bench's own sites PVC is already a volume of the pod: mount its root, not a second one.
  const volume =
    target.claimName === sitesClaimName(input.pod.bench) ? SITES_VOLUME : DESTINATION_VOLUME;
  return {
    container: agentContainer(input.pod, {
      name: UPLOAD_CONTAINER,
      image: input.operatorImage,
      args: ['upload', ...common, `--pvc-mount=${PVC_MOUNT}`],
      resources: input.site.resources.agent,
      volumeMounts: [scratch, { name: volume, mountPath: PVC_MOUNT }],
      s3: undefined,
    }),
    volumes:
      volume === SITES_VOLUME
        ? []
        : [{ name: DESTINATION_VOLUME, persistentVolumeClaim: { claimName: target.claimName } }],
  };
}

/** The container whose termination message reports a backup to `target` (none without one). */
export const reportContainer = (target: BackupTarget | undefined): string =>
  target === undefined ? BACKUP_CONTAINER : UPLOAD_CONTAINER;

/** The backup pod's spec. */
export function backupPodSpec(input: BackupPodInput): PodSpec {
  const { site, pod, target } = input;
  const backup = (path: string | undefined, mounts: VolumeMount[]): Container =>
    frappeContainer(pod, {
      name: BACKUP_CONTAINER,
      command: benchBackupCommand(site.siteName, { ...input, path }),
      workingDir: BENCH_DIR,
      resources: site.resources.backup,
      volumeMounts: mounts,
    });
  if (target === undefined) {
    return podSpec(pod, {
      containers: [backup(undefined, [])],
      mountsSites: true,
      restartPolicy: 'Never',
    });
  }
  const upload = uploadParts(input, target);
  return podSpec(pod, {
    initContainers: [backup(SCRATCH_DIR, [{ name: SCRATCH_VOLUME, mountPath: SCRATCH_DIR }])],
    containers: [upload.container],
    volumes: [{ name: SCRATCH_VOLUME, emptyDir: {} }, ...upload.volumes],
    mountsSites: true,
    restartPolicy: 'Never',
  });
}

/** What `upload` reports: the set, and the retention the agent applied (if it did). */
export interface BackupReport {
  location?: string;
  sizeBytes?: number;
  retention?: { retained: number; pruned: number } | { error: string; message: string };
}

function agentRetentionReport(r: unknown): BackupReport['retention'] {
  if (typeof r !== 'object' || r === null) return undefined;
  const o = r as Record<string, unknown>;
  if (typeof o.error === 'string') {
    return { error: o.error, message: redactText(typeof o.message === 'string' ? o.message : '') };
  }
  return typeof o.retained === 'number' && typeof o.pruned === 'number'
    ? { retained: o.retained, pruned: o.pruned }
    : undefined;
}

/** The report of a backup pod's `upload` container (none without a destination). */
export const parseBackupReport = (message: string | undefined): Report<BackupReport> =>
  parseReport(message, 'the backup agent', (r) => {
    const retention = agentRetentionReport(r.retention);
    return {
      ...(typeof r.location === 'string' ? { location: r.location } : {}),
      ...(typeof r.sizeBytes === 'number' ? { sizeBytes: r.sizeBytes } : {}),
      ...(retention === undefined ? {} : { retention }),
    };
  });
