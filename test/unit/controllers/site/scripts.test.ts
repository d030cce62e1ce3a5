// The site Job scripts (src/controllers/site/scripts.ts) run for real with the local python3 in a
// temporary bench directory, against a fake `bench` and a fake `mariadb` on PATH. The fakes record
// argv, cwd, env and what they read on stdin (bench reads its secrets with getpass, as Frappe
// does, which only works when the script gives it no controlling terminal), and emulate just what
// the scripts rely on: new-site's refusal of an existing site without --force, site_config.json
// being read (not written) by new-site, installed apps per site, maintenance_mode, the number of
// tables in a database, and failures on demand (FAKE_FAIL).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  BENCH_PYTHON,
  SITE_ADMIN_PASSWORD_SCRIPT,
  SITE_DELETE_SCRIPT,
  SITE_ENV,
  SITE_INIT_SCRIPT,
  SITE_MIGRATE_SCRIPT,
  SITE_RESTORE_SCRIPT,
  parseSiteReport,
  siteScriptCommand,
} from '../../../../src/controllers/site/scripts.ts';

/**
 * The real interpreter behind \`python3\` (a version manager's shim can cost a second a start);
 * the scripts and the fakes' shebangs use it.
 */
const PYTHON = (() => {
  const found = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], {
    encoding: 'utf8',
  });
  assert.equal(found.status, 0, `python3 is needed to run the site scripts: ${found.stderr}`);
  return found.stdout.trim();
})();

const FAKE_BENCH = String.raw`import getpass, json, os, sys

argv = sys.argv[1:]
entry = {'tool': 'bench', 'argv': argv, 'cwd': os.getcwd(), 'env': dict(os.environ)}
state = os.environ['FAKE_STATE']
failing = os.environ.get('FAKE_FAIL', '').split(',')
sites = os.path.join(os.getcwd(), 'sites')


def done(code, **extra):
    entry.update(extra)
    entry['exit'] = code
    with open(os.environ['FAKE_LOG'], 'a') as f:
        f.write(json.dumps(entry) + '\n')
    sys.exit(code)


def secret_line(prompt):
    try:
        return getpass.getpass(prompt)
    except EOFError:
        return None


def apps_file(site):
    return os.path.join(state, site + '.apps.json')


def apps_of(site):
    try:
        with open(apps_file(site)) as f:
            return json.load(f)
    except OSError:
        return []


def set_apps(site, apps):
    with open(apps_file(site), 'w') as f:
        json.dump(apps, f)


def config(site):
    with open(os.path.join(sites, site, 'site_config.json')) as f:
        return json.load(f)


site = None
if argv[:1] == ['--site']:
    site, argv = argv[1], argv[2:]
cmd, rest = argv[0], argv[1:]
if site is not None and not os.path.isfile(os.path.join(sites, site, 'site_config.json')):
    print(site + ' does not exist')
    done(1)

if cmd == 'new-site':
    site = rest[0]
    if os.path.exists(os.path.join(sites, site)) and '--force' not in rest:
        print('Site ' + site + ' already exists')
        done(1)
    if '--no-setup-db' not in rest:
        done(1, error='would need the root password')
    admin = secret_line('Set Administrator password: ')
    remaining = sys.stdin.read()
    conf = config(site)
    with open(os.path.join(state, 'db-' + conf['db_name'] + '.tables'), 'w') as f:
        f.write('120')
    if 'new-site' in failing:
        done(1, adminPassword=admin, stdinRest=remaining)
    set_apps(site, ['frappe'] + [rest[i + 1] for i, a in enumerate(rest) if a == '--install-app'])
    for sub in ('public/files', 'private/files', 'private/backups', 'locks', 'logs'):
        os.makedirs(os.path.join(sites, site, sub), exist_ok=True)
    done(0, adminPassword=admin, stdinRest=remaining, configAtStart=conf)
elif cmd == 'install-app':
    with open(os.path.join(sites, 'apps.txt')) as f:
        bench_apps = f.read().split()
    if 'install-app' in failing or any(a not in bench_apps for a in rest):
        done(1)
    set_apps(site, apps_of(site) + [a for a in rest if a not in apps_of(site)])
    done(0)
elif cmd == 'migrate':
    done(1 if 'migrate' in failing else 0)
elif cmd == 'list-apps':
    apps = apps_of(site)
    if '--format' in rest:
        print('Some warning Frappe printed first')
        print(json.dumps({site: [] if 'json-list' in failing else apps}, indent=1))
    else:
        print('\n' + '\n'.join(a + ' 15.0.0 version-15' for a in apps) + '\n')
    done(0)
elif cmd == 'set-maintenance-mode':
    path = os.path.join(sites, site, 'site_config.json')
    conf = config(site)
    conf['maintenance_mode'] = 1 if rest[0] == 'on' else 0
    with open(path, 'w') as f:
        json.dump(conf, f)
    done(0)
elif cmd == 'set-admin-password':
    password = rest[0] if rest and not rest[0].startswith('-') else secret_line("Administrator's password for " + site + ': ')
    done(1 if 'set-admin-password' in failing or not password else 0, adminPassword=password)
done(2, error='unknown command')
`;

