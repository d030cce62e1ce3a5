// The backup agent on a `pvc` destination, run as the operator's image runs it (`node src/cli.ts
// backup-agent …` in a child process with a clean environment, the report read from its
// termination message file), with a temporary directory standing for the claim's mount
// (`--pvc-mount`): upload, list, verify, download and prune of a fabricated `bench backup`
// directory with checksums compared against the files on the "claim"; damaged files give their
// clear errors; prune applies retention to sets of fabricated ages (file and directory mtimes);
// the flags that cannot go together are refused with exit code 2. No S3 server is needed.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { formatSetTimestamp } from '../../../src/agent/timestamp.ts';
import { runAgent } from '../../harness/agent.ts';
import {
  checksums,
  DAY,
  deletedOf,
  expectDownloadsObjects,
  expectDownloadsSet,
  expectFailure,
  expectListsSet,
  expectNewSet,
  expectUploadedManifest,
  expectVerifies,
  fabricateBackup,
  fabricateRetentionSets,
  fabricatedManifest,
  MiB,
  pruneArgs,
  uploadArgs as agentUploadArgs,
  uploadCopy as agentUploadCopy,
  type AgentOnStorage,
  type FabricatedBackup,
} from './support.ts';

const CLAIM = 'acme-sites';
const SITE_KEY = 'backups/production/acme/';
const SITE_DIR = `pvc://${CLAIM}/${SITE_KEY}`;

let work: string;
/** The claim's root, as the Job mounts it. */
let mount: string;
let backup: FabricatedBackup;
/** The set the first upload made, and its directory on the claim. */
let setUrl: string;
let setDir: string;

const mountFlag = () => `--pvc-mount=${mount}`;

const onClaim: AgentOnStorage = { run: (args) => runAgent(args), flags: () => [mountFlag()] };

const uploadArgs = (source: string, destination: string, extra: string[] = []) =>
  agentUploadArgs(onClaim, source, destination, extra);

