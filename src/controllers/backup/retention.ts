// Retention in the operator (API.md §2.3, §3.5): for an S3 destination with a credentials Secret,
// the SiteBackup controller lists the site's sets (ListObjectsV2, GetObject of the manifests) and
// deletes what the agent's rules say (DeleteObjects) — the same `prune` the agent runs, so the
// rules live in src/agent/retention.ts only. It runs after every new successful backup, when the
// retention policy changed, and at least every 6 h; a failed pass is tried again after 5 min.
//
// The Secret's values are read with a GET when a pass runs, used for the S3 client of that pass
// and dropped: never kept, logged or put in status (API.md §5.2).
//
// The AWS SDK (the agent's s3-storage.ts and client.ts) is loaded by the first pass, not at
// start-up: an operator whose SiteBackups never need it does not carry it.
import { credentialsFrom, type StaticCredentials } from '../../agent/credentials.ts';
import { prune } from '../../agent/commands.ts';
import { AgentError } from '../../agent/errors.ts';
import { parseS3Url } from '../../agent/location.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { Logger } from '../../kube/logger.ts';
import { KINDS, type Secret } from '../shared/objects.ts';
import type { BackupTarget } from './destination.ts';

/** Retention runs at least this often. */
export const RETENTION_INTERVAL_MS = 6 * 3_600_000;
/** A failed pass is tried again after this long. */
export const RETENTION_RETRY_MS = 5 * 60_000;
/** S3 calls of a pass give up on a connection or an idle socket after this long. */
const S3_TIMEOUT_MS = 30_000;

export interface RetentionPolicy {
  count: number | undefined;
  days: number | undefined;
}

export type RetentionOutcome =
  { ok: true; retained: number; pruned: number } | { ok: false; code: string; message: string };

/** When the last pass ran, and what it needs to run again. */
export interface RetentionClock {
  /** status.lastRetentionRun. */
  lastRun: string | undefined;
  /** The newest successful backup's completion time. */
  newestSuccess: string | undefined;
  /** Whether the policy or destination changed since the last pass (a new generation). */
  policyChanged: boolean;
  /** The last failed attempt, when the last pass failed. */
  failedAt: number | undefined;
}

/** Whether a pass is due now, else in how many ms. */
export function retentionDue(clock: RetentionClock, now: number): { due: true } | { inMs: number } {
  if (clock.failedAt !== undefined) {
    const inMs = clock.failedAt + RETENTION_RETRY_MS - now;
    return inMs <= 0 ? { due: true } : { inMs };
  }
  if (clock.lastRun === undefined || clock.policyChanged) return { due: true };
  const last = Date.parse(clock.lastRun);
  if (clock.newestSuccess !== undefined && Date.parse(clock.newestSuccess) > last) {
    return { due: true };
  }
  const inMs = last + RETENTION_INTERVAL_MS - now;
  return inMs <= 0 ? { due: true } : { inMs };
}

/** The credentials Secret's keys (a missing Secret or key: AgentError CredentialsNotFound). */
async function readCredentials(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<StaticCredentials> {
  const secret = await client.get<Secret>(
    KINDS.Secret.apiVersion,
    KINDS.Secret.kind,
    namespace,
    name,
  );
  if (secret === undefined) {
    throw new AgentError(
      'CredentialsNotFound',
      `Secret ${namespace}/${name} (destination.config.credentialsSecret) does not exist`,
    );
  }
  return credentialsFrom(
    (key) => {
      const v = secret.data?.[key];
      return Promise.resolve(
        v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8'),
      );
    },
    (key, empty) =>
      `Secret ${namespace}/${name} ${empty ? `has an empty ${key}` : `has no ${key}`}: it needs keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN optional)`,
  );
}

/** One retention pass over `target`'s sets of SiteBackup `sitebackup`. */
export async function applyRetention(
  client: KubeClient,
  namespace: string,
  sitebackup: string,
  target: Extract<BackupTarget, { type: 's3' }>,
  policy: RetentionPolicy,
  log: Logger,
  now: () => Date = () => new Date(),
): Promise<RetentionOutcome> {
  const secretName = target.s3.credentialsSecret;
  if (secretName === undefined) throw new Error('operator retention needs a credentials Secret');
  const { openS3Storage } = await import('../../agent/s3-storage.ts');
  let storage: Awaited<ReturnType<typeof openS3Storage>> | undefined;
  try {
    storage = await openS3Storage({
      endpoint: target.s3.endpoint,
      region: target.s3.region,
      forcePathStyle: target.s3.forcePathStyle,
      credentialsDir: undefined,
      credentials: await readCredentials(client, namespace, secretName),
      timeoutMs: S3_TIMEOUT_MS,
    });
    const report = await prune(
      storage,
      {
        destination: parseS3Url(target.url, 'destination'),
        sitebackup,
        keepCount: policy.count,
        keepDays: policy.days,
        dryRun: false,
        now,
      },
      log,
    );
    return { ok: true, retained: Number(report.retained), pruned: Number(report.pruned) };
  } catch (e) {
    if (e instanceof AgentError) return { ok: false, code: e.reason, message: e.message };
    throw e;
  } finally {
    storage?.close();
  }
}
