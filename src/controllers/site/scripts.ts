// The programs the FrappeSite controller's Jobs run inside the bench image (API.md §3.3): site-init,
// migrate, admin-password, restore and delete. Each is a Python 3 program run by the bench's own
// interpreter as `[BENCH_PYTHON, '-c', SCRIPT]` with `workingDir: /home/frappe/frappe-bench`; it
// uses paths relative to that directory (`sites/...`), finds `bench` and the MariaDB client on
// PATH, and reports through the termination message (JSON ≤ 4 KiB, `TERMINATION_MESSAGE_PATH`,
// default /dev/termination-log): on success a JSON object (below), on failure
// `{"error": "<Reason>", "message": "..."}` and exit code 1. Messages name the command that failed,
// never its output.
//
// Secrets (DB password, admin password, encryption key) arrive as mounted Secret files whose PATHS
// are in env. Their values never reach an argv (the script's, bench's or the client's), the
// environment, or the script's stdout/stderr: bench gets the admin password on stdin, Frappe gets
// the DB password and the encryption key in `sites/<site>/site_config.json` (where Frappe keeps
// them), and the MariaDB client gets the site's own credentials from a 0600 temporary
// `--defaults-extra-file`, deleted afterwards.
//
// What each script mirrors upstream (checked against the sources; see also the report of the
// change that added this file):
// * bench CLI (frappe/bench bench/cli.py `frappe_cmd`): `bench <args>` in a bench directory
//   exec's `env/bin/python -m frappe.utils.bench_helper frappe <args>` with cwd `sites/`; bench is
//   on PATH in the image (frappe/frappe_docker images/production/Containerfile:
//   `pip3 install frappe-bench` into the system Python of python:*-slim, /usr/local/bin).
// * site creation in containers: frappe/helm erpnext/templates/job-create-site.yaml and
//   frappe_docker run `bench new-site <site> --db-host … --admin-password … --mariadb-root-…`,
//   i.e. with root credentials and passwords on argv. We use the root-less path instead:
//   `--setup-db/--no-setup-db` (frappe/frappe frappe/commands/site.py, develop/version-16; added by
//   frappe/frappe#23170 and backported to version-15-hotfix by #27626) skips
//   `setup_database` (DROP/CREATE DATABASE, CREATE USER, which need root) and only bootstraps the
//   schema into the existing database (frappe/installer.py `install_db(setup=…)` →
//   `bootstrap_database`). `--db-user` exists only from v16 (frappe.io docs "bench new-site";
//   frappe/bench#1656: not in v15), so we never pass it.
// * DB password without argv: `new-site` has no prompt for it; `make_site_config`
//   (frappe/installer.py) writes site_config.json only when it does not exist yet, and otherwise
//   keeps it, and with no `--db-password` it would invent a random one. So the script writes
//   site_config.json first (db_name, db_password, db_host, db_port, db_type, db_user,
//   encryption_key, host_name) and runs `new-site --force`, because `_new_site` refuses a site
//   directory that exists unless forced ("Site … already exists, use `--force`"); with
//   `--no-setup-db` `--force` touches no database object beyond what bootstrap does anyway.
//   `db_user` is the key Frappe reads for the user (`config.get("db_user") or
//   config.get("db_name")`, frappe `get_site_config`; make_site_config writes it since v16).
// * Admin password without argv: Frappe's after-install asks `getpass.getpass("Set Administrator
//   password: ")` when neither `--admin-password` nor `admin_password` is given
//   (frappe/utils/install.py `get_admin_password`; older releases ask twice, so the script sends
//   the line twice). Python's getpass falls back to reading a line from stdin when there is no
//   controlling terminal; the scripts start bench in a new session (`start_new_session`) so there
//   never is one. `set-admin-password` takes the password as an optional argument and otherwise
//   prompts with getpass in a loop (frappe/commands/site.py `set_user_password`, v15 and v16).
// * `list-apps --format json` prints `{"<site>": ["frappe", …]}` (frappe/commands/site.py
//   `list_apps`); when that list is empty (Installed Applications not filled yet) or the option
//   is unknown, the plain text form (one app per line, name first) is read instead.
// * Backups (frappe/utils/backups.py `BackupGenerator`): `<ts>-<site_slug>-database.sql.gz`
//   (`-partial-database.sql.gz` for partial ones), `-files.tar`, `-private-files.tar` (`.tgz`
//   with `--compress`), the tars made by `tar -cf <backup> ./<site>/<public|private>/files`;
//   `bench restore` extracts them with `tar xf <tar> --strip 2` in the site directory
//   (frappe/installer.py `extract_files`), i.e. into `<site>/<public|private>/files`. The restore
//   script does the same with Python's tarfile, keeping only regular files and directories under
//   `public/files` or `private/files` (no links, no path escaping the site).
// * MariaDB client: the image installs Debian's `mariadb-client` (Containerfile); Frappe itself
//   runs `which("mariadb") or which("mysql")` (frappe/database/__init__.py `get_command`), and so
//   do the scripts. `--defaults-extra-file` must be the client's first option.
// * Maintenance mode: `bench --site <s> set-maintenance-mode on|off` writes `maintenance_mode`
//   into site_config.json (frappe/commands/site.py); frappe/helm job-migrate-site.yaml runs
//   on → migrate → off.
import { BENCH_DIR } from '../shared/pod.ts';
import { parseReport, type Report } from '../../runtime/jobs.ts';

