// The kubeconfig loader against fixture files in a temp dir: merging, contexts, TLS material,
// tokens and their rotation, exec plugins (tiny scripts), in-cluster config from injected env and
// paths. No cluster and no network: what is checked is what a request would carry.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it, mock } from 'node:test';
import { stringify } from 'yaml';
import { KubeConfig } from '../../../src/kube/kubeconfig.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeconfig-test-'));
after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});
let seq = 0;
/** A fresh directory under the temp dir, with `files` (name → content) written into it. */
function dir(files: Record<string, string> = {}): string {
  seq += 1;
  const d = path.join(tmp, String(seq));
  fs.mkdirSync(d);
  for (const [name, content] of Object.entries(files)) {
    fs.writeFileSync(path.join(d, name), content, { mode: 0o755 });
  }
  return d;
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** A kubeconfig with one context `name` → cluster `name` → user `name`; `current` null: none. */
function config(
  name: string,
  cluster: Record<string, unknown>,
  user: Record<string, unknown>,
  current: string | null = name,
): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster }],
    users: [{ name, user }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    ...(current === null ? {} : { 'current-context': current }),
  };
}
const kubeconfig = (...args: Parameters<typeof config>): string => stringify(config(...args));

async function requestOptions(kc: KubeConfig): Promise<https.RequestOptions> {
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  return opts;
}

const authorization = async (kc: KubeConfig): Promise<unknown> =>
  ((await requestOptions(kc)).headers as Record<string, unknown> | undefined)?.authorization;

describe('kubeconfig files', () => {
  it('reads the current context: server, CA, client certificate and token, from data', async () => {
    const d = dir({
      config: kubeconfig(
        'a',
        { server: 'https://a.example:6443', 'certificate-authority-data': b64('CA-A') },
        {
          'client-certificate-data': b64('CERT-A'),
          'client-key-data': b64('KEY-A'),
          token: 'token-a',
        },
      ),
    });
    const kc = KubeConfig.fromFiles([path.join(d, 'config')]);
    assert.deepEqual(kc.getCurrentCluster().server, 'https://a.example:6443');
    const opts = await requestOptions(kc);
    assert.equal(opts.ca, 'CA-A');
    assert.equal(opts.cert, 'CERT-A');
    assert.equal(opts.key, 'KEY-A');
    assert.equal(opts.rejectUnauthorized, true);
    assert.deepEqual(opts.headers, { authorization: 'Bearer token-a' });
  });

  it('reads CA, certificate and key files relative to the kubeconfig', async () => {
    const d = dir({ 'ca.crt': 'CA-FILE', 'tls.crt': 'CERT-FILE', 'tls.key': 'KEY-FILE' });
    const sub = path.join(d, 'sub');
    fs.mkdirSync(sub);
    fs.writeFileSync(
      path.join(sub, 'config'),
      kubeconfig(
        'f',
        { server: 'https://f:6443', 'certificate-authority': '../ca.crt' },
        { 'client-certificate': '../tls.crt', 'client-key': path.join(d, 'tls.key') },
      ),
    );
    const opts = await requestOptions(KubeConfig.fromFiles([path.join(sub, 'config')]));
    assert.equal(opts.ca, 'CA-FILE');
    assert.equal(opts.cert, 'CERT-FILE');
    assert.equal(opts.key, 'KEY-FILE');
    assert.equal(opts.headers, undefined);
  });

  it('honours insecure-skip-tls-verify, tls-server-name and basic auth', async () => {
    const kc = KubeConfig.fromObject(
      config(
        'c',
        {
          server: 'https://10.0.0.1',
          'insecure-skip-tls-verify': true,
          'tls-server-name': 'api.internal',
        },
        { username: 'admin', password: 's3cret' },
      ),
    );
    const opts = await requestOptions(kc);
    assert.equal(opts.rejectUnauthorized, false);
    assert.equal(opts.servername, 'api.internal');
    assert.equal(opts.ca, undefined);
    assert.deepEqual(opts.headers, { authorization: `Basic ${b64('admin:s3cret')}` });
  });

  it('uses the named context over current-context', async () => {
    const kc = KubeConfig.fromObject(
      {
        clusters: [
          { name: 'one', cluster: { server: 'https://one' } },
          { name: 'two', cluster: { server: 'https://two' } },
        ],
        users: [{ name: 'u2', user: { token: 't2' } }],
        contexts: [
          { name: 'one', context: { cluster: 'one' } },
          { name: 'two', context: { cluster: 'two', user: 'u2' } },
        ],
        'current-context': 'one',
      },
      tmp,
      'two',
    );
    assert.equal(kc.getCurrentCluster().server, 'https://two');
    assert.equal(await authorization(kc), 'Bearer t2');
  });

  it('merges several files as kubectl does: first name and first current-context win', async () => {
    const first = dir({
      config: kubeconfig('shared', { server: 'https://first' }, { token: 'first' }, null),
    });
    const second = dir({
      config: kubeconfig('shared', { server: 'https://second' }, { token: 'second' }, 'shared'),
    });
    const missing = path.join(tmp, 'does-not-exist');
    const kc = KubeConfig.load({
      env: {
        KUBECONFIG: [missing, path.join(first, 'config'), path.join(second, 'config')].join(
          path.delimiter,
        ),
      },
    });
    // current-context comes from the second file (the first has none), the cluster and the user
    // of that name from the first.
    assert.equal(kc.getCurrentCluster().server, 'https://first');
    assert.equal(await authorization(kc), 'Bearer first');
  });

  it('re-reads a tokenFile once the last read is a minute old', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
    const d = dir({ token: 'one\n' });
    const kc = KubeConfig.fromObject(
      config('c', { server: 'https://c' }, { tokenFile: 'token', token: 'static' }),
      d,
    );
    assert.equal(await authorization(kc), 'Bearer one');
    fs.writeFileSync(path.join(d, 'token'), 'two');
    t.mock.timers.tick(59_000);
    assert.equal(await authorization(kc), 'Bearer one', 'cached within the minute');
    t.mock.timers.tick(1_000);
    assert.equal(await authorization(kc), 'Bearer two', 'rotated token picked up');
    // A file that cannot be read any more keeps the last token (logged, not thrown).
    fs.rmSync(path.join(d, 'token'));
    t.mock.timers.tick(60_000);
    const stderr = mock.method(process.stderr, 'write', () => true);
    try {
      assert.equal(await authorization(kc), 'Bearer two');
    } finally {
      stderr.mock.restore();
    }
    assert.match(String(stderr.mock.calls[0]?.arguments[0]), /cannot re-read the token file/);
  });

  it('names what it does not support instead of ignoring it', () => {
    const server = { server: 'https://c' };
    assert.throws(
      () => KubeConfig.fromObject(config('c', server, { 'auth-provider': { name: 'oidc' } })),
      /user c: auth-provider is not supported/,
    );
    assert.throws(
      () => KubeConfig.fromObject(config('c', { ...server, 'proxy-url': 'http://proxy:3128' }, {})),
      /cluster c: proxy-url is not supported/,
    );
    const v1alpha1 = { apiVersion: 'client.authentication.k8s.io/v1alpha1', command: 'x' };
    assert.throws(
      () => KubeConfig.fromObject(config('c', server, { exec: v1alpha1 })),
      /apiVersion client.authentication.k8s.io\/v1alpha1 is not one of/,
    );
    assert.throws(
      () => KubeConfig.fromObject(config('c', server, {}, 'nope')),
      /no context named nope/,
    );
  });
});

