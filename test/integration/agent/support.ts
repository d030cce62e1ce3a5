// What the backup agent's tests share: a directory as `bench --site <site> backup --with-files`
// leaves it (Frappe's real file names), checksums of local files, objects read or written behind
// the agent's back through the test's own S3 client, and the runs and checks that are the same on
// every storage (agent.test.ts on S3, pvc.test.ts on a claim): the upload's flags, report and
// manifest, list, verify, download, a failure's report, and fabricated sets for prune.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { parseSetTimestamp } from '../../../src/agent/timestamp.ts';
import type { AgentResult } from '../../harness/agent.ts';
import type { TestS3 } from '../../harness/s3.ts';

export const MiB = 1024 * 1024;

export interface FabricatedBackup {
  dir: string;
  /** File name → SHA-256 (hex). */
  sha256: Record<string, string>;
  /** File name → size in bytes. */
  sizes: Record<string, number>;
  sizeBytes: number;
  names: { database: string; files: string; privateFiles: string; siteConfig: string };
}

/**
 * Fills `dir` with what `bench backup --with-files` writes for `siteName` at `stamp`
 * (`<stamp>-<site_slug>-database.sql.gz`, `-files.tar`, `-private-files.tar`,
 * `-site_config_backup.json`); the private files tar is `privateFilesBytes` long.
 */
export async function fabricateBackup(
  dir: string,
  opts: { siteName?: string; stamp?: string; privateFilesBytes?: number } = {},
): Promise<FabricatedBackup> {
  const siteName = opts.siteName ?? 'acme.example.com';
  const stamp = opts.stamp ?? '20260102_020000';
  // Frappe's BackupGenerator: the site name with dots replaced, as the file name's middle.
  const prefix = `${stamp}-${siteName.replaceAll('.', '_')}`;
  const names = {
    database: `${prefix}-database.sql.gz`,
    files: `${prefix}-files.tar`,
    privateFiles: `${prefix}-private-files.tar`,
    siteConfig: `${prefix}-site_config_backup.json`,
  };
  await mkdir(dir, { recursive: true });
  const sql = `-- MariaDB dump of ${siteName}\nCREATE TABLE \`tabNote\` (name varchar(140));\n${"INSERT INTO `tabNote` VALUES ('x');\n".repeat(2000)}`;
  await writeFile(join(dir, names.database), gzipSync(sql));
  await writeFile(join(dir, names.files), randomBytes(256 * 1024));
  await writeFile(join(dir, names.privateFiles), randomBytes(opts.privateFilesBytes ?? 64 * 1024));
  await writeFile(
    join(dir, names.siteConfig),
    JSON.stringify({ db_name: '_abc', db_password: 'not-a-real-password', encryption_key: 'k' }),
  );
  const sha256: Record<string, string> = {};
  const sizes: Record<string, number> = {};
  let sizeBytes = 0;
  for (const name of await readdir(dir)) {
    const data = await readFile(join(dir, name));
    sha256[name] = createHash('sha256').update(data).digest('hex');
    sizes[name] = data.length;
    sizeBytes += data.length;
  }
  return { dir, sha256, sizes, sizeBytes, names };
}

export const sha256Of = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** File name → SHA-256 of every file in `dir`. */
export async function checksums(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of await readdir(dir)) out[name] = sha256Of(await readFile(join(dir, name)));
  return out;
}

export async function getObjectBytes(s3: TestS3, bucket: string, key: string): Promise<Buffer> {
  const res = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (res.Body === undefined) throw new Error(`s3://${bucket}/${key}: no body`);
  return Buffer.from(await res.Body.transformToByteArray());
}

export async function putObject(
  s3: TestS3,
  bucket: string,
  key: string,
  body: Buffer | string,
): Promise<void> {
  await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

/** Every key under `prefix`, with its size and modification time. */
export async function listKeys(
  s3: TestS3,
  bucket: string,
  prefix: string,
): Promise<{ key: string; size: number; lastModified: Date | undefined }[]> {
  const out: { key: string; size: number; lastModified: Date | undefined }[] = [];
  let token: string | undefined;
  do {
    const page = await s3.client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) {
      out.push({ key: o.Key ?? '', size: o.Size ?? 0, lastModified: o.LastModified });
    }
    token = page.NextContinuationToken;
  } while (token !== undefined);
  return out;
}

/** The agent as a test file runs it on its storage. */
export interface AgentOnStorage {
  /** Runs `backup-agent args…` (and may keep its output). */
  run(args: string[]): Promise<AgentResult>;
  /** The storage flags: S3's endpoint and credentials, or --pvc-mount. */
  flags(): string[];
}

