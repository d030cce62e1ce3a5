// The PersistentVolumeClaim backend of the agent's storage (storage.ts): `pvc://CLAIM/PATH` is
// the file or directory PATH under `--pvc-mount`, where the Job mounts the claim's root. The agent
// never talks to Kubernetes: it only needs the claim's name for URLs and messages.
//
// A file is written as `<name>.part`, fsynced, renamed into place, and its directory fsynced, so
// after a crash a file is either whole or absent (and a `.part` is left in an incomplete set,
// which retention deletes after 24 h). Directories are listed as markers (`<key>/`), so an empty
// set directory is still a set, and deleted after what they held. Files are created 0640 (less if
// the umask says so) and new directories 0770: the pod's group (fsGroup) may read and prune the
// sets, others nothing — a set holds the site's database password.
import {
  chmod,
  lstat,
  mkdir,
  open,
  readdir,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
  type FileHandle,
} from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { AgentError, explainFsError, type FsPlace } from './errors.ts';
import { formatLocation, isDirectoryKey, type Location } from './location.ts';
import type { ObjectBody, Source, Storage, StoredObject, Transferred } from './storage.ts';

/** How much of a file is copied at a time. */
const CHUNK = 1024 * 1024;
const FILE_MODE = 0o640;
const DIR_MODE = 0o770;
/** fsync of a directory is not supported everywhere (some FUSE and network file systems). */
const NO_DIR_SYNC = new Set(['EINVAL', 'ENOTSUP', 'EOPNOTSUPP', 'EBADF', 'EISDIR']);

export interface PvcOptions {
  /** The claim's name, as in `pvc://CLAIM/…`. */
  claim: string;
  /** Where the Job mounts the claim's root (`--pvc-mount`). */
  mount: string;
}

/** The storage of a mounted claim; VolumeNotMounted when `mount` is not a directory. */
export async function openPvcStorage(opts: PvcOptions): Promise<FsStorage> {
  const storage = new FsStorage(opts.claim, opts.mount);
  let isDir: boolean;
  try {
    isDir = (await stat(storage.mount)).isDirectory();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw explainFsError(e, `--pvc-mount=${opts.mount}`, storage.mount, storage.place);
    }
    throw new AgentError(
      'VolumeNotMounted',
      `--pvc-mount=${opts.mount} does not exist: the Job must mount claim ${opts.claim} there`,
      { cause: e },
    );
  }
  if (!isDir) {
    throw new AgentError(
      'VolumeNotMounted',
      `--pvc-mount=${opts.mount} is not a directory: the Job must mount claim ${opts.claim} there`,
    );
  }
  return storage;
}

export class FsStorage implements Storage {
  readonly scheme = 'pvc';
  readonly claim: string;
  /** Absolute. */
  readonly mount: string;
  readonly place: FsPlace;

  constructor(claim: string, mount: string) {
    this.claim = claim;
    this.mount = resolve(mount);
    this.place = {
      description: `claim ${claim} (mounted at ${this.mount})`,
      whenFull: `grow the PersistentVolumeClaim ${claim}, or keep fewer sets (the SiteBackup's retention); the unfinished set is incomplete and retention deletes it after 24 h`,
    };
  }

  explain(err: unknown, what: string, loc: Location): AgentError {
    return explainFsError(err, what, this.pathOf(loc), this.place);
  }

  close(): void {
    // Nothing is held open between calls.
  }

  /** The file or directory a location names; never outside the mount. */
  pathOf(loc: Location): string {
    if (loc.scheme !== 'pvc' || loc.root !== this.claim) {
      throw new Error(
        `${formatLocation(loc)} is not on claim ${this.claim}, the one mounted at ${this.mount}`,
      );
    }
    const path = resolve(this.mount, ...loc.key.split('/').filter((s) => s !== ''));
    if (path !== this.mount && !path.startsWith(`${this.mount}${sep}`)) {
      throw new Error(`${formatLocation(loc)} leads outside ${this.mount}`);
    }
    return path;
  }

