// Every metric the PrometheusRule and the Grafana dashboard name (src/deploy/monitoring.ts) is
// exposed by something we run, checked against real scrapes:
//
// - the operator's real HTTPS /metrics (the manager's metrics server) while it runs a bench, two
//   sites and a SiteBackup that completed — its bench, site and backup gauges checked for
//   exact values, a failed migration (kwok ends the migrate Job's pods with an error) and a
//   deleted site (its series gone);
// - statsd_exporter (built from the Go module proxy, the sidecar image's version) started with
//   the args and the mapping ConfigMap the operator wrote, fed by Debian's real gunicorn running a
//   tiny WSGI app with the gunicorn flags of the operator's Deployment;
// - redis_exporter (the sidecar image's version) with the env of the operator's redis-queue
//   StatefulSet, against Debian's real redis-server holding an RQ queue.
//
// Only metrics that only the kubelet's cAdvisor provides are allowed without a scrape (ALLOWED).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FrappeBench, FrappeSite, SiteBackup } from '../../../src/api/v1alpha1/index.ts';
import { BENCH_PHASES } from '../../../src/api/v1alpha1/names.ts';
import { migratePurpose } from '../../../src/controllers/site/names.ts';
import type {
  ConfigMap,
  Deployment,
  StatefulSet,
} from '../../../src/controllers/shared/objects.ts';
import { REDIS_EXPORTER, STATSD_EXPORTER } from '../../../src/dev/build.ts';
import { monitoringExpressions, templatingMetrics } from '../../../src/deploy/monitoring.ts';
import type { KubeObject } from '../../../src/kube/client.ts';
import { assertToolBuilt, testTool } from '../../harness/tools.ts';
import { eventually } from '../../harness/eventually.ts';
import { kubectl } from '../../harness/kubectl.ts';
import { metricNames, sampleNames } from '../../harness/promql.ts';
import { failJobPods } from '../../harness/stages.ts';
import { sample, scrape } from '../manager/operator.ts';
import {
  apply,
  applyExternalSites,
  readyBench,
  useSiteOperator,
  waitForSite,
} from '../site/support.ts';

/**
 * Metrics no scrape of ours can show: container memory comes from the kubelet's cAdvisor
 * (/metrics/cadvisor), which the test control plane (kwok) does not run. Used by HighMemoryUsage
 * and the container memory panel.
 */
const ALLOWED: Record<string, string> = {
  container_memory_working_set_bytes: "the kubelet's cAdvisor (no kubelet in the test cluster)",
  container_spec_memory_limit_bytes: "the kubelet's cAdvisor (no kubelet in the test cluster)",
};

const API = 'vyogo.tech/v1alpha1';
const BENCH = 'mon-bench';
const OLD = 'docker.io/frappe/erpnext:version-15';
const NEW = 'docker.io/frappe/erpnext:version-16';
const WAIT = { timeout: 180_000, interval: 500 };

/** A free local TCP or UDP port (closed again; the tests bind it right after). */
async function freePort(kind: 'tcp' | 'udp'): Promise<number> {
  if (kind === 'udp') {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    const { port } = sock.address();
    await new Promise<void>((r) => {
      sock.close(() => {
        r();
      });
    });
    return port;
  }
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => {
    server.close(() => {
      r();
    });
  });
  return port;
}

/** The WSGI app gunicorn serves: 500 on /fail, a short sleep on /slow, else 200. */
const APP = `import time

def application(environ, start_response):
    path = environ.get('PATH_INFO', '/')
    if path == '/fail':
        start_response('500 Internal Server Error', [('Content-Type', 'text/plain')])
        return [b'fail']
    if path == '/slow':
        time.sleep(0.3)
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'ok']
`;

async function httpText(url: string): Promise<string> {
  const res = await fetch(url);
  const text = await res.text();
  if (!res.ok) throw new Error(`${url}: ${String(res.status)} ${text.slice(0, 200)}`);
  return text;
}