const FAKE_MARIADB = String.raw`import json, os, stat, sys

argv = sys.argv[1:]
entry = {'tool': 'mariadb', 'argv': argv, 'cwd': os.getcwd(), 'env': dict(os.environ)}
state = os.environ['FAKE_STATE']
data = sys.stdin.read()
entry['stdin'] = data
code = 0
if not argv or not argv[0].startswith('--defaults-extra-file='):
    code = 7  # the real client takes --defaults-extra-file only as its first option
else:
    path = argv[0].split('=', 1)[1]
    with open(path) as f:
        entry['defaultsFile'] = {'path': path, 'content': f.read(), 'mode': oct(stat.S_IMODE(os.stat(path).st_mode))}
positional = [a for a in argv if not a.startswith('-')]
db = positional[0] if positional else None
if 'mariadb' in os.environ.get('FAKE_FAIL', '').split(','):
    code = 1
if code == 0:
    tables = os.path.join(state, 'db-' + str(db) + '.tables')
    if 'information_schema' in data:
        print(open(tables).read() if os.path.exists(tables) else '0')
    elif 'DROP DATABASE' in data:
        for name in os.listdir(state):
            if name.endswith('.tables') and name[3:-7] in data:
                os.remove(os.path.join(state, name))
    elif 'CREATE TABLE' in data:
        with open(tables, 'w') as f:
            f.write(str(data.count('CREATE TABLE')))
entry['exit'] = code
with open(os.environ['FAKE_LOG'], 'a') as f:
    f.write(json.dumps(entry) + '\n')
sys.exit(code)
`;

const SITE = 'erp.example.com';
const DOMAIN = 'erp.customer.io';
const DB = '_0a1b2c3d_erp_example_com';

interface LogEntry {
  tool: 'bench' | 'mariadb';
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  exit: number;
  stdin?: string;
  adminPassword?: string | null;
  stdinRest?: string;
  configAtStart?: Record<string, unknown>;
  defaultsFile?: { path: string; content: string; mode: string };
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  report: Record<string, unknown>;
  /** This run's calls only. */
  calls: LogEntry[];
}

const secret = (label: string) => `${label}-${randomBytes(12).toString('hex')}`;

