// spec.gunicorn and spec.nginx against the real API server: the API server stores the official
// defaults (frappe/helm erpnext/values.yaml nginx.environment; frappe_docker's gunicorn argv;
// gunicorn's statsD metrics on) in a bench that sets neither, accepts a manifest written as YAML with every field set, and
// refuses `upstreamRealIPRecursive: on` unquoted — YAML 1.1, which kubectl reads, makes it a
// boolean — instead of storing something else.
import { strict as assert } from 'node:assert';
import { before, describe, it } from 'node:test';
import { applyOurCrds, createTestNamespace } from '../../harness/namespace.ts';
import { kubectl } from '../../harness/kubectl.ts';
import { getObject, installedCrdDiffers } from './support.ts';

const manifest = (name: string, spec: string): string =>
  [
    'apiVersion: vyogo.tech/v1alpha1',
    'kind: FrappeBench',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    spec,
  ].join('\n');

describe('FrappeBench gunicorn and nginx settings', () => {
  before(() => applyOurCrds());

  it('stores the official defaults in a bench that sets neither', async () => {
    const ns = await createTestNamespace('api-serving-defaults');
    await kubectl(['apply', '-f', '-'], {
      namespace: ns,
      input: manifest('plain', '  frappeVersion: version-15'),
    });
    const spec = (await getObject('frappebench', 'plain', ns)).spec as Record<string, unknown>;
    assert.deepEqual(spec.gunicorn, {
      workers: 2,
      threads: 4,
      timeout: 120,
      metrics: { enabled: true },
    });
    assert.deepEqual(spec.nginx, {
      upstreamRealIPAddress: '127.0.0.1',
      upstreamRealIPHeader: 'X-Forwarded-For',
      upstreamRealIPRecursive: 'off',
    });
  });

  it('accepts a YAML manifest with every field set and stores it as written', async () => {
    const ns = await createTestNamespace('api-serving-set');
    await kubectl(['apply', '-f', '-'], {
      namespace: ns,
      input: manifest(
        'tuned',
        [
          '  gunicorn: {workers: 4, threads: 8, timeout: 300, metrics: {enabled: false, image: "registry.example.com/statsd-exporter:v0.31.0"}}',
          '  nginx:',
          '    upstreamRealIPAddress: fd00:10:244::/56',
          '    upstreamRealIPHeader: X-Real-IP',
          '    upstreamRealIPRecursive: "on"',
        ].join('\n'),
      ),
    });
    const spec = (await getObject('frappebench', 'tuned', ns)).spec as Record<string, unknown>;
    assert.deepEqual(spec.gunicorn, {
      workers: 4,
      threads: 8,
      timeout: 300,
      metrics: { enabled: false, image: 'registry.example.com/statsd-exporter:v0.31.0' },
    });
    assert.deepEqual(spec.nginx, {
      upstreamRealIPAddress: 'fd00:10:244::/56',
      upstreamRealIPHeader: 'X-Real-IP',
      upstreamRealIPRecursive: 'on',
    });
  });

  it('refuses upstreamRealIPRecursive: on unquoted (a YAML 1.1 boolean), saying it must be a string', async () => {
    const ns = await createTestNamespace('api-serving-bool');
    const res = await kubectl(['apply', '-f', '-'], {
      namespace: ns,
      input: manifest('unquoted', '  nginx:\n    upstreamRealIPRecursive: on'),
      allowFailure: true,
    });
    if (res.code === 0) {
      assert.fail(`accepted: ${res.stdout}${(await installedCrdDiffers('FrappeBench')) ?? ''}`);
    }
    assert.match(res.stderr, /spec\.nginx\.upstreamRealIPRecursive.*must be of type string/);
  });
});
