// What the backup agent's tests share: a directory as `bench --site <site> backup --with-files`
// leaves it (Frappe's real file names), checksums of local files, and objects read or written
// behind the agent's back through the test's own S3 client.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
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