/** Every path under `dir`, relative, directories with a trailing `/`. */
async function tree(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) {
      out.push(`${prefix}${e.name}/`, ...(await tree(join(dir, e.name), `${prefix}${e.name}/`)));
    } else {
      out.push(`${prefix}${e.name}`);
    }
  }
  return out.sort();
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'agent-pvc-test-'));
  mount = join(work, 'claim');
  await mkdir(mount);
  // Larger than the 1 MiB the file system backend copies at a time.
  backup = await fabricateBackup(join(work, 'backup'), { privateFilesBytes: 3 * MiB + 12345 });
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('backup-agent on a pvc destination', () => {
  test('upload copies every file to <mount>/<path>/<timestamp>/, then manifest.json, and reports the set', async () => {
    const before = Date.now();
    const r = await runAgent(uploadArgs(backup.dir, SITE_DIR));
    const { location, stamp } = expectNewSet(r, SITE_DIR, before, backup);
    setUrl = location;
    setDir = join(mount, SITE_KEY, stamp);

    // Exactly the files and the manifest: no .part left, nothing else on the claim.
    assert.deepEqual(await tree(mount), [
      'backups/',
      'backups/production/',
      'backups/production/acme/',
      `backups/production/acme/${stamp}/`,
      ...[...Object.keys(backup.sha256), 'manifest.json']
        .sort()
        .map((n) => `backups/production/acme/${stamp}/${n}`),
    ]);
    assert.deepEqual(
      Object.fromEntries(
        Object.entries(await checksums(setDir)).filter(([n]) => n !== 'manifest.json'),
      ),
      backup.sha256,
    );
    expectUploadedManifest(await readFile(join(setDir, 'manifest.json'), 'utf8'), backup);
    // manifest.json came last; nobody but the pod's user and group may read the set.
    const manifestTime = (await stat(join(setDir, 'manifest.json'))).mtimeMs;
    for (const name of Object.keys(backup.sha256)) {
      const st = await stat(join(setDir, name));
      assert.ok(st.mtimeMs <= manifestTime, name);
      assert.equal(st.mode & 0o007, 0, `${name} is not world-readable`);
    }
  });

  test('list shows the set, complete, with its owner and files', async () => {
    await expectListsSet(onClaim, SITE_DIR, setUrl, backup);
  });

  test('verify re-reads the set and finds it whole', async () => {
    await expectVerifies(onClaim, setUrl, backup);
  });

  test('download of a set, and of one dump with --files and --private-files, checksums verified', async () => {
    await expectDownloadsSet(onClaim, setUrl, join(work, 'restore-set'), backup);
    await expectDownloadsObjects(onClaim, setUrl, join(work, 'restore-objects'), backup);
  });

  test('damaged files: ChecksumMismatch and Truncated naming the file; nothing damaged is restored', async () => {
    const copy = await uploadCopy('damaged');
    const tar = join(copy.dir, backup.names.files);
    const bytes = await readFile(tar);
    bytes[1000] = (bytes[1000] ?? 0) ^ 0xff;
    await writeFile(tar, bytes);
    const dump = join(copy.dir, backup.names.database);
    await writeFile(dump, (await readFile(dump)).subarray(0, 100));

    const v = await runAgent(['verify', `--source=${copy.url}`, mountFlag()]);
    expectFailure(
      v,
      'Truncated',
      new RegExp(
        `2 of the set's 4 files are damaged: .*${backup.names.database} .*has 100 bytes, the manifest says .*${backup.names.files} .*has SHA-256 [0-9a-f]{64}, the manifest says`,
      ),
    );
    const dest = join(work, 'restore-damaged');
    const d = await runAgent([
      'download',
      `--source=${copy.url}`,
      `--destination=${dest}`,
      mountFlag(),
    ]);
    expectFailure(d, 'Truncated', new RegExp(backup.names.database));
    assert.deepEqual(await readdir(dest), [], 'no damaged file or .part left behind');
  });

  test('a missing file is NoSuchKey; a set without manifest.json is IncompleteSet', async () => {
    const missing = await runAgent([
      'download',
      `--source=${SITE_DIR}20200101T000000Z/nothing-database.sql.gz`,
      `--destination=${join(work, 'missing')}`,
      mountFlag(),
    ]);
    expectFailure(
      missing,
      'NoSuchKey',
      /nothing-database\.sql\.gz: no such file \(.*20200101T000000Z\/nothing-database\.sql\.gz in claim acme-sites/,
    );
    await mkdir(join(mount, SITE_KEY, '20200101T000000Z'));
    await writeFile(join(mount, SITE_KEY, '20200101T000000Z', 'x-database.sql.gz.part'), 'partial');
    for (const args of [
      ['verify', `--source=${SITE_DIR}20200101T000000Z/`],
      ['download', `--source=${SITE_DIR}20200101T000000Z/`, `--destination=${join(work, 'inc')}`],
    ]) {
      const r = await runAgent([...args, mountFlag()]);
      expectFailure(r, 'IncompleteSet', /has no manifest\.json: it is not a complete backup set/);
    }
    await rm(join(mount, SITE_KEY, '20200101T000000Z'), { recursive: true });
  });

  test('the claim not mounted at --pvc-mount is VolumeNotMounted, naming the claim', async () => {
    const nowhere = join(work, 'not-mounted');
    for (const args of [
      uploadArgs(backup.dir, SITE_DIR).filter((a) => !a.startsWith('--pvc-mount')),
      ['list', `--destination=${SITE_DIR}`],
    ]) {
      const r = await runAgent([...args, `--pvc-mount=${nowhere}`]);
      expectFailure(
        r,
        'VolumeNotMounted',
        new RegExp(
          `^--pvc-mount=${nowhere} does not exist: the Job must mount claim acme-sites there$`,
        ),
      );
    }
  });

  test('flags that do not go together exit 2 with InvalidArguments', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['list', `--destination=${SITE_DIR}`],
        /--destination=pvc:\/\/acme-sites\/backups\/production\/acme\/ needs --pvc-mount=DIR: the directory where the Job mounts claim acme-sites/,
      ],
      [
        ['list', '--destination=s3://frappe-backups/prod/production/acme/', mountFlag()],
        /--pvc-mount=.*: for pvc:\/\/ URLs only, and --destination=s3:\/\/frappe-backups\/.* is in S3/,
      ],
      [
        [...uploadArgs(backup.dir, SITE_DIR), '--endpoint=http://127.0.0.1:1', '--part-size=5MiB'],
        /--endpoint, --part-size: for s3:\/\/ URLs only/,
      ],
      [
        [
          'download',
          `--source=${setUrl}`,
          `--files=s3://frappe-backups/x/files.tar`,
          `--destination=${join(work, 'mixed')}`,
          mountFlag(),
        ],
        /--files=s3:\/\/frappe-backups\/x\/files\.tar and --source=pvc:\/\/.*: one run of the agent works on one kind of storage/,
      ],
      [
        [
          'download',
          `--source=${setUrl}`,
          `--files=pvc://other-claim/x/files.tar`,
          `--destination=${join(work, 'mixed')}`,
          mountFlag(),
        ],
        /--files=pvc:\/\/other-claim\/x\/files\.tar is on claim other-claim, --source=.* on claim acme-sites/,
      ],
      [
        ['verify', `--source=pvc://${CLAIM}/backups/../../etc/`, mountFlag()],
        /the path has an empty, '\.' or '\.\.' segment/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await runAgent(args);
      expectFailure(r, 'InvalidArguments', message, 2);
      assert.match(r.stderr, /usage: frappe-operator backup-agent/);
    }
  });
});