/** The bench's own Python, which runs every site script. */
export const BENCH_PYTHON = `${BENCH_DIR}/env/bin/python`;

/**
 * The environment variables of the site scripts (the contract with the controller that builds
 * their Jobs). Secrets are given as the PATH of a mounted Secret file (`…_FILE`), never a value.
 */
export const SITE_ENV = {
  /** Frappe site directory name (`spec.siteName`). All scripts. */
  siteName: 'SITE_NAME',
  /** Resolved domain; when it differs from SITE_NAME, `sites/<domain>` → `<siteName>`. */
  siteDomain: 'SITE_DOMAIN',
  /** `status.siteURL` (`https://…` or `http://…`), written as `host_name`. init, restore. */
  siteUrl: 'SITE_URL',
  /** JSON array of app names to install (init; restore installs those the dump lacks). */
  siteApps: 'SITE_APPS',
  /** init only: `new` (default) or `adopt` (`spec.skipInit`: never runs new-site). */
  initMode: 'SITE_INIT_MODE',
  dbName: 'DB_NAME',
  dbHost: 'DB_HOST',
  dbPort: 'DB_PORT',
  /** The DB user name, or else DB_USER_FILE (a file holding it, for external databases). */
  dbUser: 'DB_USER',
  dbUserFile: 'DB_USER_FILE',
  /** Path of the file holding the site DB user's password. init, restore, delete (drop). */
  dbPasswordFile: 'DB_PASSWORD_FILE',
  /** Path of the file holding the Administrator password. init (new), admin-password, restore. */
  adminPasswordFile: 'ADMIN_PASSWORD_FILE',
  /** Path of the file holding the Fernet encryption key. init, restore. */
  encryptionKeyFile: 'ENCRYPTION_KEY_FILE',
  /** restore: the directory the download step filled (`*.sql.gz`, optional files tars). */
  restoreDir: 'RESTORE_DIR',
  /** delete: `1` also drops the database with the site's own credentials (external provider). */
  dropDatabase: 'DROP_DATABASE',
  /** delete: `1` removes only the domain link and keeps the site (deletionPolicy Retain). */
  keepSite: 'KEEP_SITE',
  /** Where the report goes; Kubernetes' default when unset. */
  terminationMessagePath: 'TERMINATION_MESSAGE_PATH',
} as const;

/** Every `error` reason the scripts report. */
export const SITE_SCRIPT_REASONS = [
  'AppNotInBench',
  'BenchNotInitialized',
  'BenchNotFound',
  'SiteNameConflict',
  'DomainConflict',
  'SecretUnreadable',
  'SecretEmpty',
  'InvalidSiteConfig',
  'DatabaseNotEmpty',
  'DatabaseUnavailable',
  'DatabaseClientMissing',
  'SiteCreationFailed',
  'SiteNotFound',
  'MigrationFailed',
  'MaintenanceModeFailed',
  'AppInstallFailed',
  'ListAppsFailed',
  'AdminPasswordFailed',
  'BackupNotFound',
  'InvalidBackup',
  'PartialBackup',
  'DatabaseLoadFailed',
  'FilesRestoreFailed',
  'DatabaseDropFailed',
  'InvalidJobEnvironment',
] as const;

/** What a site script reports on success (init, migrate, restore: `installedApps`). */
export interface SiteScriptResult {
  installedApps?: string[];
  /** admin-password */
  adminPasswordSet?: boolean;
  /** delete */
  deleted?: boolean;
  databaseDropped?: boolean;
}

/** The container command of a site Job. */
export const siteScriptCommand = (script: string): string[] => [BENCH_PYTHON, '-c', script];

