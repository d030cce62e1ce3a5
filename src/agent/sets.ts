// Backup sets (API.md §3.5): `<prefix>/<namespace>/<site>/<YYYYMMDDTHHMMSSZ>/`, each holding
// Frappe's files and, once complete, manifest.json — in a bucket or on a claim alike (storage.ts).
// Listing the sets under a site's directory with their manifests, reading one set's manifest,
// and deleting sets.
import { AgentError } from './errors.ts';
import { child, formatLocation, isDirectoryKey, type Location } from './location.ts';
import { MANIFEST_NAME, manifestSize, parseManifest, type Manifest } from './manifest.ts';
import type { RetentionCandidate } from './retention.ts';
import type { Storage, StoredObject } from './storage.ts';
import { parseSetTimestamp } from './timestamp.ts';
import { readText } from './transfer.ts';

export interface BackupSet extends RetentionCandidate {
  /** The directory name, `YYYYMMDDTHHMMSSZ`. */
  timestamp: string;
  /** `s3://bucket/…/<timestamp>/` or `pvc://claim/…/<timestamp>/`. */
  location: string;
  /** The set's key prefix, ending in `/`. */
  prefix: string;
  /** Everything in it, directory markers included. */
  objects: StoredObject[];
  /** The manifest, when the set is complete and its manifest.json could be read. */
  manifest: Manifest | undefined;
  /** Why manifest.json could not be read, when it exists but is broken. */
  manifestError: string | undefined;
}

/**
 * The sets under a site's prefix (`dir.key` ends in `/`), newest first, with their manifests.
 * Objects that are not inside a `<timestamp>/` directory are ignored.
 */
export async function listSets(storage: Storage, dir: Location): Promise<BackupSet[]> {
  const groups = new Map<string, { time: Date; objects: StoredObject[] }>();
  const isSetName = (name: string) => parseSetTimestamp(name) !== undefined;
  for (const o of await storage.list(dir, isSetName)) {
    const rest = o.key.slice(dir.key.length);
    const slash = rest.indexOf('/');
    if (slash <= 0) continue;
    const name = rest.slice(0, slash);
    const time = parseSetTimestamp(name);
    if (time === undefined) continue;
    const group = groups.get(name) ?? { time, objects: [] };
    group.objects.push(o);
    groups.set(name, group);
  }
  const sets: BackupSet[] = [];
  for (const [timestamp, { time, objects }] of groups) {
    const set = child(dir, `${timestamp}/`);
    const complete = objects.some((o) => o.key === `${set.key}${MANIFEST_NAME}`);
    let manifest: Manifest | undefined;
    let manifestError: string | undefined;
    if (complete) {
      try {
        manifest = await readManifest(storage, set);
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
      location: formatLocation(set),
      prefix: set.key,
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

/**
 * The manifest of the set at `set` (a directory). A missing manifest.json is IncompleteSet, an
 * unreadable one InvalidManifest.
 */
export async function readManifest(storage: Storage, set: Location): Promise<Manifest> {
  const loc = child(set, MANIFEST_NAME);
  let text: string;
  try {
    text = await readText(storage, loc);
  } catch (e) {
    if (e instanceof AgentError && e.reason === 'NoSuchKey') {
      throw new AgentError(
        'IncompleteSet',
        `${formatLocation(set)} has no ${MANIFEST_NAME}: it is not a complete backup set (its upload did not finish, or the URL is wrong); \`frappe-operator backup-agent list\` shows the complete sets`,
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
      `${formatLocation(loc)} is not a valid backup manifest: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
}

/** Deletes everything in the given sets (all under `root`). */
export async function deleteSets(
  storage: Storage,
  root: string,
  sets: readonly BackupSet[],
): Promise<void> {
  await storage.delete(
    root,
    sets.flatMap((s) => s.objects.map((o) => o.key)),
  );
}

/** The report line of a set in `list`. */
export function describeSet(s: BackupSet): Record<string, unknown> {
  const objects = s.objects.filter((o) => !isDirectoryKey(o.key));
  return {
    location: s.location,
    timestamp: s.timestamp,
    complete: s.complete,
    objects: objects.length,
    sizeBytes:
      s.manifest === undefined
        ? objects.reduce((sum, o) => sum + o.sizeBytes, 0)
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
