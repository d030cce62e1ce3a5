// `frappe-operator backup-agent`: the backup agent that backup, SiteJob and restore Jobs run from
// the operator's own image (API.md §3.4, §3.5). It moves Frappe's backup files between a pod's
// directory and S3 (or an S3-compatible store) or a PersistentVolumeClaim the Job mounts, and
// keeps backup sets honest: a SHA-256 per file, manifest.json written last, checksums verified on
// the way back. The commands (commands.ts) are written once over a storage interface
// (storage.ts); the URLs choose the backend: s3:// (s3-storage.ts) or pvc:// (fs-storage.ts).
//
// Output: progress as JSON lines on stderr; the report as one JSON line on stdout and, for
// upload, download, verify and prune, in the container's termination message file
// ($TERMINATION_MESSAGE_PATH, default /dev/termination-log, at most 4096 bytes), where the
// operator reads it: `{"location", "sizeBytes", …}`, or `{"error": Reason, "message": …}` with
// exit code 1. Bad flags exit with 2.
//
// The agent never loads the Kubernetes client or the controllers (eslint's layering rule).
import { writeFile } from 'node:fs/promises';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import {
  download,
  list,
  prune,
  upload,
  verify,
  type Report,
  type Retention,
  type SetIdentity,
} from './commands.ts';
import { AgentError } from './errors.ts';
import { openPvcStorage } from './fs-storage.ts';
import {
  asDirectory,
  formatLocation,
  isDirectory,
  parseLocation,
  type Location,
} from './location.ts';
import { agentLogger } from './log.ts';
import { DEFAULT_TUNING, MIN_PART_SIZE, openS3Storage, type UploadTuning } from './s3-storage.ts';
import type { Storage } from './storage.ts';

export const USAGE = `usage: frappe-operator backup-agent COMMAND [flags]

  upload   --source=DIR --destination=DIR-URL
           --namespace=NS --site=SITE --site-name=NAME (--sitebackup=NAME | --sitejob=NAME)
           [--image=IMAGE] [--frappe-version=V] [--apps=frappe,erpnext] [--start-time=RFC3339]
           [--keep-count=N] [--keep-days=N]
           [--multipart-threshold=BYTES] [--part-size=BYTES] [--concurrency=N]  STORAGE-FLAGS
      Uploads every file of DIR to a new set <destination><YYYYMMDDTHHMMSSZ>/, then its
      manifest.json; with --keep-count/--keep-days it then prunes the SiteBackup's sets.
      The manifest fields may come from the environment instead: FRAPPE_BACKUP_NAMESPACE,
      _SITE, _SITE_NAME, _SITEBACKUP, _SITEJOB, _IMAGE, _FRAPPE_VERSION, _APPS, _START_TIME.
      The multipart flags are for S3 only.
  download --source=URL/KEY.sql.gz|URL/…/SET/ [--files=URL] [--private-files=URL]
           --destination=DIR  STORAGE-FLAGS
      Fetches a dump (and files tars), or every file a set's manifest names, verifying them.
  list     --destination=DIR-URL  STORAGE-FLAGS
      The sets under a site's directory, newest first, complete or not.
  verify   --source=URL/…/SET/  STORAGE-FLAGS
      Re-reads every file of a set and checks its size and SHA-256 against the manifest.
  prune    --destination=DIR-URL --sitebackup=NAME [--keep-count=N] [--keep-days=N] [--dry-run]
           STORAGE-FLAGS
      Applies retention to the sets whose manifest names NAME (the newest is always kept) and
      deletes incomplete sets older than 24 h.

  DIR-URL: a site's directory of sets, s3://BUCKET/PREFIX/NAMESPACE/SITE/ or
           pvc://CLAIM/PATH/NAMESPACE/SITE/ (PATH: the prefix, "backups" by default).
  STORAGE-FLAGS, for s3:// URLs:
           [--endpoint=URL] [--region=REGION (us-east-1)] [--force-path-style]
           [--credentials-dir=DIR]  (files AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and optional
           AWS_SESSION_TOKEN; without it the SDK's default chain, e.g. the pod's workload identity)
  STORAGE-FLAGS, for pvc:// URLs:
           --pvc-mount=DIR  (where the Job mounts the claim's root: pvc://CLAIM/PATH is DIR/PATH)`;

