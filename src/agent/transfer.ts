// Moving one file to and from the storage (storage.ts), with its SHA-256; the same for every
// backend.
//
// Upload: the local file is read once, in order, through a SourceFile: every chunk feeds the
// SHA-256, the bytes read must be exactly the size the file had when the upload began, and the
// backend calls finish() — which checks that the file did not grow — before the object becomes
// visible, so a file that changed underneath, or an upload cut short, is an error and never a set.
//
// Download: the object streamed to `<name>.part` through a SHA-256 and a byte count, renamed into
// place only when the size (the one the storage announced, and the manifest's when there is one)
// and the checksum match.
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AgentError, explainFsError } from './errors.ts';
import { formatLocation, type Location } from './location.ts';
import type { AgentLogger } from './log.ts';
import type { Source, Storage, Transferred } from './storage.ts';

/** An error of the local file `path` (the backup's source, a restore's destination) in `what`. */
const localFileError = (e: unknown, what: string, path: string): AgentError =>
  explainFsError(e, what, path, {
    description: `the local directory ${dirname(path)}`,
    whenFull: 'give the volume mounted there more room (e.g. the emptyDir’s sizeLimit)',
  });

/** A local file being uploaded (storage.ts: Source). */
export class SourceFile implements Source {
  readonly #fh: FileHandle;
  /** `upload <path> → <url>`: what messages say was being done. */
  readonly #what: string;
  readonly #hash: Hash = createHash('sha256');
  #position = 0;
  #result: Transferred | undefined;

  readonly path: string;
  readonly size: number;

  private constructor(path: string, size: number, fh: FileHandle, what: string) {
    this.path = path;
    this.size = size;
    this.#fh = fh;
    this.#what = what;
  }

  /** Opens `path` to be stored at `url` (named in messages). */
  static async open(path: string, url: string): Promise<SourceFile> {
    const what = `upload ${path} → ${url}`;
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      throw localFileError(e, what, path);
    }
    try {
      return new SourceFile(path, (await fh.stat()).size, fh, what);
    } catch (e) {
      await fh.close();
      throw localFileError(e, what, path);
    }
  }

  async next(length: number): Promise<Buffer> {
    const position = this.#position;
    const buf = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await this.#read(buf, got, length - got, position + got);
      if (bytesRead === 0) {
        throw new AgentError(
          'Truncated',
          `${this.#what}: the file ended at ${position + got} of the ${this.size} bytes it had when the upload began (it changed underneath); the set stays incomplete: run the backup again`,
        );
      }
      got += bytesRead;
    }
    this.#hash.update(buf);
    this.#position += length;
    return buf;
  }

  async finish(): Promise<Transferred> {
    if (this.#result !== undefined) return this.#result;
    if (this.#position !== this.size) {
      throw new Error(
        `${this.path}: the storage finished after ${this.#position} of ${this.size} bytes`,
      );
    }
    const { bytesRead } = await this.#read(Buffer.alloc(1), 0, 1, this.size);
    if (bytesRead !== 0) {
      throw new AgentError(
        'InvalidSource',
        `${this.#what}: the file grew while it was uploaded (it had ${this.size} bytes at the start): run the backup again once nothing writes to it`,
      );
    }
    this.#result = { sizeBytes: this.size, sha256: this.#hash.digest('hex') };
    return this.#result;
  }

  async close(): Promise<void> {
    await this.#fh.close();
  }

  async #read(buf: Buffer, offset: number, length: number, position: number) {
    try {
      return await this.#fh.read(buf, offset, length, position);
    } catch (e) {
      throw localFileError(e, this.#what, this.path);
    }
  }
}

/** Stores the local file `path` at `dest`; resolves with its size and SHA-256. */
export async function uploadFile(
  storage: Storage,
  path: string,
  dest: Location,
  log: AgentLogger,
): Promise<Transferred> {
  const source = await SourceFile.open(path, formatLocation(dest));
  try {
    return await storage.putFile(source, dest, log);
  } finally {
    await source.close();
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

/** Stream errors that mean the object's bytes stopped coming. */
const CUT_OFF = new Set(['ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE', 'ABORT_ERR']);

/**
 * Streams `src` through a SHA-256 into the local file `dest` (or nowhere), checking the size
 * against the one the storage announced and `expected` (from a manifest), and the checksum against
 * `expected`. `name` is the file's name in messages.
 */
async function fetchObject(
  storage: Storage,
  src: Location,
  /** Where the bytes go, opened once the storage has answered; undefined: only check them. */
  dest: string | undefined,
  name: string,
  expected: ExpectedFile | undefined,
): Promise<Transferred> {
  const url = formatLocation(src);
  const { body, sizeBytes: announced } = await storage.open(src);
  const digest = new Digest();
  const sink = dest === undefined ? undefined : createWriteStream(dest);
  let sinkError: unknown;
  sink?.on('error', (e) => (sinkError = e));
  try {
    if (sink === undefined) {
      // Only the digest is wanted: drain the stream.
      digest.resume();
      await pipeline(body, digest);
    } else {
      await pipeline(body, digest, sink);
    }
  } catch (e) {
    if (e instanceof AgentError) throw e;
    if (dest !== undefined && sinkError !== undefined && e === sinkError) {
      throw localFileError(e, `download ${url}`, dest);
    }
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== undefined && CUT_OFF.has(code)) {
      throw new AgentError(
        'Truncated',
        `download ${url}: ${name} was cut off after ${digest.bytes} bytes (${code}): retry`,
        { cause: e },
      );
    }
    throw storage.explain(e, `download ${url}`, src);
  }
  const sha256 = digest.hash.digest('hex');
  const sizes = [announced, expected?.sizeBytes].filter((n) => n !== undefined);
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
 * Downloads `src` to the local file `dest`, through `<dest>.part`; a failed download leaves
 * nothing at either path.
 */
export async function downloadFile(
  storage: Storage,
  src: Location,
  dest: string,
  name: string,
  expected: ExpectedFile | undefined,
): Promise<Transferred> {
  const part = `${dest}.part`;
  try {
    const result = await fetchObject(storage, src, part, name, expected);
    await rename(part, dest);
    return result;
  } catch (e) {
    await rm(part, { force: true });
    throw e;
  }
}

/** Reads `src` without keeping it, checking it against `expected`. */
export function checkObject(
  storage: Storage,
  src: Location,
  name: string,
  expected: ExpectedFile,
): Promise<Transferred> {
  return fetchObject(storage, src, undefined, name, expected);
}

/** The whole body of an object as a string. */
export async function readText(storage: Storage, loc: Location): Promise<string> {
  const { body } = await storage.open(loc);
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(Buffer.from(chunk as Uint8Array));
    return Buffer.concat(chunks).toString('utf8');
  } catch (e) {
    throw storage.explain(e, `read ${formatLocation(loc)}`, loc);
  }
}
