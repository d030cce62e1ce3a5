// The agent's errors: a reason (a CamelCase word the operator puts into a condition; S3's own
// error code where S3 gave one, e.g. NoSuchBucket) and a message saying what went wrong and what
// to do. Every failure the agent reports goes through here, so `{error, message}` in the
// termination message never carries a bare stack, an SDK's generic text or a bare errno alone.

/** The reasons of the agent's own checks (S3 error codes pass through as they are). */
export type AgentReason =
  | 'InvalidArguments'
  | 'SourceNotFound'
  | 'InvalidSource'
  | 'CredentialsNotFound'
  | 'EndpointUnreachable'
  | 'InvalidAccessKeyId'
  | 'SignatureDoesNotMatch'
  | 'NoSuchBucket'
  | 'AccessDenied'
  | 'NoSuchKey'
  | 'IncompleteSet'
  | 'InvalidManifest'
  | 'ChecksumMismatch'
  | 'Truncated'
  | 'S3Error'
  | 'VolumeNotMounted'
  | 'StorageFull'
  | 'StorageError'
  | 'InternalError';

export class AgentError extends Error {
  readonly reason: string;

  constructor(reason: AgentReason | (string & {}), message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AgentError';
    this.reason = reason;
  }
}

/** What the SDK's errors carry that we read (S3ServiceException, CredentialsProviderError, …). */
interface SdkErrorShape {
  name?: unknown;
  Code?: unknown;
  code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

function errorCode(e: SdkErrorShape): string {
  for (const v of [e.Code, e.code, e.name]) {
    if (typeof v === 'string' && v !== '' && v !== 'Error') return v;
  }
  return 'Unknown';
}

function httpStatus(e: SdkErrorShape): number | undefined {
  const s = e.$metadata?.httpStatusCode;
  return typeof s === 'number' ? s : undefined;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'TimeoutError',
]);

/** Where the agent talks to, for messages: the endpoint, or AWS S3 in a region. */
export interface StoreDescription {
  endpoint: string | undefined;
  region: string;
}

const storeName = (s: StoreDescription): string =>
  s.endpoint === undefined ? `AWS S3 (region ${s.region})` : s.endpoint;

/**
 * Turns an error thrown by an S3 call into an AgentError. `what` says what was being done, e.g.
 * "upload s3://bucket/key"; `bucket` names the bucket for NoSuchBucket.
 */
