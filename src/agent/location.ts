// Where backup sets live, as the agent's flags, manifests and reports spell it:
// `s3://BUCKET/KEY` (an object store) or `pvc://CLAIM/PATH` (a PersistentVolumeClaim, which the
// Job mounts at `--pvc-mount`). Both are a root (bucket or claim) and a `/`-separated key under
// it; a key ending in `/` (or '') is a directory.
import { AgentError } from './errors.ts';

export type Scheme = 's3' | 'pvc';

export interface Location {
  scheme: Scheme;
  /** The bucket (s3) or the claim's name (pvc). */
  root: string;
  /** The key, or the key prefix when it ends in `/` ('' for the root). */
  key: string;
}

const S3_URL = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/;
/** A PersistentVolumeClaim's name: a DNS-1123 subdomain. */
const PVC_URL =
  /^pvc:\/\/([a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*)(?:\/(.*))?$/;
const MAX_CLAIM_NAME = 253;

/** Parses `s3://bucket/key` or `pvc://claim/path`; `flag` names the flag for the error. */
export function parseLocation(url: string, flag: string): Location {
  if (url.startsWith('pvc://')) return parsePvcUrl(url, flag);
  if (url.startsWith('s3://')) return parseS3Url(url, flag);
  throw new AgentError(
    'InvalidArguments',
    `${flag}=${url} is neither an s3://BUCKET/KEY nor a pvc://CLAIM/PATH URL`,
  );
}

/** Parses `s3://bucket/key`. */
export function parseS3Url(url: string, flag: string): Location {
  const m = S3_URL.exec(url);
  if (m === null) {
    throw new AgentError(
      'InvalidArguments',
      `${flag}=${url} is not an s3://bucket/key URL (bucket: 3–63 lowercase letters, digits, dots, hyphens)`,
    );
  }
  const [, root = '', key = ''] = m;
  if (key.startsWith('/') || key.includes('//')) {
    throw new AgentError('InvalidArguments', `${flag}=${url}: the key has an empty path segment`);
  }
  return { scheme: 's3', root, key };
}

/**
 * Parses `pvc://claim/path`: the claim's name, and a relative path on it that cannot leave the
 * claim (no empty, `.` or `..` segment).
 */
function parsePvcUrl(url: string, flag: string): Location {
  const m = PVC_URL.exec(url);
  if (m === null || (m[1] ?? '').length > MAX_CLAIM_NAME) {
    throw new AgentError(
      'InvalidArguments',
      `${flag}=${url} is not a pvc://CLAIM/PATH URL (CLAIM: a PersistentVolumeClaim's name, lowercase letters, digits, '-' and '.')`,
    );
  }
  const [, root = '', key = ''] = m;
  const segments = key.split('/');
  // A directory's key ends in '/': its last segment is ''.
  if (key.endsWith('/')) segments.pop();
  if (key !== '' && segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new AgentError(
      'InvalidArguments',
      `${flag}=${url}: the path has an empty, '.' or '..' segment; give the path from the claim's root`,
    );
  }
  if (key.includes('\0')) {
    throw new AgentError('InvalidArguments', `${flag}=${url}: the path holds a NUL character`);
  }
  return { scheme: 'pvc', root, key };
}

/** The same location as a directory: its key ends in `/` (or is '' for the root). */
export function asDirectory(loc: Location): Location {
  return isDirectory(loc) ? loc : { ...loc, key: `${loc.key}/` };
}

export const isDirectory = (loc: Location): boolean => loc.key === '' || loc.key.endsWith('/');

export const formatLocation = (loc: Location): string => `${loc.scheme}://${loc.root}/${loc.key}`;

/** The location of `name` (a key relative to `dir`, a directory). */
export const child = (dir: Location, name: string): Location => ({
  ...dir,
  key: `${dir.key}${name}`,
});

/** The last path segment of a key. */
export function baseName(key: string): string {
  const i = key.lastIndexOf('/');
  return i < 0 ? key : key.slice(i + 1);
}

/** A directory marker: a key naming a directory rather than an object with data. */
export const isDirectoryKey = (key: string): boolean => key.endsWith('/');
