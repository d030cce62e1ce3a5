// The backup agent against a real S3 server (Versity Gateway on 127.0.0.1, test/harness/s3.ts),
// run as the operator's image runs it: `node src/cli.ts backup-agent …` in a child process with a
// clean environment, credentials only from a directory laid out as the mounted Secret, the report
// read from its termination message file. Upload (one file in parts), list, download and verify
// of a fabricated `bench backup` directory with checksums compared; wrong credentials, a missing
// bucket, a missing object, an incomplete set and corrupted or truncated objects give their clear
// errors; prune applies retention to sets of fabricated ages.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { formatSetTimestamp } from '../../../src/agent/timestamp.ts';
import { runAgent, type AgentResult } from '../../harness/agent.ts';
import { startTestS3, writeCredentials, type TestS3 } from '../../harness/s3.ts';
import {
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
  getObjectBytes,
  listKeys,
  MiB,
  pruneArgs,
  putObject,
  sha256Of,
  uploadArgs as agentUploadArgs,
  uploadCopy as agentUploadCopy,
  type AgentOnStorage,
  type FabricatedBackup,
} from './support.ts';

const BUCKET = 'frappe-backups';
const SITE_DIR = `s3://${BUCKET}/prod/production/acme/`;

let s3: TestS3;
let work: string;
let backup: FabricatedBackup;
/** The set the first upload made. */
let setUrl: string;
/** Everything any agent run printed, to check that no secret ever shows. */
const outputs: string[] = [];

async function agent(args: string[], env?: Record<string, string>): Promise<AgentResult> {
  const r = await runAgent(args, env === undefined ? {} : { env });
  outputs.push(r.stdout, r.stderr, r.terminationMessage);
  return r;
}

const onS3: AgentOnStorage = { run: (args) => agent(args), flags: () => s3.agentFlags() };

const uploadArgs = (source: string, destination: string, extra: string[] = []) =>
  agentUploadArgs(onS3, source, destination, extra);

before(async () => {
  s3 = await startTestS3();
  await s3.createBucket(BUCKET);
  work = await mkdtemp(join(tmpdir(), 'agent-test-'));
  // The private files tar is larger than the 5 MiB multipart threshold used below: 3 parts.
  backup = await fabricateBackup(join(work, 'backup'), { privateFilesBytes: 12 * MiB + 12345 });
});

after(async () => {
  await s3.stop();
  await rm(work, { recursive: true, force: true });
});

