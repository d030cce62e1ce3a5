// `s3://bucket/key` URLs, as the agent's flags, manifests and reports spell object locations.
import { AgentError } from './errors.ts';

export interface S3Location {
  bucket: string;
  /** The key, or the key prefix when it ends in `/` ('' for the bucket's root). */
  key: string;
}

const S3_URL = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/;

/** Parses `s3://bucket/key`; `flag` names the flag for the error. */
export function parseS3Url(url: string, flag: string): S3Location {
  const m = S3_URL.exec(url);
  if (m === null) {
    throw new AgentError(
      'InvalidArguments',
      `${flag}=${url} is not an s3://bucket/key URL (bucket: 3–63 lowercase letters, digits, dots, hyphens)`,
    );
  }
  const [, bucket = '', key = ''] = m;
  if (key.startsWith('/') || key.includes('//')) {
    throw new AgentError('InvalidArguments', `${flag}=${url}: the key has an empty path segment`);
  }
  return { bucket, key };
}

/** The same location as a directory: its key ends in `/` (or is '' for the bucket). */
export function asDirectory(loc: S3Location): S3Location {
  return loc.key === '' || loc.key.endsWith('/') ? loc : { ...loc, key: `${loc.key}/` };
}

export const isDirectory = (loc: S3Location): boolean => loc.key === '' || loc.key.endsWith('/');

export const formatS3Url = (loc: S3Location): string => `s3://${loc.bucket}/${loc.key}`;

/** The last path segment of an object key. */
export function baseName(key: string): string {
  const i = key.lastIndexOf('/');
  return i < 0 ? key : key.slice(i + 1);
}