/**
 * Shared by every script: the report, env and secret reading, bench and MariaDB client calls,
 * site_config.json, the domain link, installed apps. No script puts a secret into an argv, the
 * environment or its own output.
 */
const COMMON = String.raw`import gzip, json, os, re, shutil, stat, subprocess, sys, tarfile, tempfile

LIMIT = 4096
SITES = 'sites'
MARKER = '.frappe-operator-new-site'
NAME = re.compile(r'^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$')
APP = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')
TEXT_APP = re.compile(r'^[a-z][a-z0-9_]*$')
DB_NAME = re.compile(r'^[A-Za-z0-9_$-]{1,64}$')
RETRY = 'change the FrappeSite annotation vyogo.tech/retry (any new value) to run the Job again'


def report(result):
    text = json.dumps(result, separators=(',', ':'))
    while len(text.encode()) > LIMIT:
        if 'message' in result:
            result['message'] = result['message'][: max(0, len(result['message']) - (len(text.encode()) - LIMIT) - 16)] + '...'
        elif result.get('installedApps'):
            result['installedApps'] = result['installedApps'][:-1]
        else:
            break
        text = json.dumps(result, separators=(',', ':'))
    with open(os.environ.get('TERMINATION_MESSAGE_PATH') or '/dev/termination-log', 'w') as f:
        f.write(text)


def fail(reason, message):
    print('frappe-operator: ' + reason + ': ' + message, file=sys.stderr, flush=True)
    report({'error': reason, 'message': message})
    sys.exit(1)


def need(name):
    value = os.environ.get(name, '').strip()
    if not value:
        fail('InvalidJobEnvironment', 'environment variable ' + name + ' is not set: the operator built this Job wrongly; please report it')
    return value


def valid_name(var, value):
    if not NAME.match(value) or '..' in value:
        fail('InvalidJobEnvironment', var + ' is not a valid site or domain name: the operator built this Job wrongly; please report it')
    return value


def site_name():
    return valid_name('SITE_NAME', need('SITE_NAME'))


def site_domain(site):
    value = os.environ.get('SITE_DOMAIN', '').strip()
    if not value or value == site:
        return None
    return valid_name('SITE_DOMAIN', value)


def wanted_apps():
    raw = os.environ.get('SITE_APPS', '').strip()
    if not raw:
        return []
    try:
        apps = json.loads(raw)
    except ValueError:
        apps = None
    if not isinstance(apps, list) or not all(isinstance(a, str) and APP.match(a) for a in apps):
        fail('InvalidJobEnvironment', 'SITE_APPS is not a JSON array of app names: the operator built this Job wrongly; please report it')
    return list(dict.fromkeys(apps))


def bench_apps():
    path = os.path.join(SITES, 'apps.txt')
    try:
        with open(path) as f:
            return [line.strip() for line in f if line.strip()]
    except OSError:
        fail('BenchNotInitialized', 'sites/apps.txt is missing: the bench-init Job of this bench has not completed; wait for the FrappeBench to be Ready')


def check_apps_in_bench(apps):
    have = bench_apps()
    missing = [a for a in apps if a not in have]
    if missing:
        fail('AppNotInBench', 'the bench image has no app ' + ', '.join(missing) + ' (it has ' + ', '.join(have) + '): add it to the FrappeBench apps and its image, or remove it from the FrappeSite spec.apps')


def read_file(var, secret):
    path = need(var)
    try:
        with open(path, encoding='utf-8') as f:
            value = f.read()
    except (OSError, UnicodeDecodeError) as e:
        detail = e.strerror if isinstance(e, OSError) and e.strerror else type(e).__name__
        fail('SecretUnreadable', 'cannot read ' + path + ' (named by ' + var + '): ' + detail + '; check that the Secret and its key exist')
    value = value.rstrip('\r\n')
    if not value:
        fail('SecretEmpty', path + ' (named by ' + var + ') is empty: put a value into the Secret key it is mounted from')
    if secret and '\n' in value:
        fail('SecretUnreadable', path + ' (named by ' + var + ') holds more than one line: a password or key must be a single line')
    return value


def read_secret(var):
    return read_file(var, True)


def db_settings():
    name = need('DB_NAME')
    if not DB_NAME.match(name):
        fail('InvalidJobEnvironment', 'DB_NAME is not a valid database name: the operator built this Job wrongly; please report it')
    port = need('DB_PORT')
    if not port.isdigit() or not 0 < int(port) < 65536:
        fail('InvalidJobEnvironment', 'DB_PORT is not a port number: the operator built this Job wrongly; please report it')
    user = os.environ.get('DB_USER', '').strip() or read_file('DB_USER_FILE', False)
    return {
        'db_name': name,
        'db_host': need('DB_HOST'),
        'db_port': int(port),
        'db_user': user,
        'db_password': read_secret('DB_PASSWORD_FILE'),
        'db_type': 'mariadb',
    }


def site_url():
    value = os.environ.get('SITE_URL', '').strip()
    if value and not re.match(r'^https?://[^\s/]+$', value):
        fail('InvalidJobEnvironment', 'SITE_URL is not an http(s) URL of a host: the operator built this Job wrongly; please report it')
    return value


def run(args, stdin=None, capture=False):
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        # A new session has no controlling terminal, so Frappe's getpass prompts read stdin.
        return subprocess.run(args, input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL, stdout=subprocess.PIPE if capture else None, start_new_session=True)
    except OSError as e:
        if args[0] == 'bench':
            fail('BenchNotFound', 'cannot run bench (' + (e.strerror or type(e).__name__) + '): the image must have the frappe-bench CLI on PATH, as frappe/erpnext images do')
        raise


def bench(args, stdin=None, capture=False):
    result = run(['bench'] + args, stdin, capture)
    if capture and result.stdout:
        sys.stdout.write(result.stdout.decode('utf-8', 'replace'))
    return result


def shown(args):
    return "'bench " + ' '.join(args) + "'"


def bench_ok(args, reason, advice, stdin=None):
    result = bench(args, stdin)
    if result.returncode != 0:
        fail(reason, shown(args) + ' failed with exit code ' + str(result.returncode) + ' (its output is in the pod log); ' + advice)


def json_apps(text, site):
    decoder = json.JSONDecoder()
    for m in re.finditer(r'^\{', text, re.M):
        try:
            value, _ = decoder.raw_decode(text, m.start())
        except ValueError:
            continue
        if isinstance(value, dict) and isinstance(value.get(site), list):
            return [a for a in value[site] if isinstance(a, str) and APP.match(a)]
    return []


def text_apps(text):
    apps = []
    for line in text.splitlines():
        words = line.split()
        if words and TEXT_APP.match(words[0]) and words[0] not in apps:
            apps.append(words[0])
    return apps


def installed_apps(site):
    result = bench(['--site', site, 'list-apps', '--format', 'json'], capture=True)
    apps = json_apps(result.stdout.decode('utf-8', 'replace'), site) if result.returncode == 0 else []
    if not apps:
        args = ['--site', site, 'list-apps']
        result = bench(args, capture=True)
        if result.returncode != 0:
            fail('ListAppsFailed', shown(args) + ' failed with exit code ' + str(result.returncode) + ' (its output is in the pod log); the site may not be reachable: check its database')
        apps = text_apps(result.stdout.decode('utf-8', 'replace'))
    if not apps:
        fail('ListAppsFailed', "'bench --site " + site + " list-apps' listed no app: the site's database may not be a Frappe site")
    return apps


def site_dir(site):
    path = os.path.join(SITES, site)
    if os.path.islink(path):
        fail('SiteNameConflict', 'sites/' + site + ' is a symbolic link (the domain link of another site?), not a site directory: remove it or choose another siteName')
    return path


def config_path(site):
    return os.path.join(SITES, site, 'site_config.json')


def load_config(site):
    path = config_path(site)
    if not os.path.exists(path):
        return {}
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        data = None
    if not isinstance(data, dict):
        fail('InvalidSiteConfig', 'sites/' + site + '/site_config.json is not a readable JSON object: fix or restore it on the sites volume')
    return data


def write_config(site, data):
    # As frappe.installer writes it (indent 1, sorted keys); never readable by others.
    path = config_path(site)
    tmp = path + '.tmp'
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o660)
    os.fchmod(fd, 0o660)
    with os.fdopen(fd, 'w') as f:
        f.write(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


def make_site_dirs(site):
    # frappe.installer.make_site_dirs
    for sub in (('public', 'files'), ('private', 'backups'), ('private', 'files'), ('locks',), ('logs',)):
        os.makedirs(os.path.join(SITES, site, *sub), exist_ok=True)


def merge_config(site, db, url, key, replace_key):
    config = load_config(site)
    config.update(db)
    if url:
        config['host_name'] = url
    if replace_key or not config.get('encryption_key'):
        config['encryption_key'] = key
    elif config['encryption_key'] != key:
        print('frappe-operator: sites/' + site + "/site_config.json keeps its own encryption_key, which differs from the Secret's: it is never replaced (the site's stored passwords need it)", file=sys.stderr)
    return config


def check_domain(site, domain):
    if not domain:
        return
    path = os.path.join(SITES, domain)
    if os.path.lexists(path) and not os.path.islink(path):
        fail('DomainConflict', 'sites/' + domain + ' is a real directory or file, not a link: the operator links the domain to sites/' + site + ' but never replaces a real one; move it away, or set spec.domain')


def link_domain(site, domain):
    if not domain:
        return
    check_domain(site, domain)
    path = os.path.join(SITES, domain)
    if os.path.islink(path) and os.readlink(path) == site:
        return
    tmp = os.path.join(SITES, '.' + domain + '.link')
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(site, tmp)
    os.replace(tmp, path)


def option(value):
    # A quoted option-file value: MariaDB unescapes \\ \" \n inside quotes and keeps # literal.
    return '"' + value.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n') + '"'


def client():
    found = shutil.which('mariadb') or shutil.which('mysql')
    if not found:
        fail('DatabaseClientMissing', 'neither mariadb nor mysql is on PATH in the bench image: use an image with the MariaDB client (frappe/erpnext images have it)')
    return found


def mariadb(db, extra, feed, capture=False):
    """Run the MariaDB client as the site's own user; credentials in a 0600 file, deleted after."""
    binary = client()
    fd, path = tempfile.mkstemp(prefix='frappe-operator-', suffix='.cnf')
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, 'w') as f:
            f.write('[client]\nuser=' + option(db['db_user']) + '\npassword=' + option(db['db_password']) + '\nhost=' + option(db['db_host']) + '\nport=' + str(db['db_port']) + '\n')
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            proc = subprocess.Popen([binary, '--defaults-extra-file=' + path] + extra, stdin=subprocess.PIPE, stdout=subprocess.PIPE if capture else None, start_new_session=True)
        except OSError as e:
            fail('DatabaseClientMissing', 'cannot run ' + binary + ' (' + (e.strerror or type(e).__name__) + ')')
        out = b''
        try:
            if capture:
                out, _ = proc.communicate(b''.join(feed()))
            else:
                for chunk in feed():
                    proc.stdin.write(chunk)
        except BrokenPipeError:
            pass
        finally:
            if not capture:
                try:
                    proc.stdin.close()
                except BrokenPipeError:
                    pass
        return proc.wait(), out
    finally:
        os.unlink(path)


def sql(text):
    return lambda: [text.encode()]


def quoted(name):
    q = chr(96)
    return q + name + q
`;