describe('backup-agent on a real S3 server', () => {
  test('upload puts every file (the large one in parts), then manifest.json, and reports the set', async () => {
    const before = Date.now();
    const r = await agent(
      uploadArgs(backup.dir, SITE_DIR, ['--multipart-threshold=5MiB', '--part-size=5MiB']),
    );
    const { location, stamp } = expectNewSet(r, SITE_DIR, before, backup);
    assert.match(r.stderr, /"parts":3,.*"msg":"multipart upload"/);
    setUrl = location;

    const prefix = `prod/production/acme/${stamp}/`;
    expectUploadedManifest(
      (await getObjectBytes(s3, BUCKET, `${prefix}manifest.json`)).toString('utf8'),
      backup,
    );
    // Every object is exactly the file, byte for byte.
    for (const name of Object.keys(backup.sha256)) {
      const stored = sha256Of(await getObjectBytes(s3, BUCKET, `${prefix}${name}`));
      assert.equal(stored, backup.sha256[name], name);
    }
    // manifest.json came last.
    const objects = await listKeys(s3, BUCKET, prefix);
    assert.equal(objects.length, 5);
    const manifestTime = objects.find((o) => o.key.endsWith('manifest.json'))?.lastModified;
    for (const o of objects) assert.ok((o.lastModified ?? 0) <= (manifestTime ?? 0), o.key);
  });

  test('list shows the set, complete, with its owner and files', async () => {
    await expectListsSet(onS3, SITE_DIR, setUrl, backup);
  });

  test('download of a set fetches every file the manifest names, checksums verified', async () => {
    await expectDownloadsSet(onS3, setUrl, join(work, 'restore-set'), backup);
  });

  test('download of one dump with --files and --private-files', async () => {
    await expectDownloadsObjects(onS3, setUrl, join(work, 'restore-objects'), backup);
  });

  test('verify re-reads the set and finds it whole', async () => {
    await expectVerifies(onS3, setUrl, backup);
  });

  test('a corrupted object: verify and download fail with ChecksumMismatch naming the file', async () => {
    const copy = await uploadCopy('corrupt');
    const key = `${copy.prefix}${backup.names.files}`;
    const bytes = await getObjectBytes(s3, BUCKET, key);
    bytes[1000] = (bytes[1000] ?? 0) ^ 0xff; // one bit pattern flipped, same size
    await putObject(s3, BUCKET, key, bytes);

    const v = await agent(['verify', `--source=${copy.url}`, ...s3.agentFlags()]);
    expectFailure(
      v,
      'ChecksumMismatch',
      new RegExp(
        `${backup.names.files} .*has SHA-256 [0-9a-f]{64}, the manifest says ${backup.sha256[backup.names.files] ?? ''}`,
      ),
    );

    const dest = join(work, 'restore-corrupt');
    const d = await agent([
      'download',
      `--source=${copy.url}`,
      `--destination=${dest}`,
      ...s3.agentFlags(),
    ]);
    expectFailure(d, 'ChecksumMismatch', new RegExp(backup.names.files));
    const left = await readdir(dest);
    assert.ok(
      !left.includes(backup.names.files),
      `the damaged file is not left behind: ${left.join(', ')}`,
    );
    assert.ok(!left.some((n) => n.endsWith('.part')), left.join(', '));
  });

  test('a truncated object fails with Truncated naming the file', async () => {
    const copy = await uploadCopy('truncated');
    const key = `${copy.prefix}${backup.names.database}`;
    const bytes = await getObjectBytes(s3, BUCKET, key);
    await putObject(s3, BUCKET, key, bytes.subarray(0, bytes.length - 100));
    const d = await agent([
      'download',
      `--source=${copy.url}`,
      `--destination=${join(work, 'restore-truncated')}`,
      ...s3.agentFlags(),
    ]);
    expectFailure(
      d,
      'Truncated',
      new RegExp(
        `${backup.names.database} .*has ${bytes.length - 100} bytes, the manifest says ${bytes.length}`,
      ),
    );
    const v = await agent(['verify', `--source=${copy.url}`, ...s3.agentFlags()]);
    expectFailure(v, 'Truncated', new RegExp(backup.names.database));
  });

  test('wrong credentials: InvalidAccessKeyId and SignatureDoesNotMatch, saying which Secret key to fix', async () => {
    const badKey = join(work, 'bad-key');
    await writeCredentials(badKey, {
      AWS_ACCESS_KEY_ID: 'AKIANOTAKNOWNKEY0000',
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    });
    const badSecret = join(work, 'bad-secret');
    await writeCredentials(badSecret, {
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: 'not-the-secret-0000000000000000000000000',
    });
    // The two commands Jobs run: the backup's upload and the restore's download.
    for (const args of [
      uploadArgs(backup.dir, SITE_DIR).filter((a) => !a.startsWith('--credentials-dir')),
      [
        'download',
        `--source=${setUrl}`,
        `--destination=${join(work, 'x')}`,
        `--endpoint=${s3.endpoint}`,
        '--force-path-style',
      ],
    ]) {
      const k = await agent([...args, `--credentials-dir=${badKey}`]);
      expectFailure(
        k,
        'InvalidAccessKeyId',
        /does not know the access key id .*check AWS_ACCESS_KEY_ID in the credentials Secret/,
      );
      const s = await agent([...args, `--credentials-dir=${badSecret}`]);
      expectFailure(
        s,
        'SignatureDoesNotMatch',
        /check AWS_SECRET_ACCESS_KEY in the credentials Secret/,
      );
    }
  });

  test('credentials the store knows but that may not touch the bucket: AccessDenied, naming the permissions', async () => {
    const dir = join(work, 'stranger');
    const access = 'AKIASTRANGER00000000';
    const secret = 'stranger-secret-0000000000000000000000000';
    await s3.addUser(access, secret);
    await writeCredentials(dir, { AWS_ACCESS_KEY_ID: access, AWS_SECRET_ACCESS_KEY: secret });
    const ls = await agent(['list', `--destination=${SITE_DIR}`, ...s3.agentFlags(dir)]);
    expectFailure(
      ls,
      'AccessDenied',
      /access denied by http:\/\/127\.0\.0\.1:\d+ .*grant these credentials .*s3:ListBucket.* on bucket frappe-backups/,
    );
    const up = await agent([
      ...uploadArgs(backup.dir, SITE_DIR).filter((a) => !a.startsWith('--credentials-dir')),
      `--credentials-dir=${dir}`,
    ]);
    expectFailure(up, 'AccessDenied', /s3:PutObject/);
  });

  test('credentials come from the directory only: a missing file, or none at all, is CredentialsNotFound', async () => {
    const half = join(work, 'half-credentials');
    await writeCredentials(half, { AWS_ACCESS_KEY_ID: s3.accessKeyId });
    const r = await agent([
      'list',
      `--destination=${SITE_DIR}`,
      `--endpoint=${s3.endpoint}`,
      `--credentials-dir=${half}`,
    ]);
    expectFailure(r, 'CredentialsNotFound', /has no AWS_SECRET_ACCESS_KEY file/);
    // No directory and nothing in the SDK's chain (a clean environment, HOME without ~/.aws).
    const none = await agent(['list', `--destination=${SITE_DIR}`, `--endpoint=${s3.endpoint}`], {
      HOME: work,
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    expectFailure(none, 'CredentialsNotFound', /credentialsSecret.*workload identity/);
    // There is no flag for a key: argv can never carry one.
    const argv = await agent([
      'list',
      `--destination=${SITE_DIR}`,
      `--access-key=${s3.accessKeyId}`,
    ]);
    assert.equal(argv.exitCode, 2);
    assert.equal(argv.report?.['error'], 'InvalidArguments');
  });

  test('a missing bucket is NoSuchBucket naming the bucket', async () => {
    const up = await agent(uploadArgs(backup.dir, 's3://no-such-bucket/prod/production/acme/'));
    expectFailure(
      up,
      'NoSuchBucket',
      /bucket no-such-bucket does not exist on http:\/\/127\.0\.0\.1:\d+ \(NoSuchBucket\): create it/,
    );
    const ls = await agent(['list', '--destination=s3://no-such-bucket/x/', ...s3.agentFlags()]);
    expectFailure(ls, 'NoSuchBucket', /no-such-bucket/);
  });

  test('a missing object is NoSuchKey; a set without manifest.json is IncompleteSet', async () => {
    const missing = await agent([
      'download',
      `--source=${SITE_DIR}20200101T000000Z/nothing-database.sql.gz`,
      `--destination=${join(work, 'missing')}`,
      ...s3.agentFlags(),
    ]);
    expectFailure(missing, 'NoSuchKey', /nothing-database\.sql\.gz: no such object/);
    await putObject(
      s3,
      BUCKET,
      'prod/production/acme/20200101T000000Z/x-database.sql.gz',
      'partial',
    );
    const incomplete = await agent([
      'download',
      `--source=${SITE_DIR}20200101T000000Z/`,
      `--destination=${join(work, 'incomplete')}`,
      ...s3.agentFlags(),
    ]);
    expectFailure(
      incomplete,
      'IncompleteSet',
      /has no manifest\.json: it is not a complete backup set/,
    );
  });

  test('no secret ever appears in the agent output', () => {
    assert.ok(outputs.length > 0);
    for (const text of outputs) {
      assert.ok(!text.includes(s3.secretAccessKey), 'the secret key leaked into output');
    }
  });
});

describe('backup-agent prune on a real S3 server', () => {
  const DIR_KEY = 'retention/production/acme/';
  const DIR = `s3://${BUCKET}/${DIR_KEY}`;

  /**
   * A set `daysAgo` old under `dirKey`, made by `owner` (a SiteBackup, or a SiteJob when null),
   * complete (with a manifest) or not.
   */
  async function fabricateSet(
    daysAgo: number,
    owner: string | null,
    complete = true,
    dirKey = DIR_KEY,
  ) {
    const time = new Date(Date.now() - daysAgo * DAY);
    const stamp = formatSetTimestamp(time);
    const prefix = `${dirKey}${stamp}/`;
    const dump = `${prefix}x-database.sql.gz`;
    await putObject(s3, BUCKET, dump, 'dump');
    // Written back then, as far as the store can tell: the posix backend serves the file's mtime
    // as LastModified (retention leaves an incomplete set alone while it is being written).
    await utimes(join(s3.gateway.dataDir, BUCKET, dump), time, time);
    if (complete) {
      await putObject(s3, BUCKET, `${prefix}manifest.json`, fabricatedManifest(owner, new Date()));
    }
    return stamp;
  }

  async function stamps(): Promise<string[]> {
    const keys = await listKeys(s3, BUCKET, DIR_KEY);
    return [...new Set(keys.map((k) => k.key.slice(DIR_KEY.length).split('/')[0] ?? ''))].sort();
  }

  test('deletes exactly the sets the rules say, never the newest, never another owner’s', async () => {
    const { keep1, keep2, keep3, count, old, weekly, job, stale, fresh } =
      await fabricateRetentionSets(fabricateSet);
    const r = await agent(pruneArgs(onS3, DIR, ['--keep-count=3', '--keep-days=30']));
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.report?.['retained'], 3, r.stdout);
    assert.equal(r.report['pruned'], 3, r.stdout);
    assert.deepEqual(deletedOf(r), [
      [`${DIR}${old}/`, 'Count'],
      [`${DIR}${count}/`, 'Count'],
      [`${DIR}${stale}/`, 'Incomplete'],
    ]);
    assert.deepEqual(await stamps(), [keep1, keep2, keep3, weekly, job, fresh].sort());

    // keep-count 1 leaves the newest only; again, the others are untouched.
    const again = await agent(pruneArgs(onS3, DIR, ['--keep-count=1']));
    assert.equal(again.exitCode, 0, again.stderr);
    assert.deepEqual(await stamps(), [keep1, weekly, job, fresh].sort());
  });

  test('upload with --keep-count prunes the SiteBackup’s older sets once the new one is complete', async () => {
    const dirKey = 'with-retention/production/acme/';
    await fabricateSet(1, 'daily', true, dirKey);
    const weekly = await fabricateSet(2, 'weekly', true, dirKey);
    const r = await agent(uploadArgs(backup.dir, `s3://${BUCKET}/${dirKey}`, ['--keep-count=1']));
    assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual(r.report?.['retention'], { retained: 1, pruned: 1 });
    const listed = JSON.parse(
      (await agent(['list', `--destination=s3://${BUCKET}/${dirKey}`, ...s3.agentFlags()])).stdout,
    ) as { sets: { location: string }[] };
    assert.deepEqual(
      listed.sets.map((s) => s.location),
      [r.report['location'], `s3://${BUCKET}/${dirKey}${weekly}/`],
    );
  });
});

/** Uploads the fabricated backup again under another prefix; its set's URL and key prefix. */
async function uploadCopy(name: string): Promise<{ url: string; prefix: string }> {
  const url = await agentUploadCopy(onS3, backup, `s3://${BUCKET}/${name}/production/acme/`);
  return { url, prefix: url.slice(`s3://${BUCKET}/`.length) };
}