/** An upload of the fabricated backup for SiteBackup `daily` of site acme in production. */
export const uploadArgs = (
  on: AgentOnStorage,
  source: string,
  destination: string,
  extra: string[] = [],
): string[] => [
  'upload',
  `--source=${source}`,
  `--destination=${destination}`,
  '--namespace=production',
  '--site=acme',
  '--site-name=acme.example.com',
  '--sitebackup=daily',
  '--image=docker.io/frappe/erpnext:v15.38.0',
  '--frappe-version=15.38.0',
  '--apps=frappe,erpnext',
  ...extra,
  ...on.flags(),
];

/** A failed run: its exit code, and the reason and message of its report. */
export function expectFailure(r: AgentResult, reason: string, message: RegExp, exitCode = 1): void {
  assert.equal(r.exitCode, exitCode, `exit code; stderr:\n${r.stderr}`);
  assert.equal(r.report?.['error'], reason, r.terminationMessage);
  assert.match(String(r.report['message']), message);
}

/** The timestamp of `location` when it is a set directly under `siteDir`. */
export function stampOf(location: string, siteDir: string): string | undefined {
  if (!location.startsWith(siteDir)) return undefined;
  return /^(\d{8}T\d{6}Z)\/$/.exec(location.slice(siteDir.length))?.[1];
}

/**
 * A successful upload of `backup`: a new set under `siteDir` named for a time from `since` (ms) to
 * now, its size reported, on stdout too. The set's URL and timestamp.
 */
export function expectNewSet(
  r: AgentResult,
  siteDir: string,
  since: number,
  backup: FabricatedBackup,
): { location: string; stamp: string } {
  assert.equal(r.exitCode, 0, r.stderr);
  const location = String(r.report?.['location']);
  const stamp = stampOf(location, siteDir);
  assert.ok(stamp !== undefined, `location ${location}`);
  const stampMs = parseSetTimestamp(stamp)?.getTime() ?? NaN;
  assert.ok(stampMs >= Math.floor(since / 1000) * 1000 && stampMs <= Date.now(), stamp);
  assert.deepEqual(r.report, { location, sizeBytes: backup.sizeBytes });
  assert.deepEqual(JSON.parse(r.stdout.trim()), r.report, 'the report is on stdout too');
  return { location, stamp };
}

/** manifest.json of an upload (uploadArgs) of `backup`: every field, and its times in order. */
export function expectUploadedManifest(text: string, backup: FabricatedBackup): void {
  const manifest = JSON.parse(text) as Record<string, unknown>;
  assert.deepEqual(
    { ...manifest, startTime: undefined, completionTime: undefined },
    {
      version: 1,
      namespace: 'production',
      site: 'acme',
      siteName: 'acme.example.com',
      sitebackup: 'daily',
      startTime: undefined,
      completionTime: undefined,
      image: 'docker.io/frappe/erpnext:v15.38.0',
      frappeVersion: '15.38.0',
      apps: ['frappe', 'erpnext'],
      files: Object.keys(backup.sha256)
        .sort()
        .map((name) => ({ name, sizeBytes: backup.sizes[name], sha256: backup.sha256[name] })),
    },
  );
  assert.ok(
    Date.parse(String(manifest['completionTime'])) >= Date.parse(String(manifest['startTime'])),
  );
}

/** `list` of `siteDir` shows the one set `setUrl` of `backup`: complete, with its owner and files. */
export async function expectListsSet(
  on: AgentOnStorage,
  siteDir: string,
  setUrl: string,
  backup: FabricatedBackup,
): Promise<void> {
  const r = await on.run(['list', `--destination=${siteDir}`, ...on.flags()]);
  assert.equal(r.exitCode, 0, r.stderr);
  const listed = JSON.parse(r.stdout) as { location: string; sets: Record<string, unknown>[] };
  assert.equal(listed.location, siteDir);
  assert.deepEqual(
    listed.sets.map((s) => ({ ...s, completionTime: undefined })),
    [
      {
        location: setUrl,
        timestamp: stampOf(setUrl, siteDir),
        complete: true,
        objects: 5,
        sizeBytes: backup.sizeBytes,
        sitebackup: 'daily',
        completionTime: undefined,
        files: Object.keys(backup.sha256).sort(),
      },
    ],
  );
}

