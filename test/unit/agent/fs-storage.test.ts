// The agent's PersistentVolumeClaim backend (src/agent/fs-storage.ts) on a temporary directory
// standing for the claim's mount: files written through `.part` and renamed, whole or absent;
// listing with directory markers (an empty set directory is a set); reading; deleting files, then
// the directories they were in; clear errors for a missing mount, a missing file, a full volume.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AgentError } from '../../../src/agent/errors.ts';
import { FsStorage, openPvcStorage } from '../../../src/agent/fs-storage.ts';
import { formatLocation, parseLocation, type Location } from '../../../src/agent/location.ts';
import { agentLogger } from '../../../src/agent/log.ts';
import { listSets } from '../../../src/agent/sets.ts';
import type { Source } from '../../../src/agent/storage.ts';
import { checkObject, readText, uploadFile } from '../../../src/agent/transfer.ts';

const CLAIM = 'acme-sites';
const log = agentLogger('test');
const at = (key: string): Location => ({ scheme: 'pvc', root: CLAIM, key });
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

let work: string;
let mount: string;
let storage: FsStorage;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'fs-storage-'));
  mount = join(work, 'mnt');
  await mkdir(mount);
  storage = await openPvcStorage({ claim: CLAIM, mount });
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

function rejectsWith(reason: string, message: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof AgentError, String(e));
    assert.equal(e.reason, reason, e.message);
    assert.match(e.message, message);
    return true;
  };
}

describe('openPvcStorage', () => {
  test('a mount that is not there is VolumeNotMounted, naming the flag and the claim', async () => {
    await assert.rejects(
      openPvcStorage({ claim: CLAIM, mount: join(work, 'nowhere') }),
      rejectsWith(
        'VolumeNotMounted',
        /^--pvc-mount=.*nowhere does not exist: the Job must mount claim acme-sites there$/,
      ),
    );
    const file = join(work, 'a-file');
    await writeFile(file, 'x');
    await assert.rejects(
      openPvcStorage({ claim: CLAIM, mount: file }),
      rejectsWith('VolumeNotMounted', /a-file is not a directory: the Job must mount claim/),
    );
  });

  test('locations map under the mount, never outside it, and only for its claim', () => {
    assert.equal(storage.pathOf(at('backups/ns/site/')), join(mount, 'backups/ns/site'));
    assert.equal(storage.pathOf(at('')), mount);
    assert.throws(() => storage.pathOf({ scheme: 'pvc', root: 'other', key: 'x' }), /not on claim/);
    assert.throws(() => storage.pathOf(at('../escape')), /outside/);
  });
});

