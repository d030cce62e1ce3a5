// `frappe-operator render` and `crds` (src/render), and `--help` of every subcommand:
//   - golden file of what render prints for the samples (config/samples: prod-bench, and site
//     erp on a dedicated MariaDB) and the Operations Guide's SiteBackup daily-backup and SiteJobs
//     manual-backup and migrate-prod-site on a site prod-site (an external database whose
//     connection Secret is in the input); `node --test --test-update-snapshots` rewrites it after
//     a deliberate change — review the diff like code;
//   - no secret value is printed: every Secret shows its keys with the placeholder only;
//   - errors name what to fix, with exit code 2 (input, usage) or 1 (a file that cannot be read);
//   - `crds` prints the four CRDs; every subcommand's `--help` exits 0 and names its flags.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { loadManifest, MANIFESTS } from '../../../src/dev/guide/guide.ts';
import type { KubeObject } from '../../../src/kube/client.ts';
import { crdsCommand, renderCommand, type CommandIO } from '../../../src/render/index.ts';
import { GENERATED_VALUE } from '../../../src/render/render.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(ROOT, 'src', 'cli.ts');
const SAMPLES = ['frappebench.yaml', 'frappesite.yaml'].map((f) =>
  join(ROOT, 'config', 'samples', f),
);
const DB_PASSWORD = 'unit-test-db-password-5a7e21';

/** What a command printed and its exit code. */
async function run(
  command: (argv: readonly string[], io: CommandIO) => Promise<number>,
  argv: readonly string[],
  stdin = '',
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CommandIO = {
    out: (t) => {
      stdout += t;
      return Promise.resolve();
    },
    err: (t) => {
      stderr += t;
      return Promise.resolve();
    },
    readStdin: () => Promise.resolve(stdin),
  };
  const code = await command(argv, io);
  return { code, stdout, stderr };
}

const docs = (text: string): KubeObject[] =>
  parseAllDocuments(text).map((d) => d.toJS() as KubeObject);

/** The guide's manifest `file` (its shell-stamped name replaced by a fixed one). */
async function guide(file: string): Promise<Record<string, unknown>> {
  const fixture = MANIFESTS.find((m) => m.file === file);
  if (fixture === undefined) throw new Error(`no guide fixture ${file}`);
  const manifest = await loadManifest(fixture);
  if (file !== 'manual-backup.yaml') return manifest;
  const metadata = manifest.metadata as Record<string, unknown>;
  return { ...manifest, metadata: { ...metadata, name: 'manual-backup-20250101-020000' } };
}

/** Site prod-site of the guide's backups, external database, with its connection Secret. */
const prodSite = [
  {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'prod-site-db' },
    stringData: { username: 'prod', password: DB_PASSWORD, database: 'prod_site' },
  },
  {
    apiVersion: 'vyogo.tech/v1alpha1',
    kind: 'FrappeSite',
    metadata: { name: 'prod-site' },
    spec: {
      benchRef: { name: 'prod-bench' },
      siteName: 'erp.example.com',
      apps: ['erpnext'],
      tls: { enabled: true },
      dbConfig: {
        provider: 'external',
        connectionSecretRef: { name: 'prod-site-db' },
        host: 'db.example.com',
      },
    },
  },
];

