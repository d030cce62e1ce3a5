// Backup sets in a bucket (API.md §3.5): `<prefix>/<namespace>/<site>/<YYYYMMDDTHHMMSSZ>/`, each
// holding Frappe's files and, once complete, manifest.json. Listing (ListObjectsV2 under the
// site's prefix, GetObject of each manifest), reading one set's manifest, and deleting sets
// (DeleteObjects, 1000 keys a call).
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  paginateListObjectsV2,
  type _Object,
} from '@aws-sdk/client-s3';
import { AgentError } from './errors.ts';
import type { Store } from './client.ts';
import { MANIFEST_NAME, manifestSize, parseManifest, type Manifest } from './manifest.ts';
import type { RetentionCandidate } from './retention.ts';
import { formatS3Url, type S3Location } from './s3-url.ts';
import { parseSetTimestamp } from './timestamp.ts';

export interface SetObject {
  key: string;
  sizeBytes: number;
  lastModified: Date | undefined;
}

export interface BackupSet extends RetentionCandidate {
  /** The directory name, `YYYYMMDDTHHMMSSZ`. */
  timestamp: string;
  /** `s3://bucket/…/<timestamp>/`. */
  location: string;
  /** The set's key prefix, ending in `/`. */
  prefix: string;
  objects: SetObject[];
  /** The manifest, when the set is complete and its manifest.json could be read. */
  manifest: Manifest | undefined;
  /** Why manifest.json could not be read, when it exists but is broken. */
  manifestError: string | undefined;
}

/** Every object under a key prefix (paginated). */
export async function listObjects(store: Store, loc: S3Location): Promise<SetObject[]> {
  const out: SetObject[] = [];
  try {
    for await (const page of paginateListObjectsV2(
      { client: store.client },
      { Bucket: loc.bucket, Prefix: loc.key },
    )) {
      for (const o of page.Contents ?? []) out.push(toSetObject(o));
    }
  } catch (e) {
    throw store.explain(e, `list ${formatS3Url(loc)}`, loc.bucket);
  }
  return out;
}

function toSetObject(o: _Object): SetObject {
  return { key: o.Key ?? '', sizeBytes: o.Size ?? 0, lastModified: o.LastModified };
}

/**
 * The sets under a site's prefix (`dir.key` ends in `/`), newest first, with their manifests.
 * Objects that are not inside a `<timestamp>/` directory are ignored.
 */
export async function listSets(store: Store, dir: S3Location): Promise<BackupSet[]> {
  const groups = new Map<string, SetObject[]>();
  for (const o of await listObjects(store, dir)) {
    const rest = o.key.slice(dir.key.length);
    const slash = rest.indexOf('/');
    if (slash <= 0) continue;
    const name = rest.slice(0, slash);
    if (parseSetTimestamp(name) === undefined) continue;
    const group = groups.get(name) ?? [];
    group.push(o);
    groups.set(name, group);
  }
  const sets: BackupSet[] = [];
  for (const [timestamp, objects] of groups) {
    const time = parseSetTimestamp(timestamp);
    if (time === undefined) continue;
    const prefix = `${dir.key}${timestamp}/`;
    const complete = objects.some((o) => o.key === `${prefix}${MANIFEST_NAME}`);
    let manifest: Manifest | undefined;
    let manifestError: string | undefined;
    if (complete) {
      try {
        manifest = await readManifest(store, { bucket: dir.bucket, key: prefix });
      } catch (e) {
        if (!(e instanceof AgentError) || e.reason !== 'InvalidManifest') throw e;
        manifestError = e.message;
      }
    }
    const lastModified = objects.reduce<Date | undefined>(
      (latest, o) =>
        o.lastModified !== undefined && (latest === undefined || o.lastModified > latest)
          ? o.lastModified
          : latest,
      undefined,
    );
    sets.push({
      timestamp,
      time,
      location: formatS3Url({ bucket: dir.bucket, key: prefix }),
      prefix,
      objects,
      complete,
      sitebackup: manifest?.sitebackup,
      lastModified,
      manifest,
      manifestError,
    });
  }
  return sets.sort((a, b) => b.time.getTime() - a.time.getTime());
}

/** The whole body of an object as a string. */
export async function getText(store: Store, loc: S3Location): Promise<string> {
  try {
    const res = await store.client.send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }));
    if (res.Body === undefined) throw new Error('empty response body');
    return await res.Body.transformToString('utf8');
  } catch (e) {
    throw store.explain(e, `read ${formatS3Url(loc)}`, loc.bucket);
  }
}

/**
 * The manifest of the set at `set` (a directory). A missing manifest.json is IncompleteSet, an
 * unreadable one InvalidManifest.
 */
export async function readManifest(store: Store, set: S3Location): Promise<Manifest> {
  const loc = { bucket: set.bucket, key: `${set.key}${MANIFEST_NAME}` };
  let text: string;
  try {
    text = await getText(store, loc);
  } catch (e) {
    if (e instanceof AgentError && e.reason === 'NoSuchKey') {
      throw new AgentError(
        'IncompleteSet',
        `${formatS3Url(set)} has no ${MANIFEST_NAME}: it is not a complete backup set (its upload did not finish, or the URL is wrong); \`frappe-operator backup-agent list\` shows the complete sets`,
        { cause: e },
      );
    }
    throw e;
  }
  try {
    return parseManifest(text);
  } catch (e) {
    throw new AgentError(
      'InvalidManifest',
      `${formatS3Url(loc)} is not a valid backup manifest: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
}

/** Deletes every object of the given sets; returns how many objects went. */
export async function deleteSets(
  store: Store,
  bucket: string,
  sets: readonly BackupSet[],
): Promise<number> {
  const keys = sets.flatMap((s) => s.objects.map((o) => o.key));
  let deleted = 0;
  for (let i = 0; i < keys.length; i += 1000) {
    const batch = keys.slice(i, i + 1000);
    try {
      const res = await store.client.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      const failed = res.Errors ?? [];
      if (failed.length > 0) {
        const first = failed[0];
        throw store.explain(
          { Code: first?.Code, message: first?.Message },
          `delete s3://${bucket}/${first?.Key ?? ''} (and ${failed.length - 1} more)`,
          bucket,
        );
      }
      deleted += batch.length;
    } catch (e) {
      throw store.explain(e, `delete ${batch.length} objects from s3://${bucket}`, bucket);
    }
  }
  return deleted;
}

/** The report line of a set in `list`. */
export function describeSet(s: BackupSet): Record<string, unknown> {
  return {
    location: s.location,
    timestamp: s.timestamp,
    complete: s.complete,
    objects: s.objects.length,
    sizeBytes:
      s.manifest === undefined
        ? s.objects.reduce((sum, o) => sum + o.sizeBytes, 0)
        : manifestSize(s.manifest),
    ...(s.manifest === undefined
      ? {}
      : {
          ...(s.manifest.sitebackup === undefined ? {} : { sitebackup: s.manifest.sitebackup }),
          ...(s.manifest.sitejob === undefined ? {} : { sitejob: s.manifest.sitejob }),
          completionTime: s.manifest.completionTime,
          files: s.manifest.files.map((f) => f.name),
        }),
    ...(s.manifestError === undefined ? {} : { manifestError: s.manifestError }),
  };
}