/** The termination message's size limit (the kubelet truncates longer ones). */
export const TERMINATION_LIMIT = 4096;
const DEFAULT_TERMINATION_PATH = '/dev/termination-log';

const S3_FLAGS = {
  endpoint: { type: 'string' },
  region: { type: 'string', default: '' },
  'force-path-style': { type: 'boolean', default: false },
  'credentials-dir': { type: 'string' },
} as const satisfies ParseArgsOptionsConfig;

const TUNING_FLAGS = {
  'multipart-threshold': { type: 'string' },
  'part-size': { type: 'string' },
  concurrency: { type: 'string' },
} as const satisfies ParseArgsOptionsConfig;

const STORAGE_FLAGS = {
  ...S3_FLAGS,
  'pvc-mount': { type: 'string' },
} as const satisfies ParseArgsOptionsConfig;

/** The flags that only mean something for S3. */
const S3_ONLY = [...Object.keys(S3_FLAGS), ...Object.keys(TUNING_FLAGS)];

const RETENTION_FLAGS = {
  'keep-count': { type: 'string' },
  'keep-days': { type: 'string' },
} as const satisfies ParseArgsOptionsConfig;

const IDENTITY_FLAGS = {
  namespace: { type: 'string' },
  site: { type: 'string' },
  'site-name': { type: 'string' },
  sitebackup: { type: 'string' },
  sitejob: { type: 'string' },
  image: { type: 'string' },
  'frappe-version': { type: 'string' },
  apps: { type: 'string' },
  'start-time': { type: 'string' },
} as const satisfies ParseArgsOptionsConfig;

const COMMAND_FLAGS = {
  upload: {
    source: { type: 'string' },
    destination: { type: 'string' },
    ...IDENTITY_FLAGS,
    ...RETENTION_FLAGS,
    ...TUNING_FLAGS,
    ...STORAGE_FLAGS,
  },
  download: {
    source: { type: 'string' },
    files: { type: 'string' },
    'private-files': { type: 'string' },
    destination: { type: 'string' },
    ...STORAGE_FLAGS,
  },
  list: { destination: { type: 'string' }, ...STORAGE_FLAGS },
  verify: { source: { type: 'string' }, ...STORAGE_FLAGS },
  prune: {
    destination: { type: 'string' },
    sitebackup: { type: 'string' },
    ...RETENTION_FLAGS,
    'dry-run': { type: 'boolean', default: false },
    ...STORAGE_FLAGS,
  },
} as const satisfies Record<string, ParseArgsOptionsConfig>;

type Command = keyof typeof COMMAND_FLAGS;
const isCommand = (c: string | undefined): c is Command =>
  c !== undefined && Object.hasOwn(COMMAND_FLAGS, c);

/** Every flag value, strings and booleans, by name. */
type Values = Record<string, string | boolean | undefined>;

function parseFlags(command: Command, argv: readonly string[]): Values {
  try {
    return parseArgs({
      args: [...argv],
      options: COMMAND_FLAGS[command],
      strict: true,
      allowPositionals: false,
    }).values as Values;
  } catch (e) {
    throw new AgentError(
      'InvalidArguments',
      `backup-agent ${command}: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
}

function str(values: Values, flag: string): string | undefined {
  const v = values[flag];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function required(values: Values, command: Command, flag: string): string {
  const v = str(values, flag);
  if (v === undefined) {
    throw new AgentError('InvalidArguments', `backup-agent ${command} needs --${flag}`);
  }
  return v;
}

function count(values: Values, flag: string, min = 0): number | undefined {
  const v = str(values, flag);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || !Number.isSafeInteger(Number(v))) {
    throw new AgentError('InvalidArguments', `--${flag}=${v}: expected a whole number ≥ ${min}`);
  }
  return Number(v);
}

const UNITS: Record<string, number> = { '': 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

function bytes(values: Values, flag: string, fallback: number, min: number): number {
  const v = str(values, flag);
  if (v === undefined) return fallback;
  const m = /^(\d+)(KiB|MiB|GiB)?$/.exec(v);
  const n = m === null ? NaN : Number(m[1]) * (UNITS[m[2] ?? ''] ?? NaN);
  if (!Number.isSafeInteger(n) || n < min) {
    throw new AgentError(
      'InvalidArguments',
      `--${flag}=${v}: expected a byte count ≥ ${min} (plain, or with KiB, MiB or GiB)`,
    );
  }
  return n;
}

/** A given flag: a non-empty string, or a boolean set. */
const given = (values: Values, flag: string): boolean =>
  values[flag] === true || str(values, flag) !== undefined;

function dirUrl(values: Values, command: Command, flag: string): Location {
  return asDirectory(parseLocation(required(values, command, flag), `--${flag}`));
}

function setUrl(values: Values, command: Command, flag: string): Location {
  const url = required(values, command, flag);
  const loc = parseLocation(url, `--${flag}`);
  if (!isDirectory(loc) || loc.key === '') {
    throw new AgentError(
      'InvalidArguments',
      `--${flag}=${url}: expected a backup set's directory, ending in /`,
    );
  }
  return loc;
}