/**
 * site-init (`<site>-init`). Creates the site with `bench new-site --no-setup-db` into the
 * pre-provisioned database, or, when `site_config.json` exists (or SITE_INIT_MODE=adopt), updates
 * its DB settings, migrates and installs the apps it lacks. Reports `{"installedApps": [...]}`.
 *
 * Idempotence: the first run refuses a database that already has tables (`DatabaseNotEmpty`:
 * new-site would replace them; `spec.skipInit` adopts them). While new-site has not succeeded the
 * site directory holds the marker `.frappe-operator-new-site`, so a failed attempt is retried with
 * new-site over its own leftovers, and a created site (no marker) is never created again.
 */
export const SITE_INIT_SCRIPT =
  COMMON +
  String.raw`

def count_tables(db):
    code, out = mariadb(db, ['--batch', '--skip-column-names', db['db_name']], sql('SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE();\n'), capture=True)
    words = out.decode('utf-8', 'replace').split()
    if code != 0 or not words or not words[-1].isdigit():
        fail('DatabaseUnavailable', 'the MariaDB client could not query database ' + db['db_name'] + ' on ' + db['db_host'] + ':' + str(db['db_port']) + ' as its own user (exit code ' + str(code) + ', output in the pod log): check that the database and user exist and the password Secret is right')
    return int(words[-1])


def create(site, path, db, url, key, apps):
    admin = read_secret('ADMIN_PASSWORD_FILE')
    marker = os.path.join(path, MARKER)
    if not os.path.exists(marker):
        tables = count_tables(db)
        if tables:
            fail('DatabaseNotEmpty', 'database ' + db['db_name'] + ' already has ' + str(tables) + ' tables but sites/' + site + '/site_config.json does not exist: new-site would replace them. To keep that data set spec.skipInit: true (the site is adopted and migrated); to start afresh empty the database yourself')
        os.makedirs(path, exist_ok=True)
        with open(marker, 'w') as f:
            f.write('bench new-site has not completed for this site; the next site-init run creates it again\n')
    write_config(site, merge_config(site, db, url, key, False))
    args = ['new-site', site, '--force', '--no-setup-db', '--db-name', db['db_name'], '--db-type', 'mariadb', '--db-host', db['db_host'], '--db-port', str(db['db_port'])]
    for app in apps:
        args += ['--install-app', app]
    # Frappe asks "Set Administrator password" once (older releases twice, to confirm).
    result = bench(args, stdin=((admin + '\n') * 2).encode())
    if result.returncode != 0:
        fail('SiteCreationFailed', shown(args) + ' failed with exit code ' + str(result.returncode) + " (Frappe's output is in the pod log). sites/" + site + ' keeps the marker ' + MARKER + ', so the next run creates the site again over what this attempt left in database ' + db['db_name'] + '; fix the cause and ' + RETRY)
    os.unlink(marker)


def adopt(site, path, db, url, key, apps):
    os.makedirs(path, exist_ok=True)
    make_site_dirs(site)
    write_config(site, merge_config(site, db, url, key, False))
    bench_ok(['--site', site, 'migrate'], 'MigrationFailed', "the site's database may belong to apps or versions this image lacks; fix the cause and " + RETRY)
    installed = installed_apps(site)
    for app in apps:
        if app not in installed:
            bench_ok(['--site', site, 'install-app', app], 'AppInstallFailed', 'fix the cause and ' + RETRY)


site = site_name()
domain = site_domain(site)
mode = os.environ.get('SITE_INIT_MODE', '').strip() or 'new'
if mode not in ('new', 'adopt'):
    fail('InvalidJobEnvironment', 'SITE_INIT_MODE must be new or adopt: the operator built this Job wrongly; please report it')
apps = wanted_apps()
check_apps_in_bench(apps)
check_domain(site, domain)
path = site_dir(site)
db = db_settings()
url = site_url()
key = read_secret('ENCRYPTION_KEY_FILE')
exists = os.path.isfile(config_path(site)) and not os.path.exists(os.path.join(path, MARKER))
if mode == 'adopt' or exists:
    adopt(site, path, db, url, key, apps)
else:
    create(site, path, db, url, key, apps)
link_domain(site, domain)
report({'installedApps': installed_apps(site)})
`;

