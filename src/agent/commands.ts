// What each `frappe-operator backup-agent` command does, on parsed options (index.ts parses the
// flags and reports). Each resolves with its report, or throws an AgentError.
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentError } from './errors.ts';
import {
  baseName,
  child,
  formatLocation,
  isDirectory,
  isDirectoryKey,
  type Location,
} from './location.ts';
import type { AgentLogger } from './log.ts';
import {
  isPlainFileName,
  MANIFEST_NAME,
  MANIFEST_VERSION,
  manifestSize,
  serializeManifest,
  type Manifest,
  type ManifestFile,
} from './manifest.ts';
import { retentionDecision, type PruneReason } from './retention.ts';
import { deleteSets, describeSet, listSets, readManifest } from './sets.ts';
import type { Storage } from './storage.ts';
import { formatSetTimestamp } from './timestamp.ts';
import { checkObject, downloadFile, uploadFile } from './transfer.ts';

export type Report = Record<string, unknown>;

/** The manifest's fields that do not come from the files. */
export interface SetIdentity {
  namespace: string;
  site: string;
  siteName: string;
  sitebackup: string | undefined;
  sitejob: string | undefined;
  image: string | undefined;
  frappeVersion: string | undefined;
  apps: string[];
  /** RFC 3339; default: when the agent started. */
  startTime: string | undefined;
}

export interface Retention {
  keepCount: number | undefined;
  keepDays: number | undefined;
}

export interface UploadOptions {
  source: string;
  /** The site's directory of sets (key ends in `/`). */
  destination: Location;
  identity: SetIdentity;
  /** Applied to the SiteBackup's sets once the new set is complete. */
  retention: Retention | undefined;
  now: () => Date;
}

/** The regular files of the backup directory, by name. */
async function sourceFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new AgentError(
      code === 'ENOENT' ? 'SourceNotFound' : 'InvalidSource',
      code === 'ENOENT'
        ? `--source=${dir} does not exist: the backup step wrote nothing there`
        : `cannot read --source=${dir} (${code ?? String(e)})`,
      { cause: e },
    );
  }
  const names: string[] = [];
  for (const e of entries) {
    if (!e.isFile()) {
      throw new AgentError(
        'InvalidSource',
        `--source=${dir} holds ${e.name}, which is not a regular file: the agent uploads the flat directory bench backup writes`,
      );
    }
    if (!isPlainFileName(e.name)) {
      throw new AgentError(
        'InvalidSource',
        `--source=${dir} holds ${e.name}, a name a backup set cannot hold (${MANIFEST_NAME} is the agent's own)`,
      );
    }
    names.push(e.name);
  }
  if (names.length === 0) {
    throw new AgentError(
      'SourceNotFound',
      `--source=${dir} is empty: the backup step wrote no files; see the backup container's log`,
    );
  }
  return names.sort();
}

export async function upload(
  storage: Storage,
  opts: UploadOptions,
  log: AgentLogger,
): Promise<Report> {
  const started = opts.now();
  const names = await sourceFiles(opts.source);
  const timestamp = formatSetTimestamp(started);
  const set = child(opts.destination, `${timestamp}/`);
  const location = formatLocation(set);
  log.info({ location, files: names }, 'uploading backup set');

  const files: ManifestFile[] = [];
  for (const name of names) {
    const done = await uploadFile(storage, join(opts.source, name), child(set, name), log);
    files.push({ name, ...done });
    log.info({ file: name, sizeBytes: done.sizeBytes, sha256: done.sha256 }, 'uploaded');
  }
  const id = opts.identity;
  const manifest: Manifest = {
    version: MANIFEST_VERSION,
    namespace: id.namespace,
    site: id.site,
    siteName: id.siteName,
    ...(id.sitebackup === undefined ? {} : { sitebackup: id.sitebackup }),
    ...(id.sitejob === undefined ? {} : { sitejob: id.sitejob }),
    startTime: id.startTime ?? started.toISOString(),
    completionTime: opts.now().toISOString(),
    ...(id.image === undefined ? {} : { image: id.image }),
    ...(id.frappeVersion === undefined ? {} : { frappeVersion: id.frappeVersion }),
    apps: id.apps,
    files,
  };
  // Last: its presence is what makes the set complete.
  await storage.putBytes(
    child(set, MANIFEST_NAME),
    Buffer.from(serializeManifest(manifest)),
    'application/json',
  );
  const sizeBytes = manifestSize(manifest);
  log.info({ location, sizeBytes }, 'backup set complete');
  const report: Report = { location, sizeBytes };

  if (opts.retention !== undefined && id.sitebackup !== undefined) {
    try {
      const pruned = await prune(
        storage,
        {
          destination: opts.destination,
          sitebackup: id.sitebackup,
          ...opts.retention,
          dryRun: false,
          now: opts.now,
        },
        log,
      );
      report['retention'] = { retained: pruned['retained'], pruned: pruned['pruned'] };
    } catch (e) {
      // The set is safe; the failed pass is reported for the SiteBackup's RetentionApplied.
      const err = e instanceof AgentError ? e : new AgentError('InternalError', String(e));
      log.warn({ reason: err.reason, message: err.message }, 'retention failed');
      report['retention'] = { error: err.reason, message: err.message };
    }
  }
  return report;
}