function optionalObjectUrl(values: Values, flag: string): Location | undefined {
  const url = str(values, flag);
  if (url === undefined) return undefined;
  const loc = parseLocation(url, `--${flag}`);
  if (isDirectory(loc)) {
    throw new AgentError(
      'InvalidArguments',
      `--${flag}=${url}: expected an object, not a directory`,
    );
  }
  return loc;
}

const IDENTITY_ENV: Record<keyof typeof IDENTITY_FLAGS, string> = {
  namespace: 'FRAPPE_BACKUP_NAMESPACE',
  site: 'FRAPPE_BACKUP_SITE',
  'site-name': 'FRAPPE_BACKUP_SITE_NAME',
  sitebackup: 'FRAPPE_BACKUP_SITEBACKUP',
  sitejob: 'FRAPPE_BACKUP_SITEJOB',
  image: 'FRAPPE_BACKUP_IMAGE',
  'frappe-version': 'FRAPPE_BACKUP_FRAPPE_VERSION',
  apps: 'FRAPPE_BACKUP_APPS',
  'start-time': 'FRAPPE_BACKUP_START_TIME',
};

/** `a,b` or a JSON list. */
function parseApps(v: string | undefined): string[] {
  if (v === undefined) return [];
  if (v.trimStart().startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(v);
    } catch (e) {
      throw new AgentError('InvalidArguments', `--apps=${v}: not a JSON list`, { cause: e });
    }
    if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) {
      throw new AgentError('InvalidArguments', `--apps=${v}: not a list of app names`);
    }
    return parsed;
  }
  return v
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
}

function identity(values: Values, env: NodeJS.ProcessEnv): SetIdentity {
  const get = (flag: keyof typeof IDENTITY_FLAGS): string | undefined => {
    const fromEnv = env[IDENTITY_ENV[flag]];
    return str(values, flag) ?? (fromEnv === '' ? undefined : fromEnv);
  };
  const need = (flag: keyof typeof IDENTITY_FLAGS): string => {
    const v = get(flag);
    if (v === undefined) {
      throw new AgentError(
        'InvalidArguments',
        `backup-agent upload needs --${flag} (or ${IDENTITY_ENV[flag]}) for the manifest`,
      );
    }
    return v;
  };
  const sitebackup = get('sitebackup');
  const sitejob = get('sitejob');
  if ((sitebackup === undefined) === (sitejob === undefined)) {
    throw new AgentError(
      'InvalidArguments',
      'backup-agent upload needs exactly one of --sitebackup and --sitejob: the manifest names what made the set',
    );
  }
  const startTime = get('start-time');
  if (startTime !== undefined && Number.isNaN(Date.parse(startTime))) {
    throw new AgentError('InvalidArguments', `--start-time=${startTime}: not an RFC 3339 time`);
  }
  return {
    namespace: need('namespace'),
    site: need('site'),
    siteName: need('site-name'),
    sitebackup,
    sitejob,
    image: get('image'),
    frappeVersion: get('frappe-version'),
    apps: parseApps(get('apps')),
    startTime,
  };
}

function retention(values: Values): Retention | undefined {
  const keepCount = count(values, 'keep-count');
  const keepDays = count(values, 'keep-days');
  return keepCount === undefined && keepDays === undefined ? undefined : { keepCount, keepDays };
}