/**
 * migrate (`<site>-migrate-<hash>`): maintenance mode on, `migrate`, off (frappe/helm
 * job-migrate-site.yaml). A failed migrate leaves maintenance mode on and reports
 * `MigrationFailed`. Reports `{"installedApps": [...]}`.
 */
export const SITE_MIGRATE_SCRIPT =
  COMMON +
  String.raw`

site = site_name()
site_dir(site)
if not os.path.isfile(config_path(site)):
    fail('SiteNotFound', 'sites/' + site + '/site_config.json does not exist: the site has not been created (or was removed) on this bench')
bench_ok(['--site', site, 'set-maintenance-mode', 'on'], 'MaintenanceModeFailed', 'nothing was migrated; ' + RETRY)
args = ['--site', site, 'migrate']
result = bench(args)
if result.returncode != 0:
    fail('MigrationFailed', shown(args) + ' failed with exit code ' + str(result.returncode) + " (Frappe's output is in the pod log). The site stays in maintenance mode (maintenance_mode: 1 in sites/" + site + '/site_config.json) so nobody works on a half-migrated database. Fix the cause (or roll the bench image back), then ' + RETRY)
bench_ok(['--site', site, 'set-maintenance-mode', 'off'], 'MaintenanceModeFailed', 'the site is migrated but still in maintenance mode; ' + RETRY)
report({'installedApps': installed_apps(site)})
`;