  async list(dir: Location, only?: (name: string) => boolean): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    const walk = async (path: string, prefix: string): Promise<void> => {
      let names;
      try {
        names = await readdir(path);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        // Nothing there (or deleted while listed): no objects, as S3 would say.
        if (code === 'ENOENT' || code === 'ENOTDIR') return;
        throw this.explain(e, `list ${formatLocation(dir)}`, { ...dir, key: prefix });
      }
      // lstat, not the entries' types: it gives the size and mtime as well.
      for (const name of names) {
        if (only !== undefined && prefix === dir.key && !only(name)) continue;
        const key = `${prefix}${name}`;
        let st;
        try {
          st = await lstat(join(path, name));
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
          throw this.explain(e, `list ${formatLocation(dir)}`, { ...dir, key });
        }
        if (st.isDirectory()) {
          out.push({ key: `${key}/`, sizeBytes: 0, lastModified: st.mtime });
          await walk(join(path, name), `${key}/`);
        } else {
          out.push({ key, sizeBytes: st.size, lastModified: st.mtime });
        }
      }
    };
    await walk(this.pathOf(dir), dir.key);
    return out;
  }

  async open(loc: Location): Promise<ObjectBody> {
    const path = this.pathOf(loc);
    const what = `download ${formatLocation(loc)}`;
    const missing = (why: string, cause?: unknown) =>
      new AgentError(
        'NoSuchKey',
        `${what}: ${why} (${path} in ${this.place.description}): check the URL; \`frappe-operator backup-agent list\` shows the sets under a directory`,
        { cause },
      );
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw missing('no such file', e);
      throw this.explain(e, what, loc);
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw missing('not a regular file');
      return { body: fh.createReadStream(), sizeBytes: st.size };
    } catch (e) {
      await fh.close();
      throw this.explain(e, what, loc);
    }
  }

  putFile(source: Source, dest: Location): Promise<Transferred> {
    return this.#write(dest, async (fh) => {
      for (let left = source.size; left > 0;) {
        const chunk = await source.next(Math.min(CHUNK, left));
        await writeAll(fh, chunk);
        left -= chunk.length;
      }
      return source.finish();
    });
  }

  /** The content type is S3's concern. */
  async putBytes(dest: Location, body: Buffer, _contentType?: string): Promise<void> {
    await this.#write(dest, (fh) => writeAll(fh, body));
  }

  /**
   * `<path>.part` filled by `fill`, fsynced, renamed to `<path>`; the directory fsynced. What
   * `fill` resolved with.
   */
  async #write<T>(dest: Location, fill: (fh: FileHandle) => Promise<T>): Promise<T> {
    const path = this.pathOf(dest);
    const part = `${path}.part`;
    const what = `upload ${formatLocation(dest)}`;
    let fh: FileHandle | undefined;
    try {
      await this.#mkdirs(dirname(path));
      // A leftover of an earlier attempt goes; 'wx' creates the file anew and follows no link
      // planted in its place.
      await rm(part, { force: true });
      fh = await open(part, 'wx', FILE_MODE);
      const filled = await fill(fh);
      await fh.sync();
      await fh.close();
      fh = undefined;
      await rename(part, path);
      await syncDir(dirname(path));
      return filled;
    } catch (e) {
      await fh?.close().catch(() => undefined);
      await rm(part, { force: true }).catch(() => undefined);
      throw this.explain(e, what, dest);
    }
  }

  /**
   * mkdir -p below the mount, one directory at a time (Node's recursive mkdir reports ENOENT for
   * what is EROFS or EACCES), each new one DIR_MODE and durable in its parent.
   */
  async #mkdirs(dir: string): Promise<void> {
    const below = relative(this.mount, dir);
    let path = this.mount;
    for (const name of below === '' ? [] : below.split(sep)) {
      path = join(path, name);
      try {
        await mkdir(path, DIR_MODE);
      } catch (e) {
        // An existing directory is fine; anything else there fails the open below it.
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw e;
      }
      await chmod(path, DIR_MODE);
      await syncDir(dirname(path));
    }
  }

  async delete(root: string, keys: readonly string[]): Promise<void> {
    const at = (key: string): Location => ({ scheme: 'pvc', root, key });
    const depth = (key: string) => key.split('/').length;
    const dirs = keys.filter(isDirectoryKey).sort((a, b) => depth(b) - depth(a));
    for (const key of keys.filter((k) => !isDirectoryKey(k))) {
      try {
        await unlink(this.pathOf(at(key)));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw this.explain(e, `delete ${formatLocation(at(key))}`, at(key));
      }
    }
    for (const key of dirs) {
      try {
        await rmdir(this.pathOf(at(key)));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') continue;
        if (code === 'ENOTEMPTY' || code === 'EEXIST') {
          throw new AgentError(
            'StorageError',
            `delete ${formatLocation(at(key))}: the directory holds files written after it was listed; it is left in place, and retention looks at it again on its next run`,
            { cause: e },
          );
        }
        throw this.explain(e, `delete ${formatLocation(at(key))}`, at(key));
      }
    }
  }
}

async function writeAll(fh: FileHandle, data: Buffer): Promise<void> {
  for (let off = 0; off < data.length;) {
    const { bytesWritten } = await fh.write(data, off, data.length - off);
    off += bytesWritten;
  }
}

/** fsync of a directory: the entries just made in it survive a crash. */
async function syncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (e) {
    if (!NO_DIR_SYNC.has((e as NodeJS.ErrnoException).code ?? '')) throw e;
  } finally {
    await fh?.close();
  }
}
