// Moving one file to and from the store, with its SHA-256.
//
// Upload: a file up to the multipart threshold goes in one PutObject; a larger one in parts
// (CreateMultipartUpload, UploadPart × n with up to `concurrency` in flight,
// CompleteMultipartUpload; AbortMultipartUpload on any failure, so no orphaned parts stay
// billed). @aws-sdk/lib-storage would do the same, but it is not a dependency and this is small.
// The file is read once, in order: every chunk feeds the SHA-256 and is sent with its
// Content-MD5, so the store rejects a part damaged in transit; the bytes read must be exactly the
// size the file had when the upload began, and the object's size is checked after completion,
// so a file that changed underneath, or an upload cut short, is an error and never a set.
//
// Download: GetObject streamed to `<name>.part` through a SHA-256 and a byte count, renamed into
// place only when the size (Content-Length, and the manifest's when there is one) and the
// checksum match.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { AgentError } from './errors.ts';
import type { Store } from './client.ts';
import type { AgentLogger } from './log.ts';
import { formatS3Url, type S3Location } from './s3-url.ts';

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

export const DEFAULT_TUNING: UploadTuning = {
  multipartThreshold: 16 * 1024 * 1024,
  partSize: 16 * 1024 * 1024,
  concurrency: 4,
};

export interface Transferred {
  sizeBytes: number;
  sha256: string;
}

const md5Base64 = (b: Buffer): string => createHash('md5').update(b).digest('base64');

/** Uploads the local file `path` to `dest`; resolves with its size and SHA-256. */
export async function uploadFile(
  store: Store,
  path: string,
  dest: S3Location,
  tuning: UploadTuning,
  log: AgentLogger,
  contentType = 'application/octet-stream',
): Promise<Transferred> {
  const url = formatS3Url(dest);
  const size = (await stat(path)).size;
  const fh = await open(path, 'r');
  try {
    const readExactly = async (length: number, position: number): Promise<Buffer> => {
      const buf = Buffer.alloc(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(buf, got, length - got, position + got);
        if (bytesRead === 0) {
          throw new AgentError(
            'Truncated',
            `upload ${path} → ${url}: the file ended at ${position + got} of the ${size} bytes it had when the upload began (it changed underneath); the set stays incomplete: run the backup again`,
          );
        }
        got += bytesRead;
      }
      return buf;
    };
    const checkEnd = async (): Promise<void> => {
      const { bytesRead } = await fh.read(Buffer.alloc(1), 0, 1, size);
      if (bytesRead !== 0) {
        throw new AgentError(
          'InvalidSource',
          `upload ${path} → ${url}: the file grew while it was uploaded (it had ${size} bytes at the start): run the backup again once nothing writes to it`,
        );
      }
    };

    if (size <= tuning.multipartThreshold) {
      const body = await readExactly(size, 0);
      await checkEnd();
      try {
        await store.client.send(
          new PutObjectCommand({
            Bucket: dest.bucket,
            Key: dest.key,
            Body: body,
            ContentLength: size,
            ContentMD5: md5Base64(body),
            ContentType: contentType,
          }),
        );
      } catch (e) {
        throw store.explain(e, `upload ${url}`, dest.bucket);
      }
      return { sizeBytes: size, sha256: createHash('sha256').update(body).digest('hex') };
    }

    const partSize = Math.max(tuning.partSize, MIN_PART_SIZE, Math.ceil(size / MAX_PARTS));
    const partCount = Math.ceil(size / partSize);
    let uploadId: string | undefined;
    try {
      const created = await store.client.send(
        new CreateMultipartUploadCommand({
          Bucket: dest.bucket,
          Key: dest.key,
          ContentType: contentType,
        }),
      );
      uploadId = created.UploadId;
      if (uploadId === undefined) throw new Error('CreateMultipartUpload returned no UploadId');
    } catch (e) {
      throw store.explain(e, `start multipart upload ${url}`, dest.bucket);
    }
    log.info({ file: path, url, sizeBytes: size, parts: partCount, partSize }, 'multipart upload');
    const id = uploadId;
    try {
      const hash = createHash('sha256');
      const parts: CompletedPart[] = [];
      const inFlight = new Set<Promise<void>>();
      let failure: AgentError | undefined;
      for (let n = 1; n <= partCount && failure === undefined; n++) {
        const offset = (n - 1) * partSize;
        const body = await readExactly(Math.min(partSize, size - offset), offset);
        hash.update(body);
        const sending = (async () => {
          try {
            const res = await store.client.send(
              new UploadPartCommand({
                Bucket: dest.bucket,
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
            failure ??= store.explain(e, `upload part ${n}/${partCount} of ${url}`, dest.bucket);
          }
        })();
        inFlight.add(sending);
        void sending.finally(() => inFlight.delete(sending));
        if (inFlight.size >= tuning.concurrency) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      if (failure !== undefined) throw failure;
      await checkEnd();
      parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
      try {
        await store.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: dest.bucket,
            Key: dest.key,
            UploadId: id,
            MultipartUpload: { Parts: parts },
          }),
        );
      } catch (e) {
        throw store.explain(e, `complete multipart upload ${url}`, dest.bucket);
      }
      await checkStoredSize(store, dest, size);
      return { sizeBytes: size, sha256: hash.digest('hex') };
    } catch (e) {
      await abortUpload(store, dest, id, log);
      throw e;
    }
  } finally {
    await fh.close();
  }
}

async function abortUpload(store: Store, dest: S3Location, uploadId: string, log: AgentLogger) {
  try {
    await store.client.send(
      new AbortMultipartUploadCommand({ Bucket: dest.bucket, Key: dest.key, UploadId: uploadId }),
    );
  } catch (e) {
    // The upload's own error is what the user needs; a leftover upload is a cost, said here.
    log.warn(
      { url: formatS3Url(dest), err: store.explain(e, 'abort', dest.bucket).message },
      'could not abort the multipart upload; a bucket lifecycle rule for incomplete uploads cleans it up',
    );
  }
}

async function checkStoredSize(store: Store, dest: S3Location, size: number): Promise<void> {
  let stored: number | undefined;
  try {
    const head = await store.client.send(
      new HeadObjectCommand({ Bucket: dest.bucket, Key: dest.key }),
    );
    stored = head.ContentLength;
  } catch (e) {
    throw store.explain(e, `check ${formatS3Url(dest)}`, dest.bucket);
  }
  if (stored !== size) {
    throw new AgentError(
      'Truncated',
      `upload ${formatS3Url(dest)}: the store holds ${stored ?? 'an unknown number of'} bytes, the file has ${size}: the upload was cut short; run the backup again`,
    );
  }
}

export interface ExpectedFile {
  sizeBytes: number;
  sha256: string;
}

/** Counts and hashes what flows through. */
class Digest extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.push(chunk);
    done();
  }
}

