// The operator's container image for real: the Dockerfile built with `podman build --pull=never`
// on base images made locally (test/harness/image.ts; nothing is pulled), then run as
// config/install.yaml runs the manager — its container's security context and limits translated
// to podman flags (non-root by the image's numeric USER, read-only root filesystem, every
// capability dropped, no privilege escalation), its args and env.
//
// - the image: entrypoint `frappe-operator`, a numeric non-root user, exactly the production
//   dependencies of package-lock.json in node_modules, no npm, nothing of the checkout but src/;
// - `frappe-operator --help` and `frappe-operator backup-agent` (its usage) in that container;
//   the backup agent uploads a set to a real S3 server (Versity Gateway) and verifies it, as the
//   containers of backup and restore Jobs run it from this image;
// - `frappe-operator run` in the container against the test control plane (host network), with
//   the bundle's ServiceAccount token, CA and namespace mounted where a pod has them, brings a
//   FrappeBench to Ready, answers its probes, and exits 0 on SIGTERM (node is PID 1).
//
// The test control plane is shared with other test files, so the bundle's RBAC (the objects of
// install.yaml, unchanged but for names) is installed into a namespace of this test, and the
// operator watches only this test's bench namespace (FRAPPE_WATCH_NAMESPACES): the one setting
// added to what install.yaml runs. The ports of its args are free ones (host network).
//
// podman missing is a failure with what to install (.ci/run installs it), never a skip.
import assert from 'node:assert/strict';
import { chmod, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { Container, PodSpec } from '../../../src/controllers/shared/k8s.ts';
import type { Deployment } from '../../../src/controllers/shared/objects.ts';
import { MANAGER_CONTAINER, MANAGER_NAME } from '../../../src/deploy/names.ts';
import { parseLogLines, type LogLine } from '../../../src/dev/operator-log.ts';
import { freePorts } from '../../../src/dev/ports.ts';
import type { KubeObject } from '../../../src/kube/client.ts';
import { eventually } from '../../harness/eventually.ts';
import {
  buildOperatorImage,
  podman,
  podmanSecurityFlags,
  removeContainers,
  requireImageTools,
  runContainer,
  startContainer,
  type ImageInfo,
  type OperatorImage,
} from '../../harness/image.ts';
import { kubectl } from '../../harness/kubectl.ts';
import { applyOurCrds, createTestNamespace, deleteNamespace } from '../../harness/namespace.ts';
import { startTestS3, type TestS3 } from '../../harness/s3.ts';
import { fabricateBackup } from '../agent/support.ts';
import { apply, waitForCondition } from '../bench/support.ts';
import {
  adminClient,
  probe,
  serviceAccountToken,
  testClusterEndpoint,
} from '../manager/operator.ts';

const ROOT = new URL('../../../', import.meta.url);
const INSTALL = fileURLToPath(new URL('config/install.yaml', ROOT));
const LOCK = fileURLToPath(new URL('package-lock.json', ROOT));
const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

let image: OperatorImage;
let info: ImageInfo;
/** config/install.yaml, every object. */
let bundle: KubeObject[] = [];
let pod: PodSpec;
let manager: Container;
/** The flags that run a container as install.yaml's manager container runs. */
let asInstalled: string[] = [];
const work: string[] = [];

function say(line: string): void {
  process.stderr.write(`[image-test] ${line}\n`);
}

before(async () => {
  await requireImageTools();
  image = await buildOperatorImage(say);
  info = image.info;
  bundle = parseAllDocuments(await readFile(INSTALL, 'utf8'))
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
  const deployment = bundle.find((o) => o.kind === 'Deployment') as Deployment | undefined;
  assert.ok(deployment, 'install.yaml has the manager Deployment');
  pod = deployment.spec.template.spec ?? assert.fail('the Deployment has no pod spec');
  manager =
    pod.containers.find((c) => c.name === MANAGER_CONTAINER) ??
    assert.fail(`no container ${MANAGER_CONTAINER}`);
  asInstalled = podmanSecurityFlags(pod, manager, info);
});

after(async () => {
  await removeContainers();
  for (const dir of work) await rm(dir, { recursive: true, force: true });
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  // Readable by the container's user (65532), as a kubelet's volume would be.
  await chmod(dir, 0o755);
  work.push(dir);
  return dir;
}

/** `frappe-operator args…` in a container run as install.yaml runs the manager. */
function frappeOperator(args: string[], flags: string[] = []) {
  return runContainer([...asInstalled, ...flags, image.id, ...args]);
}

describe('the image of the Dockerfile', () => {
  it('is built with --pull=never on the local base images, runs frappe-operator as UID 65532', () => {
    say(
      `image ${image.tag} ${image.id.slice(0, 19)}: ${(info.Size / 2 ** 20).toFixed(0)} MiB, ` +
        `build ${image.buildSeconds}s; base ${image.base.source} ${image.base.key}`,
    );
    assert.deepEqual(info.Config.Entrypoint, ['frappe-operator']);
    assert.equal(info.Config.User, '65532:65532');
    // Made from the Dockerfile's RUNTIME_IMAGE, which carries the key of this harness's recipe.
    assert.equal(info.Labels?.['tech.vyogo.frappe-operator.test-base-key'], image.base.key);
    assert.deepEqual(
      asInstalled.filter((f) => !f.startsWith('--memory') && !f.startsWith('--cpus')),
      [
        '--read-only',
        '--read-only-tmpfs=false',
        '--cap-drop=ALL',
        '--security-opt=no-new-privileges',
      ],
    );
  });

  it('holds the production dependencies of package-lock.json and nothing else, and no npm', async () => {
    const lock = JSON.parse(await readFile(LOCK, 'utf8')) as {
      packages: Record<string, { dev?: boolean; optional?: boolean }>;
    };
    const production = Object.entries(lock.packages)
      .filter(([path, p]) => path !== '' && p.dev !== true)
      .map(([path]) => path)
      .sort();
    assert.ok(production.includes('node_modules/@aws-sdk/client-s3'));
    // Every directory with a package.json under /app/node_modules, as package-lock paths.
    const list = `
      const fs = require('node:fs'), path = require('node:path'), found = [];
      const walk = (dir, rel) => {
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
          if (!e.isDirectory() || e.name === '.bin') continue;
          const d = path.join(dir, e.name), r = rel + '/' + e.name;
          if (e.name.startsWith('@')) { walk(d, r); continue; }
          if (fs.existsSync(path.join(d, 'package.json'))) found.push(r.slice(1));
          if (fs.existsSync(path.join(d, 'node_modules'))) walk(path.join(d, 'node_modules'), r + '/node_modules');
        }
      };
      walk('/app/node_modules', '/node_modules');
      console.log(JSON.stringify({ found: found.sort(), app: fs.readdirSync('/app').sort() }));`;
    const r = await runContainer([...asInstalled, '--entrypoint', 'node', image.id, '-e', list]);
    assert.equal(r.code, 0, r.stderr);
    const seen = JSON.parse(r.stdout) as { found: string[]; app: string[] };
    assert.deepEqual(seen.found, production);
    assert.deepEqual(seen.app, ['bin', 'node_modules', 'package.json', 'src']);
    const npm = await runContainer([
      ...asInstalled,
      '--entrypoint',
      'sh',
      image.id,
      '-c',
      'command -v npm npx; ls /usr/local/lib/node_modules',
    ]);
    assert.equal(npm.stdout.trim(), '', 'npm is not in the final image');
    // Empty output also comes from a container that never ran the shell: it did, and looked.
    assert.match(npm.stderr, /ls: cannot access '\/usr\/local\/lib\/node_modules'/);
  });

  it('answers frappe-operator --help as install.yaml runs it: non-root, read-only, no capabilities', async () => {
    const help = await frappeOperator(['--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^usage: frappe-operator run /);
    assert.match(help.stdout, /frappe-operator backup-agent upload\|download\|list\|verify\|prune/);
    // The same container, seen from a shell: the user, the capabilities, the root filesystem.
    const r = await runContainer([
      ...asInstalled,
      '--entrypoint',
      'sh',
      image.id,
      '-c',
      'id -u; id -g; grep -E "^Cap(Prm|Eff|Bnd)" /proc/self/status; grep NoNewPrivs /proc/self/status; touch /app/x /tmp/x 2>&1; true',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.deepEqual(lines.slice(0, 2), ['65532', '65532']);
    assert.match(r.stdout, /CapPrm:\s+0{16}\n/);
    assert.match(r.stdout, /CapEff:\s+0{16}\n/);
    assert.match(r.stdout, /CapBnd:\s+0{16}\n/);
    assert.match(r.stdout, /NoNewPrivs:\s+1/);
    assert.match(r.stdout, /touch: cannot touch '\/app\/x': Read-only file system/);
    assert.match(r.stdout, /touch: cannot touch '\/tmp\/x': Read-only file system/);
  });

  it('prints the usage of frappe-operator backup-agent (which loads the S3 SDK)', async () => {
    // The agent keeps stdout for its JSON report: the usage goes to stderr.
    const bare = await frappeOperator(['backup-agent']);
    assert.equal(bare.code, 2, bare.stdout + bare.stderr);
    assert.match(bare.stderr, /^usage: frappe-operator backup-agent COMMAND \[flags\]/);
    const help = await frappeOperator(['backup-agent', 'help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stderr, /^usage: frappe-operator backup-agent COMMAND/);
    assert.match(help.stderr, /upload {3}--source=DIR/);
  });
});

describe('backup-agent from the image', () => {
  let s3: TestS3 | undefined;
  before(async () => {
    s3 = await startTestS3();
    await s3.createBucket('image-backups');
  });
  after(async () => {
    await s3?.stop();
  });

  it('uploads a backup set to S3 and verifies it, reporting in its termination message', async () => {
    const store = s3 ?? assert.fail('no S3 server');
    const backup = await fabricateBackup(join(await tempDir('image-backup-'), 'backup'));
    await chmod(backup.dir, 0o755);
    for (const name of Object.keys(backup.sizes)) await chmod(join(backup.dir, name), 0o644);
    // The credentials Secret, mounted; the kubelet's termination message file.
    const credentials = await tempDir('image-credentials-');
    await writeFile(join(credentials, 'AWS_ACCESS_KEY_ID'), store.accessKeyId, { mode: 0o644 });
    await writeFile(join(credentials, 'AWS_SECRET_ACCESS_KEY'), store.secretAccessKey, {
      mode: 0o644,
    });
    const termination = join(await tempDir('image-termination-'), 'termination-log');
    await writeFile(termination, '', { mode: 0o666 });
    await chmod(termination, 0o666);
    const mounts = [
      '--network=host',
      '-v',
      `${backup.dir}:/backup:ro`,
      '-v',
      `${credentials}:/credentials:ro`,
      '-v',
      `${termination}:/dev/termination-log`,
      '-e',
      'AWS_EC2_METADATA_DISABLED=true',
    ];
    const s3Flags = store.agentFlags('/credentials');
    const upload = await frappeOperator(
      [
        'backup-agent',
        'upload',
        '--source=/backup',
        '--destination=s3://image-backups/prod/production/acme/',
        '--namespace=production',
        '--site=acme',
        '--site-name=acme.example.com',
        '--sitebackup=daily',
        ...s3Flags,
      ],
      mounts,
    );
    assert.equal(upload.code, 0, upload.stderr);
    const report = JSON.parse(await readFile(termination, 'utf8')) as Record<string, unknown>;
    const location = String(report['location']);
    assert.match(location, /^s3:\/\/image-backups\/prod\/production\/acme\/\d{8}T\d{6}Z\/$/);
    assert.equal(report['sizeBytes'], backup.sizeBytes);
    const verify = await frappeOperator(
      ['backup-agent', 'verify', `--source=${location}`, ...s3Flags],
      mounts,
    );
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stdout, /"location"/);
  });
});

describe('frappe-operator run in the container', () => {
  let home = '';
  let benches = '';
  let clusterRole = '';
  before(async () => {
    await applyOurCrds();
    const bundleNamespace = bundle.find((o) => o.kind === 'Namespace');
    // The operator's namespace, labelled as the bundle's (restricted Pod Security).
    home = await createTestNamespace('image-operator', bundleNamespace?.metadata.labels ?? {});
    benches = await createTestNamespace('image-benches');
    clusterRole = `${home}-manager`;
  });
  after(async () => {
    await removeContainers();
    for (const ns of [home, benches]) if (ns !== '') await deleteNamespace(ns);
    if (clusterRole !== '') {
      await kubectl([
        'delete',
        `clusterrolebinding/${clusterRole}`,
        `clusterrole/${clusterRole}`,
        '--ignore-not-found',
      ]);
    }
  });

  /** The bundle's ServiceAccount, RBAC and ConfigMap, moved to namespace `home`. */
  function rehomedBundle(): KubeObject[] {
    const objects = bundle.filter((o) =>
      [
        'ServiceAccount',
        'ClusterRole',
        'ClusterRoleBinding',
        'Role',
        'RoleBinding',
        'ConfigMap',
      ].includes(o.kind),
    );
    // Only the manager's cluster role (the aggregated -edit/-view and the metrics reader are
    // for people, not for the operator); it and its binding are both named `clusterRole`.
    const binding = objects.find((o) => o.kind === 'ClusterRoleBinding') as
      (KubeObject & { roleRef: { name: string } }) | undefined;
    assert.ok(binding, 'install.yaml binds a ClusterRole');
    const managerRole = binding.roleRef.name;
    return objects
      .filter((o) => o.kind !== 'ClusterRole' || o.metadata.name === managerRole)
      .map((o) => {
        const copy = structuredClone(o) as KubeObject & {
          roleRef?: { name: string };
          subjects?: { namespace?: string }[];
        };
        if (o.kind.startsWith('Cluster')) copy.metadata.name = clusterRole;
        else copy.metadata.namespace = home;
        if (copy.roleRef !== undefined && o.kind === 'ClusterRoleBinding') {
          copy.roleRef.name = clusterRole;
        }
        for (const s of copy.subjects ?? []) s.namespace = home;
        return copy;
      });
  }

  it('brings a FrappeBench to Ready under the bundle’s ServiceAccount, and stops on SIGTERM', async () => {
    await kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rehomedBundle() }),
    });
    // What a pod of the Deployment has at /var/run/secrets/kubernetes.io/serviceaccount. The
    // token is a credential of the shared cluster: its dir and files belong to the image's user
    // (0700, 0400), so no other user of the machine reads it, and it expires after the API's
    // minimum of 10 minutes, should a killed run leave it behind.
    const [uid = NaN, gid = uid] = (info.Config.User ?? '').split(':').map(Number);
    assert.ok(Number.isInteger(uid) && Number.isInteger(gid), `image user ${info.Config.User}`);
    const sa = await mkdtemp(join(tmpdir(), 'image-sa-'));
    work.push(sa);
    const endpoint = testClusterEndpoint();
    const files = {
      token: await serviceAccountToken(home, MANAGER_NAME, 600),
      'ca.crt': endpoint.ca,
      namespace: home,
    };
    for (const [name, content] of Object.entries(files)) {
      await writeFile(join(sa, name), content, { mode: 0o400 });
      await chown(join(sa, name), uid, gid);
    }
    await chown(sa, uid, gid);
    const server = new URL(endpoint.server);

    // install.yaml's args with free ports (host network), its env with the fieldRef resolved.
    const [metricsPort = 0, healthPort = 0] = await freePorts(2);
    const args = (manager.args ?? []).map((a) =>
      a.startsWith('--metrics-bind-address=')
        ? `--metrics-bind-address=:${String(metricsPort)}`
        : a.startsWith('--health-probe-bind-address=')
          ? `--health-probe-bind-address=:${String(healthPort)}`
          : a,
    );
    assert.deepEqual(
      args.filter((a) => !a.includes('bind-address')),
      ['run', '--leader-elect=true'],
    );
    const env: Record<string, string> = {};
    for (const e of manager.env ?? []) {
      if (e.value !== undefined) env[e.name] = e.value;
      else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = home;
      else assert.fail(`env ${e.name}: not translated`);
    }
    Object.assign(env, {
      KUBERNETES_SERVICE_HOST: server.hostname,
      KUBERNETES_SERVICE_PORT: server.port,
      FRAPPE_WATCH_NAMESPACES: benches,
    });
    const id = await startContainer([
      '--name',
      `frappe-operator-${home}`,
      '--network=host',
      ...asInstalled,
      '-v',
      `${sa}:${SA_DIR}:ro`,
      ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
      image.id,
      ...args,
    ]);

    const logLines = async (): Promise<LogLine[]> => {
      const out = await podman(['logs', id]);
      return parseLogLines(`${out.stdout}\n${out.stderr}`);
    };
    const state = async (): Promise<{ Running: boolean; ExitCode: number }> =>
      JSON.parse((await podman(['inspect', '--format', '{{json .State}}', id])).stdout) as {
        Running: boolean;
        ExitCode: number;
      };
    // The first line with `msg`; fails at once if the container exited (eventually() retries
    // whatever the check throws, so the exit is returned and thrown here, as waitForLog of
    // src/dev/operator-log.ts does).
    const waitForLog = async (msg: string): Promise<LogLine> => {
      const found = await eventually(
        async () => {
          const lines = await logLines();
          const line = lines.find((l) => l.msg === msg);
          if (line !== undefined) return line;
          const s = await state();
          const tail = JSON.stringify(lines.slice(-8));
          if (!s.Running)
            return new Error(`the container exited (${s.ExitCode}); last lines: ${tail}`);
          throw new Error(`no "${msg}" yet; last lines: ${tail}`);
        },
        { timeout: 60_000, interval: 500, message: `container log "${msg}"` },
      );
      if (found instanceof Error) throw found;
      return found;
    };

    const started = await waitForLog('manager started');
    assert.equal(started['namespace'], home);
    // The kubelet's probes of install.yaml, on the health port.
    for (const kubeletProbe of [manager.readinessProbe, manager.livenessProbe]) {
      const path = kubeletProbe?.httpGet?.path ?? assert.fail('an httpGet probe');
      await eventually(
        async () => {
          assert.equal((await probe(healthPort, path)).status, 200);
        },
        { timeout: 30_000, message: `GET ${path} on the health port` },
      );
    }

    await apply(
      {
        apiVersion: 'vyogo.tech/v1alpha1',
        kind: 'FrappeBench',
        metadata: { name: 'bench' },
        spec: { frappeVersion: '15' },
      },
      benches,
    );
    const bench = await waitForCondition(
      adminClient(),
      benches,
      'bench',
      'Ready',
      'True',
      undefined,
      180_000,
    );
    assert.equal(bench.status?.phase, 'Ready');
    // Nothing it did was forbidden: it ran with the bundle's rules.
    const lines = await logLines();
    assert.deepEqual(
      lines.filter((l) => /forbidden|"code":403/i.test(JSON.stringify(l))),
      [],
    );

    // The kubelet stops the pod: SIGTERM to PID 1 (node, exec'd by the launcher), then SIGKILL
    // after terminationGracePeriodSeconds. A graceful shutdown exits 0 well before that.
    const grace = pod.terminationGracePeriodSeconds ?? 30;
    await podman(['stop', '-t', String(grace), id]);
    const stopped = await state();
    const last = await logLines();
    assert.equal(stopped.ExitCode, 0, JSON.stringify(last.slice(-8)));
    const signal = last.find((l) => l.msg === 'signal received: shutting down');
    assert.equal(signal?.['signal'], 'SIGTERM');
  });
});
