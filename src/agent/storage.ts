// The storage the agent's commands work on: the raw I/O of backup sets, and nothing else. Two
// backends implement it — S3 (s3-storage.ts: an object store through the AWS SDK) and a
// mounted PersistentVolumeClaim (fs-storage.ts: files under `--pvc-mount`). What a set is, the
// manifest, checksums, retention and reports are written once, over this interface (sets.ts,
// transfer.ts, commands.ts).
//
// Keys are `/`-separated paths under the storage's root (bucket or claim). A key ending in `/` is
// a directory marker: the file system lists every directory so (an empty set directory is still
// a set), S3 only where someone created such an object.
import type { Readable } from 'node:stream';
import type { AgentError } from './errors.ts';
import type { Location, Scheme } from './location.ts';
import type { AgentLogger } from './log.ts';

export interface StoredObject {
  /** The full key under the root. */
  key: string;
  sizeBytes: number;
  lastModified: Date | undefined;
}

export interface ObjectBody {
  body: Readable;
  /** The size the storage announces (Content-Length, the file's size), if it does. */
  sizeBytes: number | undefined;
}

export interface Transferred {
  sizeBytes: number;
  /** Lowercase hex. */
  sha256: string;
}

/**
 * A local file being stored, read once, in order: every chunk feeds its SHA-256, and it must
 * have exactly the size it had when it was opened (transfer.ts: SourceFile).
 */
export interface Source {
  readonly path: string;
  readonly size: number;
  /** The next `length` bytes (Truncated if the file ended early). */
  next(length: number): Promise<Buffer>;
  /** Checks that the file ended where it began and that all of it was read; its digest. */
  finish(): Promise<Transferred>;
}

export interface Storage {
  readonly scheme: Scheme;
  /**
   * Every object under the directory `dir` (its key is '' or ends in `/`), at any depth, with
   * directory markers where the storage has them; nothing (not an error) when there is none.
   * With `only`, just what lies under the entries of `dir` whose name it accepts (a file system
   * then does not walk the others).
   */
  list(dir: Location, only?: (name: string) => boolean): Promise<StoredObject[]>;
  /** Opens an object for reading; NoSuchKey when it does not exist. */
  open(loc: Location): Promise<ObjectBody>;
  /**
   * Stores `source` at `dest`, reading it through `source.next()` and calling `source.finish()`
   * before the object becomes visible, so a file that changed underneath never lands.
   */
  putFile(source: Source, dest: Location, log: AgentLogger): Promise<Transferred>;
  /** Stores a small object (the manifest) whole. */
  putBytes(dest: Location, body: Buffer, contentType: string): Promise<void>;
  /** Deletes the objects at `keys` under `root`; directory markers after what they held. */
  delete(root: string, keys: readonly string[]): Promise<void>;
  /** The AgentError for a failure of `what` (e.g. "download s3://…") at `loc`. */
  explain(err: unknown, what: string, loc: Location): AgentError;
  close(): void;
}
