// The S3 backend of the agent's storage (storage.ts): AWS S3 or an S3-compatible store, through
// the AWS SDK (client.ts makes the client).
//
// Upload: a file up to the multipart threshold goes in one PutObject; a larger one in parts
// (CreateMultipartUpload, UploadPart × n with up to `concurrency` in flight,
// CompleteMultipartUpload; AbortMultipartUpload on any failure, so no orphaned parts stay
// billed). @aws-sdk/lib-storage would do the same, but it is not a dependency and this is small.
// Every PUT and part carries its Content-MD5, so the store rejects data damaged in transit, and
// the object's size is checked after a multipart upload completes. Listing is ListObjectsV2,
// deleting DeleteObjects (1000 keys a call).
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { openS3Client, type StoreOptions } from './client.ts';
import { AgentError, explainS3Error, type StoreDescription } from './errors.ts';
import { formatLocation, type Location } from './location.ts';
import type { AgentLogger } from './log.ts';
import type { ObjectBody, Source, Storage, StoredObject, Transferred } from './storage.ts';

export interface UploadTuning {
  /** Files larger than this go in parts. */
  multipartThreshold: number;
  /** Bytes per part (grown when a file would need more than 10 000 parts). */
  partSize: number;
  /** Parts in flight at once. */
  concurrency: number;
}