/**
 * admin-password (`<site>-admin-password`): `bench --site <s> set-admin-password
 * --logout-all-sessions` with the password on stdin (a rotation also ends the sessions opened
 * with the old one). Reports `{"adminPasswordSet": true}`.
 */
export const SITE_ADMIN_PASSWORD_SCRIPT =
  COMMON +
  String.raw`

site = site_name()
site_dir(site)
if not os.path.isfile(config_path(site)):
    fail('SiteNotFound', 'sites/' + site + '/site_config.json does not exist: the site has not been created on this bench')
admin = read_secret('ADMIN_PASSWORD_FILE')
bench_ok(['--site', site, 'set-admin-password', '--logout-all-sessions'], 'AdminPasswordFailed', 'the password was not changed; ' + RETRY, stdin=(admin + '\n').encode())
report({'adminPasswordSet': True})
`;

/**
 * restore (`<site>-restore`): writes site_config.json (DB settings, the Secret's encryption key,
 * which must be the source site's, maintenance mode on), loads the dump into the site's own
 * database as the site's own user, extracts the files tars like `bench restore`, migrates,
 * installs SITE_APPS the dump lacks, sets the admin password, turns maintenance mode off, links
 * the domain. Reports `{"installedApps": [...]}`. Loading again over an earlier restore is fine:
 * a bench dump drops and creates its tables.
 */