export interface DownloadOptions {
  /** A `.sql.gz` object, or a set directory (key ends in `/`). */
  source: Location;
  files: Location | undefined;
  privateFiles: Location | undefined;
  destination: string;
}

export async function download(
  storage: Storage,
  opts: DownloadOptions,
  log: AgentLogger,
): Promise<Report> {
  await mkdir(opts.destination, { recursive: true });
  const written = new Set<string>();
  let sizeBytes = 0;
  const fetch = async (src: Location, name: string, expected?: ManifestFile) => {
    if (written.has(name)) {
      throw new AgentError(
        'InvalidArguments',
        `${formatLocation(src)}: a file named ${name} is already part of this restore; point --files/--private-files at other objects, or leave them out when the set has them`,
      );
    }
    const done = await downloadFile(storage, src, join(opts.destination, name), name, expected);
    written.add(name);
    sizeBytes += done.sizeBytes;
    log.info(
      {
        file: name,
        sizeBytes: done.sizeBytes,
        sha256: done.sha256,
        verified: expected !== undefined,
      },
      'downloaded',
    );
  };

  if (isDirectory(opts.source)) {
    const manifest = await readManifest(storage, opts.source);
    log.info(
      { location: formatLocation(opts.source), files: manifest.files.map((f) => f.name) },
      'downloading backup set',
    );
    for (const f of manifest.files) await fetch(child(opts.source, f.name), f.name, f);
  } else {
    await fetch(opts.source, plainName(opts.source, '--source'));
  }
  for (const [extra, flag] of [
    [opts.files, '--files'],
    [opts.privateFiles, '--private-files'],
  ] as const) {
    if (extra !== undefined) await fetch(extra, plainName(extra, flag));
  }
  return { location: formatLocation(opts.source), sizeBytes, files: written.size };
}

function plainName(loc: Location, flag: string): string {
  const name = baseName(loc.key);
  if (!isPlainFileName(name)) {
    throw new AgentError('InvalidArguments', `${flag}=${formatLocation(loc)} does not name a file`);
  }
  return name;
}

/** Re-reads every file of a set and checks its size and SHA-256 against the manifest. */
export async function verify(storage: Storage, set: Location, log: AgentLogger): Promise<Report> {
  const manifest = await readManifest(storage, set);
  const problems: AgentError[] = [];
  for (const f of manifest.files) {
    try {
      await checkObject(storage, child(set, f.name), f.name, f);
      log.info({ file: f.name, sizeBytes: f.sizeBytes }, 'verified');
    } catch (e) {
      if (!(e instanceof AgentError)) throw e;
      problems.push(e);
    }
  }
  const first = problems[0];
  if (first !== undefined) {
    throw new AgentError(
      first.reason,
      problems.length === 1
        ? first.message
        : `${problems.length} of the set's ${manifest.files.length} files are damaged: ${problems.map((p) => p.message).join('; ')}`,
    );
  }
  const listed = new Set([...manifest.files.map((f) => f.name), MANIFEST_NAME]);
  const unlisted = (await storage.list(set))
    .map((o) => o.key.slice(set.key.length))
    .filter((name) => !isDirectoryKey(name) && !listed.has(name));
  return {
    location: formatLocation(set),
    sizeBytes: manifestSize(manifest),
    files: manifest.files.length,
    verified: true,
    ...(unlisted.length === 0 ? {} : { unlisted }),
  };
}

export async function list(storage: Storage, dir: Location): Promise<Report> {
  const sets = await listSets(storage, dir);
  return { location: formatLocation(dir), sets: sets.map(describeSet) };
}

export interface PruneOptions extends Retention {
  destination: Location;
  sitebackup: string;
  dryRun: boolean;
  now: () => Date;
}

export async function prune(
  storage: Storage,
  opts: PruneOptions,
  log: AgentLogger,
): Promise<Report> {
  const sets = await listSets(storage, opts.destination);
  for (const s of sets) {
    if (s.manifestError !== undefined) {
      log.warn(
        { location: s.location, problem: s.manifestError },
        'set with an unreadable manifest left alone',
      );
    }
  }
  const decision = retentionDecision(
    sets,
    { sitebackup: opts.sitebackup, keepCount: opts.keepCount, keepDays: opts.keepDays },
    opts.now(),
  );
  const deleted: { location: string; reason: PruneReason }[] = decision.delete.map((d) => ({
    location: d.set.location,
    reason: d.reason,
  }));
  if (!opts.dryRun && decision.delete.length > 0) {
    await deleteSets(
      storage,
      opts.destination.root,
      decision.delete.map((d) => d.set),
    );
  }
  log.info(
    {
      location: formatLocation(opts.destination),
      retained: decision.retained.length,
      pruned: deleted.length,
      dryRun: opts.dryRun,
    },
    'retention applied',
  );
  return {
    location: formatLocation(opts.destination),
    retained: decision.retained.length,
    pruned: deleted.length,
    dryRun: opts.dryRun,
    deleted,
  };
}
