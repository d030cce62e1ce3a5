// `npm start` end to end: the playground (`frappe-operator dev`, src/dev/playground.ts) run as
// its own process, with a control plane of its own (not the run's, which other tests share):
// the sample bench settles, the example site (external database, generated connection Secret)
// reaches Ready with progress lines on the way, the usage names the site's URL, how to reach it
// and the guide's traffic drain; the site is Ready on the API server too; and Ctrl-C stops
// everything and deletes the work dir.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/dev/exec.ts';
import { eventually } from '../harness/eventually.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Building nothing (the run built the control plane), starting it and settling the bench. */
const READY_TIMEOUT_MS = 8 * 60_000;

const tail = (text: string, n = 5) => text.trimEnd().split('\n').slice(-n).join('\n');

it('npm start: the sample bench and the example site reach Ready; Ctrl-C stops everything', async (t) => {
  const child = spawn(process.execPath, [join(ROOT, 'src/cli.ts'), 'dev'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      resolve(code);
    });
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  t.after(async () => {
    if (!running()) return;
    child.kill('SIGINT');
    if ((await Promise.race([exited.then(() => 'exited'), sleep(60_000)])) !== 'exited') {
      child.kill('SIGKILL');
    }
  });

  await eventually(
    () => {
      if (!running()) throw new Error(`exited early:\n${tail(stderr, 20)}`);
      if (!stdout.includes('The playground is running')) throw new Error(tail(stderr));
    },
    { timeout: READY_TIMEOUT_MS, interval: 500, message: 'the playground running' },
  );

  assert.match(
    stderr,
    /Ready: FrappeBench playground\/prod-bench, every component at its replicas/,
  );
  assert.match(stderr, /applied FrappeSite playground\/erp .*kwok runs no containers/);
  const progress = stderr.split('\n').filter((l) => /^\[playground\] \+\d+s erp: /.test(l));
  assert.ok(
    progress.some((l) => l.includes('Ready=True SiteReady: the site serves http://erp.localhost')),
    `a progress line with the site Ready:\n${progress.join('\n')}`,
  );
  assert.match(stderr, /Ready: FrappeSite playground\/erp after \d+\.\d s/);
  assert.match(stdout, /# the site: http:\/\/erp\.localhost \(status\.siteURL\)/);
  assert.match(stdout, /kubectl port-forward svc\/prod-bench-nginx 8080:8080 -n playground/);
  assert.match(stdout, /curl -H 'Host: erp\.localhost' http:\/\/127\.0\.0\.1:8080\//);
  assert.ok(
    stdout.includes(
      `kubectl patch frappesite erp -n playground --type=merge -p '{"spec":{"ingress":{"enabled":false}}}'`,
    ),
    'the guide drain patch on the example site',
  );

  // The site as the API server has it, with the kubectl and kubeconfig the usage names.
  const kubeconfig = /export KUBECONFIG=(\S+)/.exec(stdout)?.[1];
  const binDir = /export PATH=(\S+):\$PATH/.exec(stdout)?.[1];
  const workDir = /and deletes (\S+)\.\n/.exec(stdout)?.[1];
  assert.ok(kubeconfig !== undefined && binDir !== undefined && workDir !== undefined, stdout);
  const get = async (...args: string[]) =>
    (
      await run(join(binDir, 'kubectl'), [
        `--kubeconfig=${kubeconfig}`,
        '-n',
        'playground',
        ...args,
      ])
    ).stdout;
  assert.equal(
    await get(
      'get',
      'frappesite',
      'erp',
      '-o',
      'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
    ),
    'True',
  );
  assert.equal(
    await get('get', 'ingress', 'erp-ingress', '-o', 'jsonpath={.spec.rules[0].host}'),
    'erp.localhost',
  );

  child.kill('SIGINT');
  assert.equal(await exited, 0, tail(stderr));
  assert.match(stderr, /\[playground\] stopped/);
  assert.ok(!existsSync(workDir), `${workDir} deleted`);
});