describe('monitoring: every metric of the alerts and the dashboard is exposed', () => {
  const env = useSiteOperator('monitoring', { metrics: true });
  const children: ChildProcess[] = [];
  const output = new Map<string, string[]>();
  let dir = '';
  /** The scrapes every metric name must be found in. */
  const scrapes: Record<'operator' | 'statsd' | 'redis', string> = {
    operator: '',
    statsd: '',
    redis: '',
  };

  function start(name: string, bin: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
    const child = spawn(bin, args, {
      cwd: dir,
      env: { PATH: process.env.PATH, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const lines: string[] = [];
    output.set(name, lines);
    child.stdout.on('data', (b: Buffer) => lines.push(b.toString()));
    child.stderr.on('data', (b: Buffer) => lines.push(b.toString()));
    return child;
  }
  const logOf = (name: string) => (output.get(name) ?? []).join('').slice(-2000);

  const get = <T extends KubeObject>(kind: string, apiVersion: string, name: string) =>
    eventually(
      async () => {
        const obj = await env.client.get<T>(apiVersion, kind, env.ns, name);
        if (obj === undefined) throw new Error(`${kind} ${name} not found`);
        return obj;
      },
      { ...WAIT, message: `${kind} ${name}` },
    );

  const operatorScrape = async (): Promise<string> => {
    const res = await scrape(env.metricsPort);
    assert.equal(res.status, 200, res.body);
    return res.body;
  };

  before(async () => {
    assertToolBuilt(STATSD_EXPORTER);
    assertToolBuilt(REDIS_EXPORTER);
    dir = await mkdtemp(join(tmpdir(), 'frappe-monitoring-'));
    await readyBench(env.client, env.ns, BENCH, {
      frappeVersion: 'version-15',
      redisConfig: { metrics: { enabled: true } },
    });
    await applyExternalSites(env.ns, BENCH, ['good', 'bad']);
    for (const name of ['good', 'bad']) {
      const s = await waitForSite(env.client, env.ns, name, 'Ready', 'True', undefined, 180_000);
      assert.equal(s.status?.migratedImage, OLD);
    }
    // A one-shot backup that completes: frappe_operator_backup_last_success_timestamp_seconds.
    await apply(
      { apiVersion: API, kind: 'SiteBackup', metadata: { name: 'once' }, spec: { site: 'good' } },
      env.ns,
    );
    await eventually(
      async () => {
        const b = await env.client.get<SiteBackup>(API, 'SiteBackup', env.ns, 'once');
        if (b?.status?.lastSuccessfulBackup === undefined) throw new Error('not backed up yet');
      },
      { ...WAIT, message: 'SiteBackup once has a lastSuccessfulBackup' },
    );
  });

  after(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
    }
    await Promise.all(
      children.map((c) =>
        c.exitCode === null ? new Promise((r) => c.once('exit', r)) : Promise.resolve(),
      ),
    );
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('the operator exports bench, site and backup gauges exactly: a failed migration, a deleted site', async () => {
    const ns = env.ns;
    // The gauges say what the objects' status says (read in the same attempt).
    let body = await eventually(
      async () => {
        const b = await operatorScrape();
        const bench = await env.client.get<FrappeBench>(API, 'FrappeBench', ns, BENCH);
        const phase = bench?.status?.phase ?? 'Pending';
        for (const p of BENCH_PHASES) {
          assert.equal(
            sample(
              b,
              `frappe_operator_bench_phase{namespace="${ns}",name="${BENCH}",phase="${p}"}`,
            ),
            p === phase ? 1 : 0,
            `bench phase ${phase}: ${p}`,
          );
          assert.equal(
            sample(b, `frappe_operator_benches{namespace="${ns}",phase="${p}"}`),
            p === phase ? 1 : 0,
          );
        }
        assert.equal(sample(b, `frappe_operator_sites{namespace="${ns}",phase="Ready"}`), 2);
        return b;
      },
      { ...WAIT, message: 'the bench and site gauges match the objects' },
    );
    for (const name of ['good', 'bad']) {
      assert.equal(
        sample(
          body,
          `frappe_operator_site_ready{namespace="${ns}",name="${name}",bench="${BENCH}"}`,
        ),
        1,
      );
      assert.equal(
        sample(body, `frappe_operator_site_migration_failed{namespace="${ns}",name="${name}"}`),
        0,
      );
      assert.equal(
        sample(body, `frappe_operator_site_phase{namespace="${ns}",name="${name}",phase="Ready"}`),
        1,
      );
    }
    const backup = sample(
      body,
      `frappe_operator_backup_last_success_timestamp_seconds{namespace="${ns}",sitebackup="once",site="good"}`,
    );
    assert.ok(backup !== undefined && backup > 1.7e9, `backup timestamp ${String(backup)}`);
    assert.equal(
      sample(body, 'controller_runtime_reconcile_errors_total{controller="frappesite"}') !==
        undefined,
      true,
    );

    // The upgrade's migrate Job of `bad` fails: only `bad` reports a failed migration.
    await failJobPods(ns, `bad-${migratePurpose(NEW)}`, {
      message: JSON.stringify({ error: 'MigrationFailed', message: 'patch x failed' }),
    });
    await kubectl(
      [
        'patch',
        'frappebench',
        BENCH,
        '--type=merge',
        '-p',
        '{"spec":{"frappeVersion":"version-16"}}',
      ],
      { namespace: ns },
    );
    await eventually(
      async () => {
        const b = await operatorScrape();
        assert.equal(
          sample(b, `frappe_operator_site_migration_failed{namespace="${ns}",name="bad"}`),
          1,
        );
      },
      { ...WAIT, message: 'site bad reports a failed migration' },
    );
    const bad = await env.client.get<FrappeSite>(API, 'FrappeSite', ns, 'bad');
    assert.equal(
      bad?.status?.conditions?.find((c) => c.type === 'Degraded')?.reason,
      'MigrationFailed',
    );
    await eventually(
      async () => {
        const b = await operatorScrape();
        assert.equal(
          sample(b, `frappe_operator_site_migration_failed{namespace="${ns}",name="good"}`),
          0,
        );
        const good = await env.client.get<FrappeSite>(API, 'FrappeSite', ns, 'good');
        assert.equal(good?.status?.migratedImage, NEW);
      },
      { ...WAIT, message: 'site good migrated, no failure reported' },
    );

    // Deleted: every series of `bad` is gone; `good`'s stay.
    await kubectl(['delete', 'frappesite', 'bad', '--wait=false'], { namespace: ns });
    body = await eventually(
      async () => {
        const b = await operatorScrape();
        const left = b.split('\n').filter((l) => l.includes(`name="bad"`));
        assert.deepEqual(left, []);
        return b;
      },
      { ...WAIT, message: 'no series of the deleted site' },
    );
    assert.equal(
      sample(body, `frappe_operator_site_ready{namespace="${ns}",name="good",bench="${BENCH}"}`),
      1,
    );
    assert.equal(
      (sample(body, `frappe_operator_sites{namespace="${ns}",phase="Ready"}`) ?? 0) +
        (sample(body, `frappe_operator_sites{namespace="${ns}",phase="Provisioning"}`) ?? 0) +
        (sample(body, `frappe_operator_sites{namespace="${ns}",phase="Pending"}`) ?? 0),
      1,
      'one site left',
    );
    scrapes.operator = body;
  });

  it("real gunicorn, with the Deployment's statsD flags, through statsd_exporter with the ConfigMap's mapping", async () => {
    const bin = await testTool(STATSD_EXPORTER);
    const cm = await get<ConfigMap>('ConfigMap', 'v1', `${BENCH}-statsd-mapping`);
    const mapping = cm.data?.['mapping.yaml'];
    assert.ok(mapping !== undefined, 'the ConfigMap holds mapping.yaml');
    const deployment = await get<Deployment>('Deployment', 'apps/v1', `${BENCH}-gunicorn`);
    const pod = deployment.spec.template.spec;
    const gunicorn = pod?.containers.find((c) => c.name === 'gunicorn');
    const sidecar = pod?.containers.find((c) => c.name === 'statsd-exporter');
    assert.ok(gunicorn?.command !== undefined && sidecar?.args !== undefined);
    assert.deepEqual(
      sidecar.ports?.map((p) => p.name),
      ['metrics'],
    );

    const mappingFile = join(dir, 'mapping.yaml');
    await writeFile(mappingFile, mapping);
    const udp = await freePort('udp');
    const web = await freePort('tcp');
    const http = await freePort('tcp');
    // The sidecar's args with this machine's ports and the mapping's path.
    const exporterArgs = sidecar.args.map((a) =>
      a.startsWith('--statsd.listen-udp=')
        ? `--statsd.listen-udp=127.0.0.1:${String(udp)}`
        : a.startsWith('--statsd.mapping-config=')
          ? `--statsd.mapping-config=${mappingFile}`
          : a.startsWith('--web.listen-address=')
            ? `--web.listen-address=127.0.0.1:${String(web)}`
            : a,
    );
    assert.equal(exporterArgs.length, sidecar.args.length);
    start('statsd_exporter', bin, exporterArgs);
    // gunicorn's flags from the Deployment: all but the binary, --chdir, --bind and the app;
    // the statsD address points at this statsd_exporter.
    const flags = gunicorn.command
      .slice(1, -1)
      .filter((a) => !a.startsWith('--chdir=') && !a.startsWith('--bind='))
      .map((a) => (a.startsWith('--statsd-host=') ? `--statsd-host=127.0.0.1:${String(udp)}` : a));
    assert.ok(flags.includes('--statsd-prefix=frappe'), flags.join(' '));
    await writeFile(join(dir, 'app.py'), APP);
    start('gunicorn', 'gunicorn', [
      `--chdir=${dir}`,
      `--bind=127.0.0.1:${String(http)}`,
      ...flags,
      'app:application',
    ]);
    const base = `http://127.0.0.1:${String(http)}`;
    await eventually(() => httpText(`${base}/`), {
      ...WAIT,
      message: `gunicorn answers (${logOf('gunicorn')})`,
    });
    await eventually(() => httpText(`http://127.0.0.1:${String(web)}/metrics`), {
      ...WAIT,
      message: `statsd_exporter answers (${logOf('statsd_exporter')})`,
    });
    // 1 (above) + 2 more 200s, 1 slow 200, 2 errors.
    for (const path of ['/', '/', '/slow', '/fail', '/fail']) {
      const res = await fetch(`${base}${path}`);
      await res.text();
      assert.equal(res.status, path === '/fail' ? 500 : 200);
    }
    const body = await eventually(
      async () => {
        const b = await httpText(`http://127.0.0.1:${String(web)}/metrics`);
        assert.equal(sample(b, 'gunicorn_requests_total'), 6, b);
        return b;
      },
      { ...WAIT, message: 'statsd_exporter counted 6 requests' },
    );
    assert.equal(sample(body, 'http_requests_total{status="200"}'), 4);
    assert.equal(sample(body, 'http_requests_total{status="500"}'), 2);
    assert.equal(sample(body, 'gunicorn_request_duration_seconds_count'), 6);
    assert.equal(sample(body, 'gunicorn_request_duration_seconds_bucket{le="+Inf"}'), 6);
    // The /slow request took at least 0.3 s: in seconds, not milliseconds.
    assert.equal(sample(body, 'gunicorn_request_duration_seconds_bucket{le="0.25"}'), 5);
    const sum = sample(body, 'gunicorn_request_duration_seconds_sum') ?? 0;
    assert.ok(sum >= 0.3 && sum < 10, `sum ${String(sum)} s`);
    assert.equal(sample(body, 'gunicorn_workers'), 2, 'the Deployment runs --workers=2');
    scrapes.statsd = body;
  });

  it("real redis-server through redis_exporter with the env of the operator's redis-queue", async () => {
    const bin = await testTool(REDIS_EXPORTER);
    const sts = await get<StatefulSet>('StatefulSet', 'apps/v1', `${BENCH}-redis-queue`);
    const exporter = sts.spec.template.spec?.containers.find((c) => c.name === 'metrics');
    assert.ok(exporter !== undefined);
    assert.deepEqual(
      exporter.ports?.map((p) => p.name),
      ['metrics'],
    );
    const redisPort = await freePort('tcp');
    const web = await freePort('tcp');
    start('redis-server', 'redis-server', [
      '--port',
      String(redisPort),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ]);
    const queue = `rq:queue:${env.ns}-${BENCH}:default`;
    await eventually(
      () => runOut('redis-cli', ['-p', String(redisPort), 'rpush', queue, 'job-1', 'job-2']),
      { ...WAIT, message: `redis-server answers (${logOf('redis-server')})` },
    );
    // The sidecar's env (REDIS_EXPORTER_CHECK_KEYS), the address of this redis-server.
    const exporterEnv = Object.fromEntries(
      (exporter.env ?? []).flatMap((e) => (e.value === undefined ? [] : [[e.name, e.value]])),
    ) as Record<string, string>;
    assert.equal(exporterEnv.REDIS_EXPORTER_CHECK_KEYS, 'db0=rq:queue:*');
    start('redis_exporter', bin, [`-web.listen-address=127.0.0.1:${String(web)}`], {
      ...exporterEnv,
      REDIS_ADDR: `redis://127.0.0.1:${String(redisPort)}`,
    });
    const body = await eventually(
      async () => {
        const b = await httpText(`http://127.0.0.1:${String(web)}/metrics`);
        assert.equal(sample(b, 'redis_up'), 1, b.slice(0, 500));
        return b;
      },
      { ...WAIT, message: `redis_exporter reports redis_up 1 (${logOf('redis_exporter')})` },
    );
    assert.equal(sample(body, `redis_key_size{db="db0",key="${queue}"}`), 2);
    assert.ok((sample(body, 'redis_connected_clients') ?? 0) >= 1);
    assert.ok((sample(body, 'redis_memory_used_bytes') ?? 0) > 0);
    scrapes.redis = body;
  });

  it('every metric of every alert expression and dashboard panel is in one of the scrapes', () => {
    for (const [what, body] of Object.entries(scrapes)) {
      assert.ok(body !== '', `the ${what} scrape of an earlier test is missing`);
    }
    const exposed = new Set(Object.values(scrapes).flatMap((b) => [...sampleNames(b)]));
    const used = new Set<string>(templatingMetrics());
    const missing: string[] = [];
    for (const name of templatingMetrics()) {
      if (!exposed.has(name)) missing.push(`templating: ${name}`);
    }
    for (const { where, expr } of monitoringExpressions()) {
      for (const name of metricNames(expr)) {
        used.add(name);
        if (!exposed.has(name) && !(name in ALLOWED)) missing.push(`${where}: ${name}`);
      }
    }
    assert.deepEqual(missing, [], 'metrics no scrape exposes');
    // The allowlist stays minimal: each entry is used and really not scraped.
    for (const name of Object.keys(ALLOWED)) {
      assert.ok(used.has(name), `${name} is allowed but no expression uses it`);
      assert.ok(!exposed.has(name), `${name} is allowed but a scrape exposes it`);
    }
  });
});

/** Run `bin args` to completion; rejects on a non-zero exit. */
function runOut(bin: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0 && !out.includes('ERR') && !out.includes('Could not connect')) resolve(out);
      else reject(new Error(`${bin} ${args.join(' ')}: exit ${String(code)}: ${out}`));
    });
  });
}