/** S3's limits: parts are ≥ 5 MiB (but the last) and at most 10 000 per upload. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_PARTS = 10_000;
const DELETE_BATCH = 1000;

export const DEFAULT_TUNING: UploadTuning = {
  multipartThreshold: 16 * 1024 * 1024,
  partSize: 16 * 1024 * 1024,
  concurrency: 4,
};

const md5Base64 = (b: Buffer): string => createHash('md5').update(b).digest('base64');

export async function openS3Storage(
  opts: StoreOptions,
  tuning: UploadTuning = DEFAULT_TUNING,
): Promise<S3Storage> {
  const { client, description } = await openS3Client(opts);
  return new S3Storage(client, description, tuning);
}

export class S3Storage implements Storage {
  readonly scheme = 's3';
  readonly #client: S3Client;
  readonly #description: StoreDescription;
  readonly #tuning: UploadTuning;

  constructor(client: S3Client, description: StoreDescription, tuning: UploadTuning) {
    this.#client = client;
    this.#description = description;
    this.#tuning = tuning;
  }

  explain(err: unknown, what: string, loc: Location): AgentError {
    return explainS3Error(err, what, loc.root, this.#description);
  }

  close(): void {
    this.#client.destroy();
  }

  async list(dir: Location, only?: (name: string) => boolean): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    try {
      for await (const page of paginateListObjectsV2(
        { client: this.#client },
        { Bucket: dir.root, Prefix: dir.key },
      )) {
        for (const o of page.Contents ?? []) {
          const key = o.Key ?? '';
          if (only !== undefined && !only(key.slice(dir.key.length).split('/')[0] ?? '')) continue;
          out.push({ key, sizeBytes: o.Size ?? 0, lastModified: o.LastModified });
        }
      }
    } catch (e) {
      throw this.explain(e, `list ${formatLocation(dir)}`, dir);
    }
    return out;
  }

  async open(loc: Location): Promise<ObjectBody> {
    try {
      const res = await this.#client.send(new GetObjectCommand({ Bucket: loc.root, Key: loc.key }));
      if (res.Body === undefined) throw new Error('empty response body');
      return { body: res.Body as Readable, sizeBytes: res.ContentLength };
    } catch (e) {
      throw this.explain(e, `download ${formatLocation(loc)}`, loc);
    }
  }

  async putBytes(dest: Location, body: Buffer, contentType: string): Promise<void> {
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: dest.root,
          Key: dest.key,
          Body: body,
          ContentLength: body.length,
          ContentMD5: md5Base64(body),
          ContentType: contentType,
        }),
      );
    } catch (e) {
      throw this.explain(e, `upload ${formatLocation(dest)}`, dest);
    }
  }

  async putFile(source: Source, dest: Location, log: AgentLogger): Promise<Transferred> {
    const size = source.size;
    if (size <= this.#tuning.multipartThreshold) {
      const body = await source.next(size);
      const done = await source.finish();
      await this.putBytes(dest, body, 'application/octet-stream');
      return done;
    }
    const url = formatLocation(dest);
    const partSize = Math.max(this.#tuning.partSize, MIN_PART_SIZE, Math.ceil(size / MAX_PARTS));
    const partCount = Math.ceil(size / partSize);
    let uploadId: string | undefined;
    try {
      const created = await this.#client.send(
        new CreateMultipartUploadCommand({
          Bucket: dest.root,
          Key: dest.key,
          ContentType: 'application/octet-stream',
        }),
      );
      uploadId = created.UploadId;
      if (uploadId === undefined) throw new Error('CreateMultipartUpload returned no UploadId');
    } catch (e) {
      throw this.explain(e, `start multipart upload ${url}`, dest);
    }
    log.info(
      { file: source.path, url, sizeBytes: size, parts: partCount, partSize },
      'multipart upload',
    );
    const id = uploadId;
    try {
      const parts: CompletedPart[] = [];
      const inFlight = new Set<Promise<void>>();
      let failure: AgentError | undefined;
      for (let n = 1; n <= partCount && failure === undefined; n++) {
        const offset = (n - 1) * partSize;
        const body = await source.next(Math.min(partSize, size - offset));
        const sending = (async () => {
          try {
            const res = await this.#client.send(
              new UploadPartCommand({
                Bucket: dest.root,
                Key: dest.key,
                UploadId: id,
                PartNumber: n,
                Body: body,
                ContentLength: body.length,
                ContentMD5: md5Base64(body),
              }),
            );
            if (res.ETag === undefined) throw new Error(`UploadPart ${n} returned no ETag`);
            parts.push({ PartNumber: n, ETag: res.ETag });
          } catch (e) {
            failure ??= this.explain(e, `upload part ${n}/${partCount} of ${url}`, dest);
          }
        })();
        inFlight.add(sending);
        void sending.finally(() => inFlight.delete(sending));
        if (inFlight.size >= this.#tuning.concurrency) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      if (failure !== undefined) throw failure;
      const done = await source.finish();
      parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
      try {
        await this.#client.send(
          new CompleteMultipartUploadCommand({
            Bucket: dest.root,
            Key: dest.key,
            UploadId: id,
            MultipartUpload: { Parts: parts },
          }),
        );
      } catch (e) {
        throw this.explain(e, `complete multipart upload ${url}`, dest);
      }
      await this.#checkStoredSize(dest, size);
      return done;
    } catch (e) {
      await this.#abortUpload(dest, id, log);
      throw e;
    }
  }

  async #abortUpload(dest: Location, uploadId: string, log: AgentLogger): Promise<void> {
    try {
      await this.#client.send(
        new AbortMultipartUploadCommand({ Bucket: dest.root, Key: dest.key, UploadId: uploadId }),
      );
    } catch (e) {
      // The upload's own error is what the user needs; a leftover upload is a cost, said here.
      log.warn(
        { url: formatLocation(dest), err: this.explain(e, 'abort', dest).message },
        'could not abort the multipart upload; a bucket lifecycle rule for incomplete uploads cleans it up',
      );
    }
  }

  async #checkStoredSize(dest: Location, size: number): Promise<void> {
    let stored: number | undefined;
    try {
      const head = await this.#client.send(
        new HeadObjectCommand({ Bucket: dest.root, Key: dest.key }),
      );
      stored = head.ContentLength;
    } catch (e) {
      throw this.explain(e, `check ${formatLocation(dest)}`, dest);
    }
    if (stored !== size) {
      throw new AgentError(
        'Truncated',
        `upload ${formatLocation(dest)}: the store holds ${stored ?? 'an unknown number of'} bytes, the file has ${size}: the upload was cut short; run the backup again`,
      );
    }
  }

  async delete(root: string, keys: readonly string[]): Promise<void> {
    const bucket: Location = { scheme: 's3', root, key: '' };
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      try {
        const res = await this.#client.send(
          new DeleteObjectsCommand({
            Bucket: root,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        );
        const failed = res.Errors ?? [];
        if (failed.length > 0) {
          const first = failed[0];
          throw this.explain(
            { Code: first?.Code, message: first?.Message },
            `delete s3://${root}/${first?.Key ?? ''} (and ${failed.length - 1} more)`,
            bucket,
          );
        }
      } catch (e) {
        throw this.explain(e, `delete ${batch.length} objects from s3://${root}`, bucket);
      }
    }
  }
}
