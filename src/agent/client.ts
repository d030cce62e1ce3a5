// The agent's S3 client: AWS S3 or an S3-compatible store (endpoint, path-style addressing,
// region), with credentials only from the files of a mounted Secret (`--credentials-dir`) or else
// the SDK's default chain (the pod's workload identity: IRSA, EKS Pod Identity, instance role…).
// Credentials never come from argv and are never logged (API.md §5.2).
//
// Checksums: the SDK's default since 2025 adds CRC32 "flexible checksums" to every upload, which
// several S3-compatible stores reject; the agent asks for them only where an operation requires
// one, and protects its data itself (Content-MD5 on every PUT and part, a SHA-256 per file in the
// manifest, sizes checked both ways).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { credentialsFrom, type StaticCredentials } from './credentials.ts';
import { AgentError, type StoreDescription } from './errors.ts';

export interface StoreOptions {
  /** http(s) URL of an S3-compatible store; undefined for AWS. */
  endpoint: string | undefined;
  region: string;
  forcePathStyle: boolean;
  /** A directory of Secret files: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN. */
  credentialsDir: string | undefined;
  /** Credentials already read (the operator's retention, from the Secret); wins over the dir. */
  credentials?: StaticCredentials;
  /** Give up on a connection or an idle socket after this long (default: the SDK's, none). */
  timeoutMs?: number;
}

/** An S3 client with what the agent's messages need to know about the store. */
export interface S3Connection {
  client: S3Client;
  description: StoreDescription;
}

const DEFAULT_REGION = 'us-east-1';

export async function openS3Client(opts: StoreOptions): Promise<S3Connection> {
  const region = opts.region === '' ? DEFAULT_REGION : opts.region;
  const config: S3ClientConfig = {
    region,
    forcePathStyle: opts.forcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 5,
  };
  if (opts.endpoint !== undefined && opts.endpoint !== '') config.endpoint = opts.endpoint;
  if (opts.credentials !== undefined) {
    config.credentials = opts.credentials;
  } else if (opts.credentialsDir !== undefined && opts.credentialsDir !== '') {
    config.credentials = await readCredentials(opts.credentialsDir);
  }
  if (opts.timeoutMs !== undefined) {
    config.requestHandler = { connectionTimeout: opts.timeoutMs, requestTimeout: opts.timeoutMs };
  }
  return {
    client: new S3Client(config),
    description: { endpoint: config.endpoint === undefined ? undefined : opts.endpoint, region },
  };
}

/** The keys of a mounted credentials Secret, one file each (credentials.ts). */
function readCredentials(dir: string): Promise<StaticCredentials> {
  return credentialsFrom(
    async (key) => {
      const path = join(dir, key);
      try {
        return await readFile(path, 'utf8');
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return undefined;
        throw new AgentError(
          'CredentialsNotFound',
          `cannot read ${path} (${code ?? String(e)}): check the credentials Secret's volume`,
          { cause: e },
        );
      }
    },
    (key, empty) =>
      empty
        ? `${join(dir, key)} is empty: set ${key} in the credentials Secret`
        : `--credentials-dir=${dir} has no ${key} file: the credentials Secret needs keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN optional)`,
  );
}