/** Run a script as the Job does (`python -c SCRIPT`), with no stdin. */
function runPython(
  script: string,
  options: { cwd: string; env: Record<string, string> },
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['-c', script], { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** A temporary bench with its own fakes, secrets and state; removed by `cleanup`. */
function makeBench() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'site-scripts-'));
  const dir = (...p: string[]) => path.join(root, ...p);
  for (const d of ['bench/sites', 'bin', 'state', 'secrets', 'tmp']) {
    fs.mkdirSync(dir(d), { recursive: true });
  }
  fs.writeFileSync(dir('bench/sites/apps.txt'), 'frappe\nerpnext\nhrms\n');
  fs.writeFileSync(dir('bench/sites/common_site_config.json'), '{}');
  fs.writeFileSync(dir('bin/bench'), `#!${PYTHON} -S\n${FAKE_BENCH}`, { mode: 0o755 });
  fs.writeFileSync(dir('bin/mariadb'), `#!${PYTHON} -S\n${FAKE_MARIADB}`, { mode: 0o755 });
  const secrets = {
    // A DB password with what an option file must quote or escape.
    db: `${secret('dbpw')}#"\\x`,
    admin: secret('adminpw'),
    key: `${randomBytes(32).toString('base64url')}=`,
  };
  const writeSecret = (name: string, value: string) => {
    const p = dir('secrets', name);
    fs.writeFileSync(p, value, { mode: 0o400 });
    return p;
  };
  const files = {
    db: writeSecret('db-password', secrets.db),
    admin: writeSecret('admin-password', `${secrets.admin}\n`),
    key: writeSecret('encryption-key', secrets.key),
  };
  let seen = 0;
  const bench = {
    root,
    dir,
    sites: (...p: string[]) => dir('bench/sites', ...p),
    secrets,
    files,
    writeSecret,
    /** The contract env of the init and restore scripts. */
    env: (extra: Record<string, string> = {}): Record<string, string> => ({
      [SITE_ENV.siteName]: SITE,
      [SITE_ENV.siteDomain]: DOMAIN,
      [SITE_ENV.siteUrl]: `https://${DOMAIN}`,
      [SITE_ENV.siteApps]: '["erpnext"]',
      [SITE_ENV.dbName]: DB,
      [SITE_ENV.dbHost]: 'shared-mariadb.databases.svc.cluster.local',
      [SITE_ENV.dbPort]: '3306',
      [SITE_ENV.dbUser]: DB,
      [SITE_ENV.dbPasswordFile]: files.db,
      [SITE_ENV.adminPasswordFile]: files.admin,
      [SITE_ENV.encryptionKeyFile]: files.key,
      ...extra,
    }),
    async run(script: string, env: Record<string, string>): Promise<Run> {
      const message = dir('termination-log');
      fs.rmSync(message, { force: true });
      const result = await runPython(script, {
        cwd: dir('bench'),
        env: {
          PATH: `${dir('bin')}${path.delimiter}${process.env.PATH ?? ''}`,
          HOME: root,
          TMPDIR: dir('tmp'),
          FAKE_LOG: dir('log.jsonl'),
          FAKE_STATE: dir('state'),
          [SITE_ENV.terminationMessagePath]: message,
          ...env,
        },
      });
      const log = fs.existsSync(dir('log.jsonl'))
        ? fs
            .readFileSync(dir('log.jsonl'), 'utf8')
            .split('\n')
            .filter((l) => l !== '')
            .map((l) => JSON.parse(l) as LogEntry)
        : [];
      const calls = log.slice(seen);
      seen = log.length;
      const text = fs.existsSync(message) ? fs.readFileSync(message, 'utf8') : '';
      assert.ok(Buffer.byteLength(text) <= 4096, 'the report fits a termination message');
      const run: Run = {
        status: result.status,
        stdout: result.stdout,
        stderr: result.stderr,
        report: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
        calls,
      };
      assertNoLeak(run, Object.values(secrets));
      return run;
    },
    config: () =>
      JSON.parse(fs.readFileSync(dir('bench/sites', SITE, 'site_config.json'), 'utf8')) as Record<
        string,
        unknown
      >,
    /** A site as site-init leaves it (for the scripts that need one), without running it. */
    seedSite: () => {
      fs.mkdirSync(dir('bench/sites', SITE), { recursive: true });
      fs.writeFileSync(
        dir('bench/sites', SITE, 'site_config.json'),
        JSON.stringify({ db_name: DB, db_password: secrets.db, encryption_key: secrets.key }),
      );
      fs.symlinkSync(SITE, dir('bench/sites', DOMAIN));
      fs.writeFileSync(dir('state', `${SITE}.apps.json`), '["frappe","erpnext"]');
    },
    setApps: (apps: string[]) => {
      fs.writeFileSync(dir('state', `${SITE}.apps.json`), JSON.stringify(apps));
    },
    setTables: (n: number) => {
      fs.writeFileSync(dir('state', `db-${DB}.tables`), String(n));
    },
    cleanup: () => {
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
  return bench;
}

type Bench = ReturnType<typeof makeBench>;

/** No secret in any argv or env a fake saw, nor in the script's own output. */
function assertNoLeak(run: Run, secrets: string[]): void {
  for (const s of secrets) {
    for (const call of run.calls) {
      assert.ok(!call.argv.some((a) => a.includes(s)), `a secret in ${call.tool} argv`);
      assert.ok(
        !Object.values(call.env).some((v) => v.includes(s)),
        `a secret in ${call.tool} env`,
      );
    }
    assert.ok(!run.stdout.includes(s), 'a secret in the script stdout');
    assert.ok(!run.stderr.includes(s), 'a secret in the script stderr');
    assert.ok(!JSON.stringify(run.report).includes(s), 'a secret in the report');
  }
}

const benchArgs = (run: Run) => run.calls.filter((c) => c.tool === 'bench').map((c) => c.argv);
const commands = (run: Run) =>
  benchArgs(run).map((a) => (a[0] === '--site' ? a.slice(2) : a).slice(0, 2).join(' '));
const ok = (run: Run) => {
  assert.equal(
    run.status,
    0,
    `exit ${String(run.status)}: ${JSON.stringify(run.report)}\n${run.stderr}`,
  );
};
const failed = (run: Run, reason: string) => {
  assert.equal(run.status, 1, run.stderr);
  assert.equal(run.report.error, reason, JSON.stringify(run.report));
  assert.equal(typeof run.report.message, 'string');
};

function withBench(name: string, fn: (b: Bench) => Promise<void>): void {
  test(name, async () => {
    const b = makeBench();
    try {
      await fn(b);
    } finally {
      b.cleanup();
    }
  });
}

/** Every defaults file was deleted: the temp dir is empty and the recorded paths are gone. */
function assertDefaultsFilesGone(b: Bench, run: Run): void {
  assert.deepEqual(fs.readdirSync(b.dir('tmp')), []);
  for (const c of run.calls) if (c.defaultsFile) assert.ok(!fs.existsSync(c.defaultsFile.path));
}

test('the Job command is the bench python running the script', () => {
  assert.equal(BENCH_PYTHON, '/home/frappe/frappe-bench/env/bin/python');
  assert.deepEqual(siteScriptCommand('print(1)'), [BENCH_PYTHON, '-c', 'print(1)']);
});

// Each test has its own bench directory, so they run side by side.
describe('site scripts', { concurrency: true }, () => {
  withBench(
    'init creates the site with new-site --no-setup-db, secrets on stdin and in site_config.json',
    async (b) => {
      const run = await b.run(SITE_INIT_SCRIPT, b.env());
      ok(run);
      assert.deepEqual(run.report, { installedApps: ['frappe', 'erpnext'] });

      // The empty-database check, as the site's own user, with a defaults file deleted afterwards.
      const check = run.calls[0];
      assert.ok(check?.tool === 'mariadb');
      assert.match(check.argv[0] ?? '', /^--defaults-extra-file=/);
      assert.ok(check.argv.includes(DB));
      assert.match(check.stdin ?? '', /information_schema/);
      assert.equal(check.defaultsFile?.mode, '0o600');
      assert.ok(check.defaultsFile.content.includes(`user="${DB}"`));
      assertDefaultsFilesGone(b, run);

      const newSite = run.calls.find((c) => c.argv[0] === 'new-site');
      assert.ok(newSite);
      assert.deepEqual(newSite.argv, [
        'new-site',
        SITE,
        '--force',
        '--no-setup-db',
        '--db-name',
        DB,
        '--db-type',
        'mariadb',
        '--db-host',
        'shared-mariadb.databases.svc.cluster.local',
        '--db-port',
        '3306',
        '--install-app',
        'erpnext',
      ]);
      assert.equal(newSite.cwd, b.dir('bench'));
      assert.equal(
        newSite.adminPassword,
        b.secrets.admin,
        'admin password read by getpass on stdin',
      );
      // new-site found the DB settings already in site_config.json (it never writes an existing one).
      assert.equal(newSite.configAtStart?.db_password, b.secrets.db);
      assert.equal(newSite.configAtStart.db_user, DB);
      assert.deepEqual(commands(run), ['new-site erp.example.com', 'list-apps --format']);

      const config = b.config();
      assert.deepEqual(
        { ...config, db_password: '…', encryption_key: '…' },
        {
          db_name: DB,
          db_password: '…',
          db_host: 'shared-mariadb.databases.svc.cluster.local',
          db_port: 3306,
          db_user: DB,
          db_type: 'mariadb',
          encryption_key: '…',
          host_name: `https://${DOMAIN}`,
        },
      );
      assert.equal(config.db_password, b.secrets.db);
      assert.equal(config.encryption_key, b.secrets.key);
      assert.equal(fs.statSync(b.sites(SITE, 'site_config.json')).mode & 0o777, 0o660);
      assert.ok(!fs.existsSync(b.sites(SITE, '.frappe-operator-new-site')), 'marker removed');
      assert.equal(fs.readlinkSync(b.sites(DOMAIN)), SITE, 'relative domain link');
    },
  );

  withBench(
    'init again: no new-site, migrate, install only the missing app, keep the key',
    async (b) => {
      ok(await b.run(SITE_INIT_SCRIPT, b.env()));
      const firstKey = b.config().encryption_key;
      const otherKey = b.writeSecret('other-key', secret('otherkey'));
      const run = await b.run(
        SITE_INIT_SCRIPT,
        b.env({
          [SITE_ENV.siteApps]: '["erpnext","hrms"]',
          [SITE_ENV.encryptionKeyFile]: otherKey,
        }),
      );
      ok(run);
      assert.deepEqual(commands(run), [
        'migrate',
        'list-apps --format',
        'install-app hrms',
        'list-apps --format',
      ]);
      assert.ok(
        !run.calls.some((c) => c.tool === 'mariadb'),
        'no database check for an existing site',
      );
      assert.equal(b.config().encryption_key, firstKey, 'an existing key is never replaced');
      assert.deepEqual(run.report, { installedApps: ['frappe', 'erpnext', 'hrms'] });
    },
  );

  withBench('init reports AppNotInBench before touching anything', async (b) => {
    const run = await b.run(
      SITE_INIT_SCRIPT,
      b.env({ [SITE_ENV.siteApps]: '["erpnext","insights"]' }),
    );
    failed(run, 'AppNotInBench');
    const message = String(run.report.message);
    assert.match(message, /insights/);
    assert.match(message, /frappe, erpnext, hrms/);
    assert.match(message, /no app insights \(/, 'only the missing app is named as missing');
    assert.deepEqual(run.calls, []);
    assert.ok(!fs.existsSync(b.sites(SITE)));
    assert.ok(!fs.existsSync(b.sites(DOMAIN)));
  });

  withBench(
    'init adopts an existing database (SITE_INIT_MODE=adopt): never new-site',
    async (b) => {
      b.setApps(['frappe', 'erpnext']);
      b.setTables(300);
      const userFile = b.writeSecret('db-user', `${DB}\n`);
      const env = Object.fromEntries(
        Object.entries(
          b.env({
            [SITE_ENV.initMode]: 'adopt',
            [SITE_ENV.siteApps]: '["erpnext","hrms"]',
            [SITE_ENV.dbUserFile]: userFile,
          }),
        ).filter(([name]) => name !== SITE_ENV.dbUser),
      );
      const run = await b.run(SITE_INIT_SCRIPT, env);
      ok(run);
      assert.deepEqual(commands(run), [
        'migrate',
        'list-apps --format',
        'install-app hrms',
        'list-apps --format',
      ]);
      assert.equal(b.config().db_user, DB, 'user from DB_USER_FILE');
      assert.equal(b.config().db_password, b.secrets.db);
      for (const d of ['public/files', 'private/files', 'private/backups', 'locks', 'logs']) {
        assert.ok(fs.statSync(b.sites(SITE, d)).isDirectory(), d);
      }
    },
  );

  withBench(
    'init refuses a database with tables when the site has no site_config.json',
    async (b) => {
      b.setTables(42);
      const run = await b.run(SITE_INIT_SCRIPT, b.env());
      failed(run, 'DatabaseNotEmpty');
      assert.match(String(run.report.message), /42 tables/);
      assert.match(String(run.report.message), /skipInit/);
      assert.deepEqual(benchArgs(run), []);
      assert.ok(!fs.existsSync(b.sites(SITE)));
    },
  );

  withBench('a failed new-site is retried from scratch; a created site never again', async (b) => {
    const first = await b.run(SITE_INIT_SCRIPT, b.env({ FAKE_FAIL: 'new-site' }));
    failed(first, 'SiteCreationFailed');
    assert.match(String(first.report.message), /vyogo\.tech\/retry/);
    assert.ok(fs.existsSync(b.sites(SITE, '.frappe-operator-new-site')), 'marker kept');
    assert.ok(fs.existsSync(b.sites(SITE, 'site_config.json')));

    // The failed attempt left tables and a site_config.json: the marker says it is ours to redo.
    const second = await b.run(SITE_INIT_SCRIPT, b.env());
    ok(second);
    assert.deepEqual(commands(second), ['new-site erp.example.com', 'list-apps --format']);
    assert.ok(!second.calls.some((c) => c.tool === 'mariadb'));
    assert.ok(!fs.existsSync(b.sites(SITE, '.frappe-operator-new-site')));

    const third = await b.run(SITE_INIT_SCRIPT, b.env());
    ok(third);
    assert.ok(!commands(third).includes('new-site erp.example.com'));
  });

  withBench('init replaces a stale domain link but never a real directory', async (b) => {
    fs.symlinkSync('old.example.com', b.sites(DOMAIN));
    ok(await b.run(SITE_INIT_SCRIPT, b.env()));
    assert.equal(fs.readlinkSync(b.sites(DOMAIN)), SITE);

    const other = makeBench();
    try {
      fs.mkdirSync(other.sites(DOMAIN));
      const run = await other.run(SITE_INIT_SCRIPT, other.env());
      failed(run, 'DomainConflict');
      assert.deepEqual(run.calls, []);
      assert.ok(!fs.existsSync(other.sites(SITE)));
      assert.ok(fs.statSync(other.sites(DOMAIN)).isDirectory());
    } finally {
      other.cleanup();
    }
  });

  withBench('installed apps fall back to the text list when the JSON list is empty', async (b) => {
    b.seedSite();
    const run = await b.run(SITE_MIGRATE_SCRIPT, {
      [SITE_ENV.siteName]: SITE,
      FAKE_FAIL: 'json-list',
    });
    ok(run);
    assert.deepEqual(run.report, { installedApps: ['frappe', 'erpnext'] });
    assert.deepEqual(benchArgs(run).slice(-2), [
      ['--site', SITE, 'list-apps', '--format', 'json'],
      ['--site', SITE, 'list-apps'],
    ]);
  });

  withBench('migrate: maintenance on, migrate, off; reports the apps', async (b) => {
    b.seedSite();
    const run = await b.run(SITE_MIGRATE_SCRIPT, { [SITE_ENV.siteName]: SITE });
    ok(run);
    assert.deepEqual(benchArgs(run), [
      ['--site', SITE, 'set-maintenance-mode', 'on'],
      ['--site', SITE, 'migrate'],
      ['--site', SITE, 'set-maintenance-mode', 'off'],
      ['--site', SITE, 'list-apps', '--format', 'json'],
    ]);
    assert.equal(b.config().maintenance_mode, 0);
    assert.deepEqual(run.report, { installedApps: ['frappe', 'erpnext'] });
  });

  withBench(
    'a failed migrate leaves maintenance mode on and reports MigrationFailed',
    async (b) => {
      b.seedSite();
      const run = await b.run(SITE_MIGRATE_SCRIPT, {
        [SITE_ENV.siteName]: SITE,
        FAKE_FAIL: 'migrate',
      });
      failed(run, 'MigrationFailed');
      assert.deepEqual(commands(run), ['set-maintenance-mode on', 'migrate']);
      assert.equal(b.config().maintenance_mode, 1);
      const message = String(run.report.message);
      assert.match(message, /maintenance mode/);
      assert.match(message, /vyogo\.tech\/retry/);
      assert.match(message, /'bench --site erp\.example\.com migrate' failed with exit code 1/);
    },
  );

  withBench('migrate of a site that does not exist reports SiteNotFound', async (b) => {
    const run = await b.run(SITE_MIGRATE_SCRIPT, { [SITE_ENV.siteName]: SITE });
    failed(run, 'SiteNotFound');
    assert.deepEqual(run.calls, []);
  });

  withBench('admin password: set-admin-password with the password on stdin only', async (b) => {
    b.seedSite();
    const run = await b.run(SITE_ADMIN_PASSWORD_SCRIPT, {
      [SITE_ENV.siteName]: SITE,
      [SITE_ENV.adminPasswordFile]: b.files.admin,
    });
    ok(run);
    assert.deepEqual(benchArgs(run), [
      ['--site', SITE, 'set-admin-password', '--logout-all-sessions'],
    ]);
    assert.equal(run.calls[0]?.adminPassword, b.secrets.admin);
    assert.deepEqual(run.report, { adminPasswordSet: true });

    const failing = await b.run(SITE_ADMIN_PASSWORD_SCRIPT, {
      [SITE_ENV.siteName]: SITE,
      [SITE_ENV.adminPasswordFile]: b.files.admin,
      FAKE_FAIL: 'set-admin-password',
    });
    failed(failing, 'AdminPasswordFailed');
  });

  withBench('an empty or missing secret file is reported without its content', async (b) => {
    b.seedSite();
    const empty = b.writeSecret('empty', '\n');
    failed(
      await b.run(SITE_ADMIN_PASSWORD_SCRIPT, {
        [SITE_ENV.siteName]: SITE,
        [SITE_ENV.adminPasswordFile]: empty,
      }),
      'SecretEmpty',
    );
    failed(
      await b.run(SITE_ADMIN_PASSWORD_SCRIPT, {
        [SITE_ENV.siteName]: SITE,
        [SITE_ENV.adminPasswordFile]: b.dir('secrets', 'nope'),
      }),
      'SecretUnreadable',
    );
  });

  /** A backup set as `bench backup --with-files` names it, tars made like Frappe makes them. */
  function makeBackupSet(b: Bench, sql: string): string {
    const set = b.dir('restore');
    const src = b.dir('source-sites');
    fs.mkdirSync(set);
    const source = 'old.example.com';
    fs.mkdirSync(path.join(src, source, 'public/files/sub'), { recursive: true });
    fs.mkdirSync(path.join(src, source, 'private/files'), { recursive: true });
    fs.writeFileSync(path.join(src, source, 'public/files/sub/logo.png'), 'public-bytes');
    fs.writeFileSync(path.join(src, source, 'private/files/invoice.pdf'), 'private-bytes');
    const stamp = '20260101_020304-old_example_com';
    // frappe/utils/backups.py backup_files: tar -cf <backup> ./<site>/<public|private>/files
    for (const [kind, name] of [
      ['public', `${stamp}-files.tar`],
      ['private', `${stamp}-private-files.tar`],
    ] as const) {
      const tar = spawnSync('tar', ['-cf', path.join(set, name), `./${source}/${kind}/files`], {
        cwd: src,
      });
      assert.equal(tar.status, 0, String(tar.stderr));
    }
    fs.writeFileSync(path.join(set, `${stamp}-database.sql.gz`), gzipSync(sql));
    fs.writeFileSync(path.join(set, `${stamp}-site_config_backup.json`), '{}');
    return set;
  }

  const DUMP =
    '-- Backup generated by Frappe 15.0.0 on branch version-15\n\n' +
    'DROP TABLE IF EXISTS `tabNote`;\nCREATE TABLE `tabNote` (`name` varchar(140));\n' +
    "INSERT INTO `tabNote` VALUES ('a');\n";

  withBench(
    'restore loads the dump as the site user from a 0600 defaults file, then files, migrate, password',
    async (b) => {
      const set = makeBackupSet(b, DUMP);
      // A key left by an earlier attempt is replaced: the dump needs the source site's key.
      fs.mkdirSync(b.sites(SITE), { recursive: true });
      fs.writeFileSync(b.sites(SITE, 'site_config.json'), '{"encryption_key": "stale", "x": 1}');
      b.setApps(['frappe', 'erpnext']);
      const run = await b.run(
        SITE_RESTORE_SCRIPT,
        b.env({ [SITE_ENV.restoreDir]: set, [SITE_ENV.siteApps]: '["erpnext","hrms"]' }),
      );
      ok(run);

      const load = run.calls[0];
      assert.ok(load?.tool === 'mariadb');
      assert.deepEqual(load.argv.slice(1), [DB]);
      assert.equal(load.stdin, DUMP, 'the decompressed dump on stdin');
      assert.equal(load.defaultsFile?.mode, '0o600');
      const escaped = b.secrets.db.replaceAll('\\', '\\\\').replaceAll('"', '\\"');
      assert.equal(
        load.defaultsFile.content,
        `[client]\nuser="${DB}"\npassword="${escaped}"\n` +
          'host="shared-mariadb.databases.svc.cluster.local"\nport=3306\n',
      );
      assertDefaultsFilesGone(b, run);

      assert.equal(
        fs.readFileSync(b.sites(SITE, 'public/files/sub/logo.png'), 'utf8'),
        'public-bytes',
      );
      assert.equal(
        fs.readFileSync(b.sites(SITE, 'private/files/invoice.pdf'), 'utf8'),
        'private-bytes',
      );
      assert.deepEqual(benchArgs(run), [
        ['--site', SITE, 'migrate'],
        ['--site', SITE, 'list-apps', '--format', 'json'],
        ['--site', SITE, 'install-app', 'hrms'],
        ['--site', SITE, 'set-admin-password', '--logout-all-sessions'],
        ['--site', SITE, 'set-maintenance-mode', 'off'],
        ['--site', SITE, 'list-apps', '--format', 'json'],
      ]);
      assert.equal(
        run.calls.find((c) => c.argv.includes('set-admin-password'))?.adminPassword,
        b.secrets.admin,
      );
      const config = b.config();
      assert.equal(config.encryption_key, b.secrets.key);
      assert.equal(config.db_password, b.secrets.db);
      assert.equal(config.x, 1, 'other keys kept');
      assert.equal(config.maintenance_mode, 0);
      assert.equal(fs.readlinkSync(b.sites(DOMAIN)), SITE);
      assert.deepEqual(run.report, { installedApps: ['frappe', 'erpnext', 'hrms'] });

      // Restoring again over the restored site is fine.
      ok(await b.run(SITE_RESTORE_SCRIPT, b.env({ [SITE_ENV.restoreDir]: set })));
    },
  );

  withBench(
    'restore failures: no dump, a partial dump, a failed load, a failed migrate',
    async (b) => {
      fs.mkdirSync(b.dir('empty'));
      const none = await b.run(
        SITE_RESTORE_SCRIPT,
        b.env({ [SITE_ENV.restoreDir]: b.dir('empty') }),
      );
      failed(none, 'BackupNotFound');
      assert.deepEqual(none.calls, []);

      fs.mkdirSync(b.dir('partial'));
      fs.writeFileSync(
        b.dir('partial', 'x-database.sql.gz'),
        gzipSync('-- Partial Backup of Frappe Site x\nCREATE TABLE `t` (a int);\n'),
      );
      failed(
        await b.run(SITE_RESTORE_SCRIPT, b.env({ [SITE_ENV.restoreDir]: b.dir('partial') })),
        'PartialBackup',
      );

      const set = makeBackupSet(b, DUMP);
      const load = await b.run(
        SITE_RESTORE_SCRIPT,
        b.env({ [SITE_ENV.restoreDir]: set, FAKE_FAIL: 'mariadb' }),
      );
      failed(load, 'DatabaseLoadFailed');
      assertDefaultsFilesGone(b, load);
      assert.deepEqual(benchArgs(load), []);

      const migrate = await b.run(
        SITE_RESTORE_SCRIPT,
        b.env({ [SITE_ENV.restoreDir]: set, FAKE_FAIL: 'migrate' }),
      );
      failed(migrate, 'MigrationFailed');
      assert.equal(b.config().maintenance_mode, 1, 'stays in maintenance mode');
    },
  );

  withBench(
    'delete drops the database as the site user, removes the site and its link; twice is fine',
    async (b) => {
      b.seedSite();
      const env = { ...b.env(), [SITE_ENV.dropDatabase]: '1' };
      const run = await b.run(SITE_DELETE_SCRIPT, env);
      ok(run);
      assert.deepEqual(run.report, { deleted: true, databaseDropped: true });
      assert.deepEqual(benchArgs(run), []);
      const drop = run.calls[0];
      assert.ok(drop?.tool === 'mariadb');
      assert.equal(drop.stdin, `DROP DATABASE IF EXISTS \`${DB}\`;\n`);
      assert.ok(!drop.argv.includes(DB), 'connects without selecting the database it drops');
      assert.ok(drop.defaultsFile?.content.includes('password="'));
      assertDefaultsFilesGone(b, run);
      assert.ok(!fs.existsSync(b.sites(SITE)));
      assert.ok(!fs.existsSync(b.sites(DOMAIN)) && !isLink(b.sites(DOMAIN)));
      assert.ok(fs.existsSync(b.sites('apps.txt')), 'the rest of the bench is untouched');

      ok(await b.run(SITE_DELETE_SCRIPT, env));
    },
  );

  withBench(
    'delete without DROP_DATABASE keeps the database and a link that is not the site’s',
    async (b) => {
      b.seedSite();
      fs.unlinkSync(b.sites(DOMAIN));
      fs.symlinkSync('another.example.com', b.sites(DOMAIN));
      const run = await b.run(SITE_DELETE_SCRIPT, {
        [SITE_ENV.siteName]: SITE,
        [SITE_ENV.siteDomain]: DOMAIN,
      });
      ok(run);
      assert.deepEqual(run.calls, []);
      assert.deepEqual(run.report, { deleted: true, databaseDropped: false });
      assert.ok(!fs.existsSync(b.sites(SITE)));
      assert.equal(fs.readlinkSync(b.sites(DOMAIN)), 'another.example.com');
    },
  );

  withBench('a failed DROP DATABASE keeps the site files', async (b) => {
    b.seedSite();
    const run = await b.run(SITE_DELETE_SCRIPT, {
      ...b.env(),
      [SITE_ENV.dropDatabase]: '1',
      FAKE_FAIL: 'mariadb',
    });
    failed(run, 'DatabaseDropFailed');
    assert.ok(fs.existsSync(b.sites(SITE, 'site_config.json')));
    assertDefaultsFilesGone(b, run);
  });

  function isLink(p: string): boolean {
    try {
      return fs.lstatSync(p).isSymbolicLink();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }
});

test('parseSiteReport reads results and failures', () => {
  assert.deepEqual(parseSiteReport('{"installedApps":["frappe","erpnext",3]}'), {
    ok: true,
    value: { installedApps: ['frappe', 'erpnext'] },
  });
  assert.deepEqual(parseSiteReport('{"deleted":true,"databaseDropped":false}'), {
    ok: true,
    value: { deleted: true, databaseDropped: false },
  });
  assert.deepEqual(parseSiteReport('{"error":"MigrationFailed","message":"m"}'), {
    ok: false,
    reason: 'MigrationFailed',
    message: 'm',
  });
  assert.equal(parseSiteReport(undefined).ok, false);
  assert.equal(parseSiteReport('[1]').ok, false);
});