describe('backup-agent prune on a pvc destination', () => {
  /**
   * A set `daysAgo` old under `dirKey` on the claim, made by `owner` (a SiteBackup, or a SiteJob
   * when null), complete (with a manifest) or not, its files and directory last written back then.
   */
  async function fabricateSet(
    daysAgo: number,
    owner: string | null,
    complete = true,
    dirKey = 'retention/production/acme/',
    files = true,
  ) {
    const time = new Date(Date.now() - daysAgo * DAY);
    const stamp = formatSetTimestamp(time);
    const dir = join(mount, dirKey, stamp);
    await mkdir(dir, { recursive: true });
    const written: string[] = [];
    if (files) {
      await writeFile(join(dir, 'x-database.sql.gz'), 'dump');
      written.push('x-database.sql.gz');
    }
    if (complete) {
      await writeFile(join(dir, 'manifest.json'), fabricatedManifest(owner, time));
      written.push('manifest.json');
    }
    for (const name of written) await utimes(join(dir, name), time, time);
    await utimes(dir, time, time);
    return stamp;
  }

  const stamps = async (dirKey = 'retention/production/acme/') =>
    (await readdir(join(mount, dirKey))).sort();

  test('deletes exactly the sets the rules say, never the newest, never another owner’s', async () => {
    const DIR = `pvc://${CLAIM}/retention/production/acme/`;
    const { keep1, keep2, keep3, count, old, weekly, job, stale, fresh } =
      await fabricateRetentionSets(fabricateSet);
    const staleEmpty = await fabricateSet(3.5, null, false, undefined, false); // an empty directory
    // An old timestamp, but written to a moment ago: an upload still going.
    const writing = await fabricateSet(5, null, false);
    await writeFile(join(mount, 'retention/production/acme', writing, 'y-files.tar.part'), 'y');

    const dry = await runAgent(
      pruneArgs(onClaim, DIR, ['--keep-count=3', '--keep-days=30', '--dry-run']),
    );
    assert.equal(dry.exitCode, 0, dry.stderr);
    assert.equal(dry.report?.['pruned'], 4);
    assert.equal((await stamps()).length, 11, 'a dry run deletes nothing');

    const r = await runAgent(pruneArgs(onClaim, DIR, ['--keep-count=3', '--keep-days=30']));
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.report?.['retained'], 3, r.stdout);
    assert.equal(r.report['pruned'], 4, r.stdout);
    assert.deepEqual(deletedOf(r), [
      [`${DIR}${old}/`, 'Count'],
      [`${DIR}${count}/`, 'Count'],
      [`${DIR}${staleEmpty}/`, 'Incomplete'],
      [`${DIR}${stale}/`, 'Incomplete'],
    ]);
    assert.deepEqual(await stamps(), [keep1, keep2, keep3, weekly, job, fresh, writing].sort());

    // keep-count 1 leaves the newest only; again, the others are untouched.
    const again = await runAgent(pruneArgs(onClaim, DIR, ['--keep-count=1']));
    assert.equal(again.exitCode, 0, again.stderr);
    assert.deepEqual(await stamps(), [keep1, weekly, job, fresh, writing].sort());
    // The kept sets are whole.
    assert.deepEqual(await readdir(join(mount, 'retention/production/acme', keep1)), [
      'manifest.json',
      'x-database.sql.gz',
    ]);
  });

  test('upload with --keep-count applies retention in the same run, once the new set is complete', async () => {
    const dirKey = 'with-retention/production/acme/';
    const daily = await fabricateSet(1, 'daily', true, dirKey);
    const weekly = await fabricateSet(2, 'weekly', true, dirKey);
    const r = await runAgent(
      uploadArgs(backup.dir, `pvc://${CLAIM}/${dirKey}`, ['--keep-count=1']),
    );
    assert.equal(r.exitCode, 0, r.stderr);
    const location = String(r.report?.['location']);
    assert.deepEqual(r.report, {
      location,
      sizeBytes: backup.sizeBytes,
      retention: { retained: 1, pruned: 1 },
    });
    const stamp = location.slice(`pvc://${CLAIM}/${dirKey}`.length, -1);
    assert.deepEqual(await stamps(dirKey), [stamp, weekly].sort());
    assert.ok(!(await stamps(dirKey)).includes(daily));
  });
});

/** Uploads the fabricated backup again under another path; its set's URL and directory. */
async function uploadCopy(name: string): Promise<{ url: string; dir: string }> {
  const url = await agentUploadCopy(onClaim, backup, `pvc://${CLAIM}/${name}/production/acme/`);
  return { url, dir: join(mount, url.slice(`pvc://${CLAIM}/`.length)) };
}