export const SITE_RESTORE_SCRIPT =
  COMMON +
  String.raw`

def backup_files(directory):
    try:
        names = sorted(n for n in os.listdir(directory) if os.path.isfile(os.path.join(directory, n)))
    except OSError as e:
        fail('BackupNotFound', 'cannot list RESTORE_DIR ' + directory + ' (' + (e.strerror or type(e).__name__) + '): the download step did not fill it')
    dumps = [n for n in names if n.endswith('.sql.gz')]
    if len(dumps) > 1:
        dumps = [n for n in dumps if n.endswith('-database.sql.gz')] or dumps
    if not dumps:
        fail('BackupNotFound', 'no *.sql.gz database dump in ' + directory + ' (it has: ' + (', '.join(names) or 'nothing') + '): check restoreFrom.backup')
    if len(dumps) > 1:
        fail('InvalidBackup', 'more than one database dump in ' + directory + ' (' + ', '.join(dumps) + '): point restoreFrom.backup at one dump or one backup set')
    tars = [n for n in names if n.endswith(('.tar', '.tgz'))]
    private = [n for n in tars if n.endswith(('private-files.tar', 'private-files.tgz'))]
    public = [n for n in tars if n not in private and n.endswith(('files.tar', 'files.tgz'))]
    for kind, found in (('public', public), ('private', private)):
        if len(found) > 1:
            fail('InvalidBackup', 'more than one ' + kind + ' files tar in ' + directory + ' (' + ', '.join(found) + ')')
    pick = lambda found: os.path.join(directory, found[0]) if found else None
    return os.path.join(directory, dumps[0]), pick(public), pick(private)


def check_dump(path):
    name = os.path.basename(path)
    with open(path, 'rb') as f:
        magic = f.read(2)
    if magic != b'\x1f\x8b':
        fail('InvalidBackup', name + ' is not gzip-compressed (an encrypted backup?): the restore takes the plain *-database.sql.gz of bench backup')
    try:
        with gzip.open(path, 'rb') as f:
            head = f.read(4096)
    except (OSError, EOFError):
        fail('InvalidBackup', name + ' is not a readable gzip file: the download may be incomplete; ' + RETRY)
    if '-partial-' in name or b'Partial Backup' in head:
        fail('PartialBackup', name + ' is a partial backup (bench backup --only/--exclude): it cannot restore a whole site; use a full backup')


def dump_chunks(path):
    def feed():
        with gzip.open(path, 'rb') as f:
            while True:
                chunk = f.read(1 << 20)
                if not chunk:
                    return
                yield chunk
    return feed


def extract(site, tar_path):
    # frappe.installer.extract_files runs "tar xf <tar> --strip 2" in the site directory; members
    # are ./<site>/<public|private>/files/...; keep only files and directories under those.
    root = os.path.realpath(os.path.join(SITES, site))
    count = 0
    try:
        with tarfile.open(tar_path, 'r:*') as archive:
            for member in archive:
                parts = [p for p in member.name.split('/') if p not in ('', '.')]
                at = next((i for i in range(len(parts) - 1) if parts[i] in ('public', 'private') and parts[i + 1] == 'files'), None)
                if at is None or '..' in parts[at:] or not (member.isdir() or member.isfile()):
                    continue
                target = os.path.join(root, *parts[at:])
                if not os.path.realpath(target).startswith(root + os.sep):
                    continue
                if member.isdir():
                    os.makedirs(target, exist_ok=True)
                    continue
                os.makedirs(os.path.dirname(target), exist_ok=True)
                if os.path.islink(target):
                    os.unlink(target)
                source = archive.extractfile(member)
                with open(target, 'wb') as out:
                    shutil.copyfileobj(source, out)
                count += 1
    except (OSError, tarfile.TarError) as e:
        fail('FilesRestoreFailed', 'cannot extract ' + os.path.basename(tar_path) + ' into sites/' + site + ' (' + type(e).__name__ + '): the download may be incomplete or the volume full; ' + RETRY)
    print('frappe-operator: restored ' + str(count) + ' files from ' + os.path.basename(tar_path))


site = site_name()
domain = site_domain(site)
apps = wanted_apps()
if apps:
    check_apps_in_bench(apps)
dump, public, private = backup_files(need('RESTORE_DIR'))
check_dump(dump)
check_domain(site, domain)
path = site_dir(site)
db = db_settings()
url = site_url()
key = read_secret('ENCRYPTION_KEY_FILE')
admin = read_secret('ADMIN_PASSWORD_FILE')
os.makedirs(path, exist_ok=True)
make_site_dirs(site)
# The dump's encrypted fields need the source site's key: the Secret's key always wins here.
config = merge_config(site, db, url, key, True)
config['maintenance_mode'] = 1
write_config(site, config)
code, _ = mariadb(db, [db['db_name']], dump_chunks(dump))
if code != 0:
    fail('DatabaseLoadFailed', 'loading ' + os.path.basename(dump) + ' into database ' + db['db_name'] + ' with the MariaDB client as the site user failed with exit code ' + str(code) + ' (its output is in the pod log): check the database, its user and the dump; ' + RETRY)
for tar in (public, private):
    if tar:
        extract(site, tar)
args = ['--site', site, 'migrate']
result = bench(args)
if result.returncode != 0:
    fail('MigrationFailed', shown(args) + ' failed with exit code ' + str(result.returncode) + " after the database was loaded (Frappe's output is in the pod log). The site stays in maintenance mode; a dump from a newer Frappe than the image cannot be migrated. Fix the cause, then " + RETRY)
installed = installed_apps(site)
for app in apps:
    if app not in installed:
        bench_ok(['--site', site, 'install-app', app], 'AppInstallFailed', 'the site stays in maintenance mode; fix the cause and ' + RETRY)
bench_ok(['--site', site, 'set-admin-password', '--logout-all-sessions'], 'AdminPasswordFailed', 'the site stays in maintenance mode; ' + RETRY, stdin=(admin + '\n').encode())
bench_ok(['--site', site, 'set-maintenance-mode', 'off'], 'MaintenanceModeFailed', 'the site is restored but still in maintenance mode; ' + RETRY)
link_domain(site, domain)
report({'installedApps': installed_apps(site)})
`;