describe('writing', () => {
  test('a file is copied with its size and SHA-256, through .part, into new directories', async () => {
    const src = join(work, 'src.tar');
    const data = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    data.write('start');
    await writeFile(src, data);
    const dest = at('backups/ns/site/20260102T020000Z/src.tar');
    const done = await uploadFile(storage, src, dest, log);
    assert.deepEqual(done, { sizeBytes: data.length, sha256: sha256(data) });
    const path = join(mount, 'backups/ns/site/20260102T020000Z');
    assert.deepEqual(await readdir(path), ['src.tar']);
    assert.ok((await readFile(join(path, 'src.tar'))).equals(data));
    assert.equal((await stat(join(path, 'src.tar'))).mode & 0o777 & ~0o640, 0, 'no more than 0640');
    for (const d of [
      'backups',
      'backups/ns',
      'backups/ns/site',
      'backups/ns/site/20260102T020000Z',
    ]) {
      assert.equal((await stat(join(mount, d))).mode & 0o777, 0o770, d);
    }
  });

  test('small objects (the manifest) are written whole', async () => {
    await storage.putBytes(
      at('backups/ns/site/20260102T020000Z/manifest.json'),
      Buffer.from('{}'),
      '',
    );
    assert.equal(
      await readText(storage, at('backups/ns/site/20260102T020000Z/manifest.json')),
      '{}',
    );
  });

  test('a source that changes underneath fails, and leaves neither the file nor its .part', async () => {
    let read = 0;
    const growing: Source = {
      path: '/backup/x.tar',
      size: 10,
      next: (n) => {
        read += n;
        return Promise.resolve(Buffer.alloc(n));
      },
      finish: () =>
        Promise.reject(new AgentError('InvalidSource', 'the file grew while it was uploaded')),
    };
    const dest = at('backups/ns/site/20260103T000000Z/x.tar');
    await assert.rejects(storage.putFile(growing, dest), rejectsWith('InvalidSource', /grew/));
    assert.equal(read, 10);
    assert.deepEqual(await readdir(join(mount, 'backups/ns/site/20260103T000000Z')), []);
  });

  test('a full volume is StorageFull, saying what to do, and the .part is gone', async () => {
    const full: Source = {
      path: '/backup/x.tar',
      size: 10,
      next: () =>
        Promise.reject(Object.assign(new Error('ENOSPC: no space left'), { code: 'ENOSPC' })),
      finish: () => Promise.reject(new Error('unreachable')),
    };
    const dest = at('backups/ns/site/20260104T000000Z/x.tar');
    await assert.rejects(
      storage.putFile(full, dest),
      rejectsWith(
        'StorageFull',
        /^upload pvc:\/\/acme-sites\/backups\/ns\/site\/20260104T000000Z\/x\.tar: claim acme-sites \(mounted at .*\) is full \(ENOSPC\): grow the PersistentVolumeClaim acme-sites/,
      ),
    );
    assert.deepEqual(await readdir(join(mount, 'backups/ns/site/20260104T000000Z')), []);
  });

  test('a leftover .part of an earlier attempt is replaced', async () => {
    const dir = join(mount, 'backups/ns/site/20260105T000000Z');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'm.json.part'), 'old and longer');
    await storage.putBytes(at('backups/ns/site/20260105T000000Z/m.json'), Buffer.from('new'), '');
    assert.deepEqual(await readdir(dir), ['m.json']);
    assert.equal(await readFile(join(dir, 'm.json'), 'utf8'), 'new');
  });

  test(
    'a directory the agent may not write to is AccessDenied, naming its uid and gid',
    { skip: process.getuid?.() === 0 && 'root is never denied' },
    async () => {
      const dir = join(mount, 'locked');
      await mkdir(dir, { mode: 0o555 });
      await assert.rejects(
        storage.putBytes(at('locked/x'), Buffer.from('x'), ''),
        rejectsWith('AccessDenied', /permission denied \(EACCES\) on .*locked.* uid \d+, gid \d+/),
      );
    },
  );

  test('a path through a file is a StorageError naming the path', async () => {
    await writeFile(join(mount, 'plain'), 'x');
    await assert.rejects(
      storage.putBytes(at('plain/x'), Buffer.from('x'), ''),
      rejectsWith(
        'StorageError',
        /^upload pvc:\/\/acme-sites\/plain\/x: .*plain\/x in claim acme-sites .*(EEXIST|ENOTDIR)/,
      ),
    );
  });
});

describe('reading', () => {
  test('a file streams with its size; a check compares size and SHA-256', async () => {
    const loc = at('backups/ns/site/20260102T020000Z/manifest.json');
    await checkObject(storage, loc, 'manifest.json', { sizeBytes: 2, sha256: sha256('{}') });
    await assert.rejects(
      checkObject(storage, loc, 'manifest.json', { sizeBytes: 2, sha256: sha256('[]') }),
      rejectsWith('ChecksumMismatch', /manifest\.json \(pvc:\/\/acme-sites\/.*\) has SHA-256/),
    );
    await assert.rejects(
      checkObject(storage, loc, 'manifest.json', { sizeBytes: 3, sha256: sha256('{}') }),
      rejectsWith('Truncated', /has 2 bytes, the manifest says 3/),
    );
  });

  test('a missing file, or a directory, is NoSuchKey naming the URL and the path', async () => {
    for (const key of [
      'backups/ns/site/20260102T020000Z/nothing',
      'plain/below-a-file',
      'backups/',
    ]) {
      await assert.rejects(
        storage.open(at(key)),
        rejectsWith(
          'NoSuchKey',
          new RegExp(`^download ${formatLocation(at(key))}: .*backup-agent list`),
        ),
        key,
      );
    }
  });
});