/**
 * Streams `src` through a SHA-256 into `sink` (a file or nothing), checking the size against the
 * object's Content-Length and `expected` (from a manifest), and the checksum against `expected`.
 * `name` is the file's name in messages.
 */
async function fetchObject(
  store: Store,
  src: S3Location,
  /** Opens where the bytes go, once the store has answered; undefined: only check them. */
  sink: (() => NodeJS.WritableStream) | undefined,
  name: string,
  expected: ExpectedFile | undefined,
): Promise<Transferred> {
  const url = formatS3Url(src);
  let body: Readable;
  let contentLength: number | undefined;
  try {
    const res = await store.client.send(new GetObjectCommand({ Bucket: src.bucket, Key: src.key }));
    if (res.Body === undefined) throw new Error('empty response body');
    body = res.Body as Readable;
    contentLength = res.ContentLength;
  } catch (e) {
    throw store.explain(e, `download ${url}`, src.bucket);
  }
  const digest = new Digest();
  try {
    if (sink === undefined) {
      // Only the digest is wanted: drain the stream.
      digest.resume();
      await pipeline(body, digest);
    } else {
      await pipeline(body, digest, sink());
    }
  } catch (e) {
    if (e instanceof AgentError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ABORT_ERR') {
      throw new AgentError(
        'Truncated',
        `download ${url}: ${name} was cut off after ${digest.bytes} bytes (${code}): retry`,
        { cause: e },
      );
    }
    throw store.explain(e, `download ${url}`, src.bucket);
  }
  const sha256 = digest.hash.digest('hex');
  const sizes = [contentLength, expected?.sizeBytes].filter((n) => n !== undefined);
  for (const want of sizes) {
    if (digest.bytes !== want) {
      throw new AgentError(
        'Truncated',
        `${name} (${url}) has ${digest.bytes} bytes, ${want === expected?.sizeBytes ? 'the manifest says' : 'the store announced'} ${want}: the object is truncated or was replaced; use another backup set`,
      );
    }
  }
  if (expected !== undefined && sha256 !== expected.sha256) {
    throw new AgentError(
      'ChecksumMismatch',
      `${name} (${url}) has SHA-256 ${sha256}, the manifest says ${expected.sha256}: the object is corrupt or was replaced; use another backup set`,
    );
  }
  return { sizeBytes: digest.bytes, sha256 };
}

/**
 * Downloads `src` to the file `dest`, through `<dest>.part`; a failed download leaves nothing at
 * either path.
 */
export async function downloadFile(
  store: Store,
  src: S3Location,
  dest: string,
  name: string,
  expected: ExpectedFile | undefined,
): Promise<Transferred> {
  const part = `${dest}.part`;
  try {
    const result = await fetchObject(store, src, () => createWriteStream(part), name, expected);
    await rename(part, dest);
    return result;
  } catch (e) {
    await rm(part, { force: true });
    throw e;
  }
}

/** Reads `src` without keeping it, checking it against `expected`. */
export function checkObject(
  store: Store,
  src: S3Location,
  name: string,
  expected: ExpectedFile,
): Promise<Transferred> {
  return fetchObject(store, src, undefined, name, expected);
}

/** Uploads a small in-memory object (the manifest) with its Content-MD5. */
export async function putBytes(
  store: Store,
  dest: S3Location,
  body: Buffer,
  contentType: string,
): Promise<void> {
  try {
    await store.client.send(
      new PutObjectCommand({
        Bucket: dest.bucket,
        Key: dest.key,
        Body: body,
        ContentLength: body.length,
        ContentMD5: md5Base64(body),
        ContentType: contentType,
      }),
    );
  } catch (e) {
    throw store.explain(e, `upload ${formatS3Url(dest)}`, dest.bucket);
  }
}