describe('loading order', () => {
  const inClusterDir = (): string => dir({ token: 'sa-token', 'ca.crt': 'SA-CA' });

  it('prefers KUBECONFIG, then in-cluster, then ~/.kube/config', () => {
    const home = dir();
    fs.mkdirSync(path.join(home, '.kube'));
    fs.writeFileSync(
      path.join(home, '.kube', 'config'),
      kubeconfig('home', { server: 'https://home' }, {}),
    );
    const explicit = dir({ config: kubeconfig('env', { server: 'https://env' }, {}) });
    const serviceAccountDir = inClusterDir();
    const inCluster = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
    const server = (env: Record<string, string>): string =>
      KubeConfig.load({ env, home, serviceAccountDir }).getCurrentCluster().server;

    assert.equal(
      server({ ...inCluster, KUBECONFIG: path.join(explicit, 'config') }),
      'https://env',
    );
    assert.equal(server(inCluster), 'https://10.96.0.1:443');
    assert.equal(server({ KUBECONFIG: '' }), 'https://home');
    assert.throws(
      () => KubeConfig.load({ env: {}, home: dir(), serviceAccountDir }),
      /no Kubernetes configuration/,
    );
  });

  it('in-cluster: the service account CA and token, the token re-read for rotation', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 5_000_000 });
    const d = inClusterDir();
    const kc = KubeConfig.inCluster(
      { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' },
      d,
    );
    assert.equal(kc.getCurrentCluster().server, 'https://[fd00::1]:6443');
    const opts = await requestOptions(kc);
    assert.equal(opts.ca, 'SA-CA');
    assert.equal(opts.rejectUnauthorized, true);
    assert.deepEqual(opts.headers, { authorization: 'Bearer sa-token' });
    fs.writeFileSync(path.join(d, 'token'), 'rotated');
    t.mock.timers.tick(60_000);
    assert.equal(await authorization(kc), 'Bearer rotated');
  });

  it('in-cluster without a mounted token fails at load', () => {
    assert.throws(
      () =>
        KubeConfig.inCluster(
          { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' },
          dir({ 'ca.crt': 'CA' }),
        ),
      /token file .*token/,
    );
  });
});