/** `verify` re-reads the set `setUrl` of `backup` and finds it whole. */
export async function expectVerifies(
  on: AgentOnStorage,
  setUrl: string,
  backup: FabricatedBackup,
): Promise<void> {
  const r = await on.run(['verify', `--source=${setUrl}`, ...on.flags()]);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.deepEqual(r.report, {
    location: setUrl,
    sizeBytes: backup.sizeBytes,
    files: 4,
    verified: true,
  });
}

/** `download` of the set `setUrl` to `dest` fetches every file of `backup`, checksums verified. */
export async function expectDownloadsSet(
  on: AgentOnStorage,
  setUrl: string,
  dest: string,
  backup: FabricatedBackup,
): Promise<void> {
  const r = await on.run([
    'download',
    `--source=${setUrl}`,
    `--destination=${dest}`,
    ...on.flags(),
  ]);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.deepEqual(r.report, { location: setUrl, sizeBytes: backup.sizeBytes, files: 4 });
  assert.deepEqual(await checksums(dest), backup.sha256);
  assert.match(r.stderr, /"verified":true/);
}

/** `download` of the set's dump with --files and --private-files fetches those three to `dest`. */
export async function expectDownloadsObjects(
  on: AgentOnStorage,
  setUrl: string,
  dest: string,
  backup: FabricatedBackup,
): Promise<void> {
  const r = await on.run([
    'download',
    `--source=${setUrl}${backup.names.database}`,
    `--files=${setUrl}${backup.names.files}`,
    `--private-files=${setUrl}${backup.names.privateFiles}`,
    `--destination=${dest}`,
    ...on.flags(),
  ]);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(r.report?.['files'], 3);
  assert.deepEqual(await checksums(dest), {
    [backup.names.database]: backup.sha256[backup.names.database],
    [backup.names.files]: backup.sha256[backup.names.files],
    [backup.names.privateFiles]: backup.sha256[backup.names.privateFiles],
  });
}

/** Uploads `backup` again under `destination`; the new set's URL. */
export async function uploadCopy(
  on: AgentOnStorage,
  backup: FabricatedBackup,
  destination: string,
): Promise<string> {
  const r = await on.run(uploadArgs(on, backup.dir, destination));
  assert.equal(r.exitCode, 0, r.stderr);
  return String(r.report?.['location']);
}

export const DAY = 86_400_000;

/**
 * The manifest.json of a fabricated set of one 4-byte dump, made by `owner` (a SiteBackup, or a
 * SiteJob when null), started and completed at `time`.
 */
export const fabricatedManifest = (owner: string | null, time: Date): string =>
  JSON.stringify({
    version: 1,
    namespace: 'production',
    site: 'acme',
    siteName: 'acme.example.com',
    ...(owner === null ? { sitejob: 'manual' } : { sitebackup: owner }),
    startTime: time.toISOString(),
    completionTime: time.toISOString(),
    apps: [],
    files: [{ name: 'x-database.sql.gz', sizeBytes: 4, sha256: 'a'.repeat(64) }],
  });

/**
 * The sets both prune tests start from, made by the test's `fabricateSet(daysAgo, owner,
 * complete)`: their timestamps, by the part each plays for `--keep-count=3 --keep-days=30`.
 */
export async function fabricateRetentionSets(
  fabricateSet: (daysAgo: number, owner: string | null, complete?: boolean) => Promise<string>,
) {
  return {
    keep1: await fabricateSet(1, 'daily'),
    keep2: await fabricateSet(2, 'daily'),
    keep3: await fabricateSet(3, 'daily'),
    count: await fabricateSet(4, 'daily'), // 4th newest with keep-count 3
    old: await fabricateSet(40, 'daily'), // older than keep-days 30
    weekly: await fabricateSet(50, 'weekly'), // another SiteBackup's
    job: await fabricateSet(60, null), // a SiteJob's
    stale: await fabricateSet(2.5, null, false), // incomplete, 2½ days old
    fresh: await fabricateSet(0.01, null, false), // incomplete, 15 minutes old
  };
}

/** `prune` of SiteBackup `daily`'s sets under `destination`, with the retention flags `extra`. */
export const pruneArgs = (on: AgentOnStorage, destination: string, extra: string[]): string[] => [
  'prune',
  `--destination=${destination}`,
  '--sitebackup=daily',
  ...extra,
  ...on.flags(),
];

/** A prune's report: each deleted set's location and reason. */
export const deletedOf = (r: AgentResult): [string, string][] =>
  (r.report?.['deleted'] as { location: string; reason: string }[]).map((d) => [
    d.location,
    d.reason,
  ]);