function tuning(values: Values): UploadTuning {
  return {
    multipartThreshold: bytes(
      values,
      'multipart-threshold',
      DEFAULT_TUNING.multipartThreshold,
      MIN_PART_SIZE,
    ),
    partSize: bytes(values, 'part-size', DEFAULT_TUNING.partSize, MIN_PART_SIZE),
    concurrency: count(values, 'concurrency', 1) ?? DEFAULT_TUNING.concurrency,
  };
}

function s3Options(values: Values) {
  const endpoint = str(values, 'endpoint');
  if (endpoint !== undefined && !/^https?:\/\/[^/\s]+/.test(endpoint)) {
    throw new AgentError('InvalidArguments', `--endpoint=${endpoint}: expected an http(s) URL`);
  }
  return {
    endpoint,
    region: str(values, 'region') ?? '',
    forcePathStyle: values['force-path-style'] === true,
    credentialsDir: str(values, 'credentials-dir'),
  };
}

/**
 * How to open the storage the command's URLs (flag → location) are on: one kind for all, and for
 * pvc:// one claim, mounted at --pvc-mount. Checks the flags; opens nothing.
 */
function storageOpener(
  values: Values,
  urls: readonly [flag: string, loc: Location | undefined][],
): () => Promise<Storage> {
  const present = urls.filter((u): u is [string, Location] => u[1] !== undefined);
  const first = present[0];
  if (first === undefined) throw new Error('storageOpener: no URL');
  const [firstFlag, loc] = first;
  const firstUrl = `${firstFlag}=${formatLocation(loc)}`;
  for (const [flag, other] of present.slice(1)) {
    if (other.scheme !== loc.scheme) {
      throw new AgentError(
        'InvalidArguments',
        `${flag}=${formatLocation(other)} and ${firstUrl}: one run of the agent works on one kind of storage`,
      );
    }
    if (other.scheme === 'pvc' && other.root !== loc.root) {
      throw new AgentError(
        'InvalidArguments',
        `${flag}=${formatLocation(other)} is on claim ${other.root}, ${firstUrl} on claim ${loc.root}: the agent works on the one claim mounted at --pvc-mount`,
      );
    }
  }
  const mount = str(values, 'pvc-mount');
  if (loc.scheme === 'pvc') {
    if (mount === undefined) {
      throw new AgentError(
        'InvalidArguments',
        `${firstUrl} needs --pvc-mount=DIR: the directory where the Job mounts claim ${loc.root}`,
      );
    }
    const s3Only = S3_ONLY.filter((f) => given(values, f));
    if (s3Only.length > 0) {
      throw new AgentError(
        'InvalidArguments',
        `${s3Only.map((f) => `--${f}`).join(', ')}: for s3:// URLs only, and ${firstUrl} is on a claim`,
      );
    }
    return () => openPvcStorage({ claim: loc.root, mount });
  }
  if (mount !== undefined) {
    throw new AgentError(
      'InvalidArguments',
      `--pvc-mount=${mount}: for pvc:// URLs only, and ${firstUrl} is in S3`,
    );
  }
  const opts = s3Options(values);
  const t = tuning(values);
  return () => openS3Storage(opts, t);
}

/** Runs one command; its report, or an AgentError. */
async function runCommand(
  command: Command,
  values: Values,
  env: NodeJS.ProcessEnv,
  log: ReturnType<typeof agentLogger>,
): Promise<Report> {
  const now = () => new Date();
  // Everything the flags say is checked before the storage is touched.
  let job: (storage: Storage) => Promise<Report>;
  let open: () => Promise<Storage>;
  switch (command) {
    case 'upload': {
      const source = required(values, command, 'source');
      const destination = dirUrl(values, command, 'destination');
      const id = identity(values, env);
      const keep = retention(values);
      if (keep !== undefined && id.sitebackup === undefined) {
        throw new AgentError(
          'InvalidArguments',
          '--keep-count/--keep-days need --sitebackup: retention only touches the SiteBackup’s own sets',
        );
      }
      open = storageOpener(values, [['--destination', destination]]);
      job = (storage) =>
        upload(storage, { source, destination, identity: id, retention: keep, now }, log);
      break;
    }
    case 'download': {
      const source = parseLocation(required(values, command, 'source'), '--source');
      const opts = {
        source,
        files: optionalObjectUrl(values, 'files'),
        privateFiles: optionalObjectUrl(values, 'private-files'),
        destination: required(values, command, 'destination'),
      };
      open = storageOpener(values, [
        ['--source', source],
        ['--files', opts.files],
        ['--private-files', opts.privateFiles],
      ]);
      job = (storage) => download(storage, opts, log);
      break;
    }
    case 'list': {
      const dir = dirUrl(values, command, 'destination');
      open = storageOpener(values, [['--destination', dir]]);
      job = (storage) => list(storage, dir);
      break;
    }
    case 'verify': {
      const set = setUrl(values, command, 'source');
      open = storageOpener(values, [['--source', set]]);
      job = (storage) => verify(storage, set, log);
      break;
    }
    case 'prune': {
      const destination = dirUrl(values, command, 'destination');
      const sitebackup = required(values, command, 'sitebackup');
      const keep = retention(values) ?? { keepCount: undefined, keepDays: undefined };
      const dryRun = values['dry-run'] === true;
      open = storageOpener(values, [['--destination', destination]]);
      job = (storage) => prune(storage, { destination, sitebackup, ...keep, dryRun, now }, log);
      break;
    }
  }
  const storage = await open();
  try {
    return await job(storage);
  } finally {
    storage.close();
  }
}