describe('exec plugins', () => {
  // The plugin: counts its runs in a file, echoes what it was given, and answers with the
  // credential its environment describes.
  const plugin = `
import fs from 'node:fs';
const runs = Number(fs.existsSync(process.env.RUNS) ? fs.readFileSync(process.env.RUNS, 'utf8') : 0) + 1;
fs.writeFileSync(process.env.RUNS, String(runs));
fs.writeFileSync(process.env.RUNS + '.info', process.env.KUBERNETES_EXEC_INFO);
const info = JSON.parse(process.env.KUBERNETES_EXEC_INFO);
const status = process.env.CERT
  ? { clientCertificateData: process.env.CERT + runs, clientKeyData: 'KEY' }
  : { token: 'exec-token-' + runs };
if (process.env.EXPIRES) status.expirationTimestamp = process.env.EXPIRES;
console.log(JSON.stringify({ apiVersion: info.apiVersion, kind: 'ExecCredential', status }));
`;

  function execConfig(
    env: Record<string, string>,
    extra: Record<string, unknown> = {},
  ): { kc: KubeConfig; runs: () => number; info: () => unknown } {
    const d = dir({ 'plugin.mjs': plugin });
    const runsFile = path.join(d, 'runs');
    const cluster = {
      server: 'https://exec.example',
      'certificate-authority-data': b64('EXEC-CA'),
      extensions: [{ name: 'client.authentication.k8s.io/exec', extension: { audience: 'x' } }],
    };
    const exec = {
      apiVersion: 'client.authentication.k8s.io/v1',
      command: process.execPath,
      args: [path.join(d, 'plugin.mjs')],
      env: Object.entries({ RUNS: runsFile, ...env }).map(([name, value]) => ({ name, value })),
      interactiveMode: 'Never',
      ...extra,
    };
    const kc = KubeConfig.fromObject(config('c', cluster, { exec }), d);
    return {
      kc,
      runs: () => (fs.existsSync(runsFile) ? Number(fs.readFileSync(runsFile, 'utf8')) : 0),
      info: () => JSON.parse(fs.readFileSync(`${runsFile}.info`, 'utf8')) as unknown,
    };
  }

  it('runs the plugin once while its credential has no expiry, sharing concurrent runs', async () => {
    const { kc, runs, info } = execConfig({});
    const all = await Promise.all([authorization(kc), authorization(kc), authorization(kc)]);
    assert.deepEqual(all, ['Bearer exec-token-1', 'Bearer exec-token-1', 'Bearer exec-token-1']);
    assert.equal(await authorization(kc), 'Bearer exec-token-1');
    assert.equal(runs(), 1);
    assert.deepEqual(info(), {
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      spec: { interactive: false },
    });
  });

  it('caches the credential until its expirationTimestamp', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.parse('2030-01-01T00:00:00Z') });
    const { kc, runs } = execConfig({ EXPIRES: '2030-01-01T00:10:00Z' });
    assert.equal(await authorization(kc), 'Bearer exec-token-1');
    t.mock.timers.tick(9 * 60_000);
    assert.equal(await authorization(kc), 'Bearer exec-token-1');
    t.mock.timers.tick(60_000);
    assert.equal(await authorization(kc), 'Bearer exec-token-2');
    assert.equal(runs(), 2);
  });

  it('hands a client certificate on, and the cluster when provideClusterInfo is set', async () => {
    const { kc, info } = execConfig(
      { CERT: 'EXEC-CERT-' },
      { apiVersion: 'client.authentication.k8s.io/v1beta1', provideClusterInfo: true },
    );
    const opts = await requestOptions(kc);
    assert.equal(opts.cert, 'EXEC-CERT-1');
    assert.equal(opts.key, 'KEY');
    assert.equal(opts.headers, undefined);
    assert.deepEqual(info(), {
      apiVersion: 'client.authentication.k8s.io/v1beta1',
      kind: 'ExecCredential',
      spec: {
        interactive: false,
        cluster: {
          server: 'https://exec.example',
          'insecure-skip-tls-verify': false,
          'certificate-authority-data': b64('EXEC-CA'),
          config: { audience: 'x' },
        },
      },
    });
  });

  /** A kubeconfig whose exec plugin is the shell script `script`, named relatively. */
  const scriptPlugin = (script: string): { kc: KubeConfig; command: string } => {
    const d = dir({ 'plugin.sh': `#!/bin/sh\n${script}\n` });
    const exec = { apiVersion: 'client.authentication.k8s.io/v1', command: './plugin.sh' };
    const kc = KubeConfig.fromObject(config('c', { server: 'https://c' }, { exec }), d);
    return { kc, command: path.join(d, 'plugin.sh') };
  };

  it('resolves a relative command against the kubeconfig and reports a failing plugin', async () => {
    const { kc, command } = scriptPlugin('exit 1');
    await assert.rejects(requestOptions(kc), {
      message: `exec plugin ${command} failed: exit code 1`,
    });
  });

  it('rejects output that is not an ExecCredential of its apiVersion', async () => {
    const { kc } = scriptPlugin(`echo '{"apiVersion":"v1","kind":"Status"}'`);
    await assert.rejects(requestOptions(kc), /expected an ExecCredential/);
  });
});
