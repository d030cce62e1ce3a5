// An operator restricted to some namespaces (`watchNamespaces`): the cache's informers list and
// watch each of those namespaces — never the whole cluster — and keep one store whose relists
// replace only their own namespace's objects. Informers asking for one namespace, or for every
// namespace (a shared MariaDB elsewhere), keep their own scope. Against a scripted fake API
// server that records every request's path.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Cache } from '../../../src/kube/cache.ts';
import type { KubeObject } from '../../../src/kube/client.ts';
import { Informer } from '../../../src/kube/informer.ts';
import { noopLogger } from '../../../src/kube/logger.ts';
import { until } from '../../harness/eventually.ts';
import { fakeApiServer, reply, type FakeApiServer } from './fake-apiserver.ts';

type ConfigMap = KubeObject & { data: { v: string } };

const cm = (namespace: string, name: string, rv: number, v = ''): ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace, resourceVersion: String(rv) },
  data: { v },
});

/** Lists answer from `objects` by the namespace in the path (none: every object); watches hang. */
function server(objects: () => ConfigMap[]): Promise<FakeApiServer> {
  return fakeApiServer((req, res) => {
    if (req.query.get('watch') === 'true') {
      res.setHeader('content-type', 'application/json');
      return true;
    }
    const ns = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps$/.exec(req.path)?.[1];
    if (ns === undefined && req.path !== '/api/v1/configmaps') return false;
    return reply(res, {
      items: objects()
        .filter((o) => ns === undefined || o.metadata.namespace === ns)
        .map(({ apiVersion: _a, kind: _k, ...rest }) => rest),
      metadata: { resourceVersion: '100' },
    });
  });
}

const paths = (api: FakeApiServer, watch: boolean): string[] =>
  [
    ...new Set(
      api.requests.filter((r) => (r.query.get('watch') === 'true') === watch).map((r) => r.path),
    ),
  ].sort();

describe('informers restricted to namespaces', () => {
  let api: FakeApiServer | undefined;
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
    await api?.close();
  });

  it('lists and watches each namespace, never the cluster; a relist replaces only its namespace', async () => {
    let objects = [cm('a', 'one', 1), cm('b', 'two', 2), cm('c', 'elsewhere', 3)];
    api = await server(() => objects);
    const inf = new Informer<ConfigMap>(api.client, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespaces: ['a', 'b'],
      logger: noopLogger,
    });
    stops.push(() => inf.stop());
    const events: string[] = [];
    inf.addEventHandler({
      add: (o) => events.push(`add ${o.metadata.namespace}/${o.metadata.name}`),
      update: (_o, n) => events.push(`update ${n.metadata.namespace}/${n.metadata.name}`),
      delete: (o) => events.push(`delete ${o.metadata.namespace}/${o.metadata.name}`),
    });
    inf.start();
    await inf.waitForSync();
    assert.deepEqual(events.sort(), ['add a/one', 'add b/two']);
    assert.deepEqual(paths(api, false), [
      '/api/v1/namespaces/a/configmaps',
      '/api/v1/namespaces/b/configmaps',
    ]);
    await until(() => paths(api ?? assert.fail(), true).length === 2, 'both watches');
    assert.deepEqual(paths(api, true), paths(api, false));
    assert.equal(inf.list().length, 2);
    assert.equal(inf.get('c', 'elsewhere'), undefined);
    assert.equal(inf.reflectors.length, 2);
    assert.throws(() => inf.reflector, /one reflector per namespace/);

    // Namespace a changes while its watch is down; a's relist delivers exactly that, and b's
    // objects, absent from a's list, stay.
    objects = [cm('a', 'three', 4), cm('b', 'two', 2)];
    events.length = 0;
    const [reflectorA] = inf.reflectors;
    reflectorA?.relist();
    await until(() => events.length === 2, 'a relisted');
    assert.deepEqual(events.sort(), ['add a/three', 'delete a/one']);
    assert.deepEqual(
      inf
        .list()
        .map((o) => `${o.metadata.namespace}/${o.metadata.name}`)
        .sort(),
      ['a/three', 'b/two'],
    );
  });

  it('has synced only once every namespace has been listed', async () => {
    const held: (() => void)[] = [];
    api = await fakeApiServer((req, res) => {
      if (req.query.get('watch') === 'true') return true;
      const answer = () => reply(res, { items: [], metadata: { resourceVersion: '1' } });
      // Namespace b's list is held back until the test releases it.
      if (req.path.includes('/namespaces/b/')) held.push(answer);
      else answer();
      return true;
    });
    const inf = new Informer<ConfigMap>(api.client, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespaces: ['a', 'b'],
      logger: noopLogger,
    });
    stops.push(() => inf.stop());
    inf.start();
    await until(() => held.length === 1, 'b listed');
    await until(() => api?.requests.some((r) => r.query.get('watch') === 'true') === true, 'a');
    assert.equal(inf.hasSynced(), false);
    held[0]?.();
    await inf.waitForSync();
    assert.equal(inf.hasSynced(), true);
  });

  it('the cache applies its namespaces to informers without a scope of their own', async () => {
    api = await server(() => []);
    const cache = new Cache(api.client, { logger: noopLogger, namespaces: ['b', 'a', 'b'] });
    stops.push(() => cache.stop());
    assert.deepEqual(cache.namespaces, ['a', 'b']);
    const restricted = cache.informer('v1', 'ConfigMap');
    assert.equal(cache.informer('v1', 'ConfigMap'), restricted, 'one informer per selection');
    const own = cache.informer('v1', 'ConfigMap', { namespace: 'operator' });
    const everywhere = cache.informer('v1', 'ConfigMap', { allNamespaces: true });
    assert.equal(restricted.reflectors.length, 2);
    assert.equal(own.reflectors.length, 1);
    cache.start();
    await cache.waitForSync();
    assert.deepEqual(paths(api, false), [
      '/api/v1/configmaps',
      '/api/v1/namespaces/a/configmaps',
      '/api/v1/namespaces/b/configmaps',
      '/api/v1/namespaces/operator/configmaps',
    ]);
    assert.notEqual(everywhere, restricted);
  });
});