/**
 * The termination message for `report`: JSON of at most TERMINATION_LIMIT bytes. Lists (the
 * sets pruned) are dropped first, then the message is shortened.
 */
export function terminationMessage(report: Report): string {
  let text = JSON.stringify(report);
  if (Buffer.byteLength(text) <= TERMINATION_LIMIT) return text;
  const slim: Report = {};
  for (const [k, v] of Object.entries(report)) if (!Array.isArray(v)) slim[k] = v;
  slim['truncated'] = true;
  text = JSON.stringify(slim);
  const message = slim['message'];
  if (typeof message === 'string') {
    // Cut the message from its end until the whole fits (escapes can make a character longer in
    // JSON than in UTF-8, hence the loop).
    const chars = Array.from(message);
    while (Buffer.byteLength(text) > TERMINATION_LIMIT && chars.length > 0) {
      let over = Buffer.byteLength(text) - TERMINATION_LIMIT + Buffer.byteLength('…');
      while (over > 0 && chars.length > 0) over -= Buffer.byteLength(chars.pop() ?? '');
      slim['message'] = `${chars.join('')}…`;
      text = JSON.stringify(slim);
    }
  }
  return text;
}

async function writeTermination(
  env: NodeJS.ProcessEnv,
  report: Report,
  log: ReturnType<typeof agentLogger>,
): Promise<void> {
  const path = env['TERMINATION_MESSAGE_PATH'] ?? DEFAULT_TERMINATION_PATH;
  try {
    await writeFile(path, terminationMessage(report));
  } catch (e) {
    // The report is on stdout too; outside a pod there may be no termination log.
    log.warn(
      { path, err: (e as NodeJS.ErrnoException).code ?? String(e) },
      'cannot write the termination message',
    );
  }
}

/** `frappe-operator backup-agent …`: resolves with the exit code. */
export async function backupAgent(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const [command, ...rest] = argv;
  const log = agentLogger(command ?? '');
  // The usage goes to stderr: stdout is for the JSON report. Help, also of a command
  // (`upload --help`), exits 0; no command at all is a usage error.
  const help = ['help', '--help', '-h'];
  if (
    command === undefined ||
    help.includes(command) ||
    rest.some((a) => a === '--help' || a === '-h')
  ) {
    process.stderr.write(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  let code = 1;
  try {
    if (!isCommand(command)) {
      code = 2;
      throw new AgentError('InvalidArguments', `backup-agent: unknown command ${command}`);
    }
    const values = parseFlags(command, rest);
    const report = await runCommand(command, values, env, log);
    process.stdout.write(`${JSON.stringify(report)}\n`);
    if (command !== 'list') await writeTermination(env, report, log);
    return 0;
  } catch (e) {
    const err =
      e instanceof AgentError
        ? e
        : new AgentError('InternalError', e instanceof Error ? e.message : String(e), { cause: e });
    if (err.reason === 'InvalidArguments') {
      process.stderr.write(`${err.message}\n\n${USAGE}\n`);
      code = 2;
    }
    log.error({ reason: err.reason, message: err.message }, 'backup-agent failed');
    await writeTermination(env, { error: err.reason, message: err.message }, log);
    return code;
  }
}