describe('listing and deleting', () => {
  const SITE = at('listing/ns/site/');

  test('every file and directory under a directory, directories as markers', async () => {
    const base = join(mount, 'listing/ns/site');
    await mkdir(join(base, '20260101T000000Z/nested'), { recursive: true });
    await writeFile(join(base, '20260101T000000Z/a.sql.gz'), 'abc');
    await writeFile(join(base, '20260101T000000Z/nested/b'), 'b');
    await mkdir(join(base, '20260102T000000Z'));
    await mkdir(join(base, 'not-a-set'));
    await writeFile(join(base, 'not-a-set/c'), 'c');
    const old = new Date('2026-01-01T00:00:00Z');
    await utimes(join(base, '20260102T000000Z'), old, old);

    const all = await storage.list(SITE);
    assert.deepEqual(all.map((o) => o.key).sort(), [
      'listing/ns/site/20260101T000000Z/',
      'listing/ns/site/20260101T000000Z/a.sql.gz',
      'listing/ns/site/20260101T000000Z/nested/',
      'listing/ns/site/20260101T000000Z/nested/b',
      'listing/ns/site/20260102T000000Z/',
      'listing/ns/site/not-a-set/',
      'listing/ns/site/not-a-set/c',
    ]);
    assert.equal(all.find((o) => o.key.endsWith('a.sql.gz'))?.sizeBytes, 3);
    const only = await storage.list(SITE, (name) => name.startsWith('2026'));
    assert.ok(!only.some((o) => o.key.includes('not-a-set')));
    assert.deepEqual(await storage.list(at('listing/nothing-here/')), []);

    // As sets: both incomplete; the empty one is as old as its directory.
    const sets = await listSets(storage, SITE);
    assert.deepEqual(
      sets.map((s) => [s.location, s.complete, s.objects.length]),
      [
        ['pvc://acme-sites/listing/ns/site/20260102T000000Z/', false, 1],
        ['pvc://acme-sites/listing/ns/site/20260101T000000Z/', false, 4],
      ],
    );
    assert.equal(sets[0]?.lastModified?.toISOString(), old.toISOString());
  });

  test('delete removes the files, then their directories, deepest first', async () => {
    const sets = await listSets(storage, SITE);
    await storage.delete(
      CLAIM,
      sets.flatMap((s) => s.objects.map((o) => o.key)),
    );
    assert.deepEqual(await readdir(join(mount, 'listing/ns/site')), ['not-a-set']);
    // Already gone: nothing to do.
    await storage.delete(CLAIM, [
      'listing/ns/site/20260101T000000Z/a.sql.gz',
      'listing/ns/site/20260101T000000Z/',
    ]);
  });

  test('a directory that got a new file since it was listed stays, with a StorageError', async () => {
    const base = join(mount, 'listing/ns/site/20260103T000000Z');
    await mkdir(base, { recursive: true });
    await writeFile(join(base, 'listed'), 'x');
    const [set] = await listSets(storage, SITE);
    await writeFile(join(base, 'new'), 'x');
    await assert.rejects(
      storage.delete(CLAIM, set?.objects.map((o) => o.key) ?? []),
      rejectsWith(
        'StorageError',
        /20260103T000000Z\/: the directory holds files written after it was listed/,
      ),
    );
    assert.deepEqual(await readdir(base), ['new']);
  });
});

test('pvc:// URLs from flags reach the same paths', () => {
  const loc = parseLocation('pvc://acme-sites/backups/ns/site/20260102T020000Z/', '--source');
  assert.equal(storage.pathOf(loc), join(mount, 'backups/ns/site/20260102T020000Z'));
});