export function explainS3Error(
  err: unknown,
  what: string,
  bucket: string,
  store: StoreDescription,
): AgentError {
  if (err instanceof AgentError) return err;
  if (typeof err !== 'object' || err === null) {
    return new AgentError('S3Error', `${what}: ${String(err)}`);
  }
  const e = err as SdkErrorShape;
  const code = errorCode(e);
  const status = httpStatus(e);
  const detail = typeof e.message === 'string' && e.message !== '' ? e.message : code;
  const opts = { cause: err };
  switch (code) {
    case 'InvalidAccessKeyId':
      return new AgentError(
        code,
        `${what}: ${storeName(store)} does not know the access key id (InvalidAccessKeyId): check AWS_ACCESS_KEY_ID in the credentials Secret, and that the endpoint is the store the key belongs to`,
        opts,
      );
    case 'SignatureDoesNotMatch':
      return new AgentError(
        code,
        `${what}: the request signature does not match (SignatureDoesNotMatch): the secret access key is wrong for this access key id; check AWS_SECRET_ACCESS_KEY in the credentials Secret (and, for an S3-compatible store, the region)`,
        opts,
      );
    case 'NoSuchBucket':
      return new AgentError(
        code,
        `${what}: bucket ${bucket} does not exist on ${storeName(store)} (NoSuchBucket): create it, or fix the bucket name, endpoint or region`,
        opts,
      );
    case 'AccessDenied':
    case 'Forbidden':
    case 'AllAccessDisabled':
    case 'AccountProblem':
      return new AgentError(
        'AccessDenied',
        `${what}: access denied by ${storeName(store)} (${code}): grant these credentials (or the pod's workload identity) s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject on bucket ${bucket}`,
        opts,
      );
    case 'NoSuchKey':
    case 'NotFound':
      return new AgentError(
        'NoSuchKey',
        `${what}: no such object on ${storeName(store)} (${code}): check the URL; \`frappe-operator backup-agent list\` shows the sets under a prefix`,
        opts,
      );
    case 'IncompleteBody':
    case 'RequestTimeout':
      return new AgentError(
        'Truncated',
        `${what}: the store received fewer bytes than announced (${code}): the transfer was cut off; retry`,
        opts,
      );
    case 'BadDigest':
    case 'InvalidDigest':
      return new AgentError(
        'ChecksumMismatch',
        `${what}: the store computed another checksum than the agent sent (${code}): the data changed in transit; retry`,
        opts,
      );
    case 'CredentialsProviderError':
      return new AgentError(
        'CredentialsNotFound',
        `${what}: no credentials: mount a Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (credentialsSecret), or give the pod a workload identity (podConfig.serviceAccountName) (${detail})`,
        opts,
      );
    default:
      break;
  }
  if (NETWORK_CODES.has(code)) {
    return new AgentError(
      'EndpointUnreachable',
      `${what}: cannot reach ${storeName(store)} (${code}): check the endpoint URL and that the store is reachable from the pod`,
      opts,
    );
  }
  if (status === 403) {
    return new AgentError(
      'AccessDenied',
      `${what}: access denied by ${storeName(store)} (HTTP 403${code === 'Unknown' ? '' : `, ${code}`}): grant these credentials s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject on bucket ${bucket}`,
      opts,
    );
  }
  if (status === 404) {
    return new AgentError(
      'NoSuchKey',
      `${what}: not found on ${storeName(store)} (HTTP 404${code === 'Unknown' ? '' : `, ${code}`}): check the bucket and key`,
      opts,
    );
  }
  return new AgentError(
    code === 'Unknown' ? 'S3Error' : code,
    `${what}: ${storeName(store)} answered ${status === undefined ? '' : `HTTP ${status} `}${code}: ${detail}`,
    opts,
  );
}

/** What a file system error's message needs: what the files are, and what to do about space. */
export interface FsPlace {
  /** e.g. "claim acme-sites (mounted at /backups)", "the local directory /restore". */
  description: string;
  /** What frees or adds space there. */
  whenFull: string;
}

/** The user and group the agent runs as, for permission messages. */
function identity(): string {
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  return uid === undefined ? 'the agent’s user' : `uid ${uid}, gid ${gid ?? '?'}`;
}

/**
 * Turns a Node file system error into an AgentError. `what` says what was being done, e.g.
 * "upload pvc://claim/…/x.tar"; `path` is the file or directory it was done to. ENOENT is left
 * to the caller, which knows what a missing file means there (StorageError otherwise).
 */
export function explainFsError(
  err: unknown,
  what: string,
  path: string,
  place: FsPlace,
): AgentError {
  if (err instanceof AgentError) return err;
  const e = err as NodeJS.ErrnoException | undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const detail = err instanceof Error ? err.message : String(err);
  const opts = { cause: err };
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return new AgentError(
        'AccessDenied',
        `${what}: permission denied (${code}) on ${path} in ${place.description}: the agent runs as ${identity()}; make the directory writable by it (the pod's fsGroup, or the files' ownership)`,
        opts,
      );
    case 'EROFS':
      return new AgentError(
        'AccessDenied',
        `${what}: ${place.description} is read-only (EROFS): mount it read-write`,
        opts,
      );
    case 'ENOSPC':
    case 'EDQUOT':
      return new AgentError(
        'StorageFull',
        `${what}: ${place.description} is full (${code}): ${place.whenFull}`,
        opts,
      );
    case 'EIO':
      return new AgentError(
        'StorageError',
        `${what}: I/O error (EIO) on ${path} in ${place.description}: the volume is failing; check the node's and the storage provider's logs`,
        opts,
      );
    default:
      return new AgentError(
        'StorageError',
        `${what}: ${path} in ${place.description}: ${code === undefined ? detail : `${code} (${detail})`}`,
        opts,
      );
  }
}