/**
 * delete (`<site>-delete`): with KEEP_SITE=1 (deletionPolicy Retain) only removes the domain
 * link. Otherwise, with DROP_DATABASE=1 it drops the database as the site's own user (the
 * files stay when that fails, so the Job can be retried), then removes the domain link (only a
 * link pointing at this site) and `sites/<siteName>`. Already gone is success. Reports
 * `{"deleted": true, "databaseDropped": <bool>}`.
 */
export const SITE_DELETE_SCRIPT =
  COMMON +
  String.raw`

site = site_name()
domain = site_domain(site)
keep = os.environ.get('KEEP_SITE', '').strip() == '1'
dropped = False
if not keep and os.environ.get('DROP_DATABASE', '').strip() == '1':
    db = db_settings()
    code, _ = mariadb(db, ['--batch'], sql('DROP DATABASE IF EXISTS ' + quoted(db['db_name']) + ';\n'))
    if code != 0:
        fail('DatabaseDropFailed', 'DROP DATABASE ' + db['db_name'] + ' with the MariaDB client as the site user failed with exit code ' + str(code) + ' (its output is in the pod log); the site files are kept. Check the database host and the credentials Secret, then ' + RETRY)
    dropped = True
if domain:
    link = os.path.join(SITES, domain)
    if os.path.islink(link) and os.readlink(link) == site:
        os.unlink(link)
path = os.path.join(SITES, site)
if keep:
    pass
elif os.path.islink(path):
    os.unlink(path)
elif os.path.isdir(path):
    shutil.rmtree(path)
report({'deleted': not keep, 'databaseDropped': dropped})
`;

/** Parse a site script's termination message; anything unexpected is a failure report. */
export const parseSiteReport = (message: string | undefined): Report<SiteScriptResult> =>
  parseReport(message, 'the site Job', (r) => {
    const value: SiteScriptResult = {};
    if (Array.isArray(r.installedApps)) {
      value.installedApps = r.installedApps.filter((a): a is string => typeof a === 'string');
    }
    if (typeof r.adminPasswordSet === 'boolean') value.adminPasswordSet = r.adminPasswordSet;
    if (typeof r.deleted === 'boolean') value.deleted = r.deleted;
    if (typeof r.databaseDropped === 'boolean') value.databaseDropped = r.databaseDropped;
    return value;
  });