describe('render', () => {
  let dir = '';
  let config = '';
  let stdin = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'render-unit-'));
    config = join(dir, 'config.yaml');
    await writeFile(
      config,
      stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'frappe-operator-config' },
        data: { FRAPPE_OPERATOR_IMAGE: 'ghcr.io/example/frappe-operator:test' },
      }),
    );
    const guideObjects = await Promise.all(
      ['daily-backup.yaml', 'manual-backup.yaml', 'migrate-prod-site.yaml'].map(guide),
    );
    stdin = stringify({ apiVersion: 'v1', kind: 'List', items: [...prodSite, ...guideObjects] });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const renderAll = () =>
    run(
      renderCommand,
      [...SAMPLES.flatMap((f) => ['-f', f]), '-f', '-', '-n', 'production', '--config', config],
      stdin,
    );

  it('the samples and the guide’s backup and SiteJobs: every child (golden file)', async (t) => {
    const { code, stdout, stderr } = await renderAll();
    assert.equal(stderr, '');
    assert.equal(code, 0);
    t.assert.snapshot(stdout, { serializers: [(v) => String(v)] });
  });

  it('prints each owner’s children, a comment line naming each', async () => {
    const { stdout } = await renderAll();
    const comments = stdout.split('\n').filter((l) => l.startsWith('# '));
    for (const c of [
      '# PersistentVolumeClaim production/prod-bench-sites of FrappeBench prod-bench',
      '# Job production/erp-init of FrappeSite erp',
      '# MariaDB production/erp-mariadb of FrappeSite erp',
      '# Job production/prod-site-init of FrappeSite prod-site',
      '# CronJob production/daily-backup-backup of SiteBackup daily-backup',
      '# Job production/migrate-prod-site-job of SiteJob migrate-prod-site',
    ]) {
      assert.ok(comments.includes(c), `${c} in\n${comments.join('\n')}`);
    }
    const owners = comments.map((c) => / of (\w+) /.exec(c)?.[1]);
    const order = ['FrappeBench', 'FrappeSite', 'SiteBackup', 'SiteJob'];
    const ranks = owners.map((o) => order.indexOf(o ?? ''));
    assert.deepEqual(
      ranks,
      [...ranks].sort((a, b) => a - b),
      'owner by owner',
    );
  });

  it('never prints a secret value: Secrets show their keys with the placeholder', async () => {
    const { stdout } = await renderAll();
    assert.ok(!stdout.includes(DB_PASSWORD), 'the input Secret value');
    const secrets = docs(stdout).filter((o) => o.kind === 'Secret') as (KubeObject & {
      data?: unknown;
      stringData?: Record<string, string>;
    })[];
    assert.deepEqual(secrets.map((s) => s.metadata.name).sort(), [
      'erp-admin',
      'erp-db-password',
      'erp-encryption-key',
      'erp-mariadb-root',
      'prod-site-admin',
      'prod-site-encryption-key',
    ]);
    for (const s of secrets) {
      assert.equal(s.data, undefined);
      const values = Object.values(s.stringData ?? {});
      assert.ok(values.length > 0);
      assert.ok(
        values.every((v) => v === GENERATED_VALUE),
        `${s.metadata.name ?? ''}: ${values.join()}`,
      );
    }
  });

  it('prints the same for the same input', async () => {
    assert.equal((await renderAll()).stdout, (await renderAll()).stdout);
  });

  it('a site without its bench in the input: exit 2, naming what to add', async () => {
    const { code, stdout, stderr } = await run(renderCommand, ['-f', SAMPLES[1] ?? '']);
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.equal(
      stderr,
      'frappe-operator render: FrappeSite erp refers to FrappeBench prod-bench, which is not in the input (namespace default): add its manifest with -f\n',
    );
  });

  it('a SiteJob without its site: exit 2, naming it', async () => {
    const job = await guide('migrate-prod-site.yaml');
    const { code, stderr } = await run(renderCommand, ['-f', '-'], stringify(job));
    assert.equal(code, 2);
    assert.match(
      stderr,
      /SiteJob migrate-prod-site refers to FrappeSite prod-site, which is not in the input \(namespace production\): add its manifest with -f/,
    );
  });

  it('an invalid field: exit 2 with the schema’s message naming the field', async () => {
    const bench = {
      apiVersion: 'vyogo.tech/v1alpha1',
      kind: 'FrappeBench',
      metadata: { name: 'b' },
      spec: { storageSize: 'lots' },
    };
    const { code, stdout, stderr } = await run(renderCommand, ['-f', '-'], stringify(bench));
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.match(
      stderr,
      /^frappe-operator render: - \(document 1\): FrappeBench "b" is invalid: spec\.storageSize: storageSize must be a positive quantity such as 10Gi\n$/,
    );
  });

  it('an unknown kind of our group and YAML that does not parse: exit 2', async () => {
    const other = {
      apiVersion: 'vyogo.tech/v1alpha1',
      kind: 'FrappeThing',
      metadata: { name: 'x' },
    };
    const a = await run(renderCommand, ['-f', '-'], stringify(other));
    assert.equal(a.code, 2);
    assert.match(a.stderr, /FrappeThing is not a kind of the operator/);
    const b = await run(renderCommand, ['-f', '-'], 'kind: [unclosed\n');
    assert.equal(b.code, 2);
    assert.match(b.stderr, /not valid YAML/);
  });

  it('an unknown flag, or no input: exit 2, usage on stderr naming the flag', async () => {
    const a = await run(renderCommand, ['--bogus']);
    assert.equal(a.code, 2);
    assert.equal(a.stdout, '');
    assert.match(
      a.stderr,
      /^frappe-operator render: unknown flag --bogus\n\nusage: frappe-operator render/,
    );
    const b = await run(renderCommand, []);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /no input: name a file with -f FILE/);
  });

  it('a file that cannot be read: exit 1', async () => {
    const { code, stderr } = await run(renderCommand, ['-f', join(dir, 'absent.yaml')]);
    assert.equal(code, 1);
    assert.equal(
      stderr,
      `frappe-operator render: cannot read ${join(dir, 'absent.yaml')}: ENOENT\n`,
    );
  });

  it('an invalid --config value: exit 2 naming the key', async () => {
    const bad = join(dir, 'bad-config.yaml');
    await writeFile(bad, 'maxConcurrentReconciles: zero\n');
    const { code, stderr } = await run(renderCommand, ['-f', SAMPLES[0] ?? '', '--config', bad]);
    assert.equal(code, 2);
    assert.match(stderr, /maxConcurrentReconciles="zero"/);
  });

  it('--no-keda: no KEDA objects', async () => {
    const { stdout } = await run(renderCommand, ['-f', SAMPLES[0] ?? '', '--no-keda']);
    const kinds = docs(stdout).map((o) => o.kind);
    assert.ok(kinds.includes('HorizontalPodAutoscaler'));
    assert.ok(!kinds.includes('ScaledObject'));
  });
});

