// A backup set's manifest.json (API.md §3.5): who made the set, from what, and every file with
// its size and SHA-256. It is written last, so a set without it is incomplete. Pure: building,
// serialising and checking a manifest read back from the store (which may be anything).

export const MANIFEST_NAME = 'manifest.json';
export const MANIFEST_VERSION = 1;

export interface ManifestFile {
  name: string;
  sizeBytes: number;
  /** Lowercase hex. */
  sha256: string;
}

export interface Manifest {
  version: 1;
  namespace: string;
  /** The FrappeSite's name. */
  site: string;
  /** The Frappe site name (spec.siteName). */
  siteName: string;
  /** The SiteBackup that made the set (retention considers only its own sets), … */
  sitebackup?: string;
  /** … or the SiteJob. */
  sitejob?: string;
  /** RFC 3339. */
  startTime: string;
  completionTime: string;
  /** The bench image the backup was taken with. */
  image?: string;
  frappeVersion?: string;
  apps: string[];
  files: ManifestFile[];
}

/**
 * A name the agent accepts as a file of a set: one path segment, no `manifest.json`, nothing a
 * download could turn into a path outside its destination.
 */
export function isPlainFileName(name: string): boolean {
  return (
    name !== '' &&
    name !== '.' &&
    name !== '..' &&
    name !== MANIFEST_NAME &&
    !name.includes('/') &&
    !name.includes('\\') &&
    !name.includes('\0') &&
    name.length <= 255
  );
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses manifest.json; throws an Error naming the first thing wrong. */
export function parseManifest(text: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`not JSON (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
  if (!isRecord(raw)) throw new Error('not a JSON object');
  if (raw['version'] !== MANIFEST_VERSION) {
    throw new Error(`version ${JSON.stringify(raw['version'])}: this agent reads version 1`);
  }
  const str = (key: string, required: boolean): string | undefined => {
    const v = raw[key];
    if (v === undefined || v === null) {
      if (required) throw new Error(`${key} is missing`);
      return undefined;
    }
    if (typeof v !== 'string') throw new Error(`${key} is not a string`);
    return v;
  };
  const apps = raw['apps'] ?? [];
  if (!Array.isArray(apps) || !apps.every((a) => typeof a === 'string')) {
    throw new Error('apps is not a list of strings');
  }
  const files = raw['files'];
  if (!Array.isArray(files)) throw new Error('files is not a list');
  const seen = new Set<string>();
  const parsed = files.map((f, i): ManifestFile => {
    if (!isRecord(f)) throw new Error(`files[${i}] is not an object`);
    const { name, sizeBytes, sha256 } = f;
    if (typeof name !== 'string' || !isPlainFileName(name)) {
      throw new Error(`files[${i}].name ${JSON.stringify(name)} is not a plain file name`);
    }
    if (seen.has(name)) throw new Error(`files names ${name} twice`);
    seen.add(name);
    if (typeof sizeBytes !== 'number' || !Number.isSafeInteger(sizeBytes) || sizeBytes < 0) {
      throw new Error(`files[${i}].sizeBytes is not a byte count`);
    }
    if (typeof sha256 !== 'string' || !SHA256_HEX.test(sha256)) {
      throw new Error(`files[${i}].sha256 is not 64 lowercase hex digits`);
    }
    return { name, sizeBytes, sha256 };
  });
  const sitebackup = str('sitebackup', false);
  const sitejob = str('sitejob', false);
  const image = str('image', false);
  const frappeVersion = str('frappeVersion', false);
  return {
    version: MANIFEST_VERSION,
    namespace: str('namespace', true) ?? '',
    site: str('site', true) ?? '',
    siteName: str('siteName', true) ?? '',
    ...(sitebackup === undefined ? {} : { sitebackup }),
    ...(sitejob === undefined ? {} : { sitejob }),
    startTime: str('startTime', true) ?? '',
    completionTime: str('completionTime', true) ?? '',
    ...(image === undefined ? {} : { image }),
    ...(frappeVersion === undefined ? {} : { frappeVersion }),
    apps,
    files: parsed,
  };
}

/** The manifest's bytes: stable key order, one trailing newline. */
export function serializeManifest(m: Manifest): string {
  return `${JSON.stringify(m, null, 2)}\n`;
}

/** Sum of the set's file sizes (the manifest itself not counted). */
export const manifestSize = (m: Manifest): number =>
  m.files.reduce((sum, f) => sum + f.sizeBytes, 0);