test('crds: the four CRDs as one stream', async () => {
  const { code, stdout } = await run(crdsCommand, []);
  assert.equal(code, 0);
  const crds = docs(stdout);
  assert.ok(crds.every((c) => c.kind === 'CustomResourceDefinition'));
  assert.deepEqual(crds.map((c) => c.metadata.name).sort(), [
    'frappebenches.vyogo.tech',
    'frappesites.vyogo.tech',
    'sitebackups.vyogo.tech',
    'sitejobs.vyogo.tech',
  ]);
  const bad = await run(crdsCommand, ['--bogus']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown flag --bogus/);
});

/** `node src/cli.ts …` as the image runs it. */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: ROOT }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('--help of every subcommand', () => {
  const FLAGS: Record<string, string[]> = {
    run: [
      '--metrics-bind-address',
      '--health-probe-bind-address',
      '--leader-elect',
      '--metrics-cert-dir',
    ],
    render: ['--filename', '--namespace', '--config', '--no-keda', '--openshift'],
    crds: ['--help'],
    dev: ['--help'],
    'backup-agent': ['upload', 'download', '--destination', '--source', '--endpoint'],
  };
  for (const [command, flags] of Object.entries(FLAGS)) {
    it(`${command} --help and -h: usage with every flag, exit 0`, async () => {
      for (const help of ['--help', '-h']) {
        const { code, stdout, stderr } = await cli([command, help]);
        assert.equal(code, 0);
        // The agent keeps stdout for its JSON report: its usage goes to stderr.
        const usage = command === 'backup-agent' ? stderr : stdout;
        assert.match(usage, new RegExp(`^usage: frappe-operator ${command}`));
        for (const f of flags) assert.ok(usage.includes(f), `${command} ${help} names ${f}`);
      }
    });
  }

  it('backup-agent COMMAND --help: the usage, exit 0', async () => {
    const { code, stderr } = await cli(['backup-agent', 'upload', '--help']);
    assert.equal(code, 0);
    assert.match(stderr, /^usage: frappe-operator backup-agent/);
  });

  it('the top-level usage lists every subcommand', async () => {
    const { code, stdout } = await cli(['--help']);
    assert.equal(code, 0);
    for (const c of Object.keys(FLAGS)) assert.match(stdout, new RegExp(`frappe-operator ${c} `));
  });

  it('an unknown subcommand or flag: usage on stderr naming it, exit 2', async () => {
    const a = await cli(['bogus']);
    assert.equal(a.code, 2);
    assert.match(a.stderr, /^frappe-operator: unknown command bogus\n\nusage: frappe-operator/);
    const b = await cli(['run', '--bogus']);
    assert.equal(b.code, 2);
    assert.match(
      b.stderr,
      /^frappe-operator run: unknown flag --bogus\n\nusage: frappe-operator run/,
    );
    const c = await cli(['dev', '--bogus']);
    assert.equal(c.code, 2);
    assert.match(c.stderr, /^frappe-operator dev: unknown flag --bogus/);
  });
});
