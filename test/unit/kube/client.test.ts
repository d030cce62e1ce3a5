// The REST client against a fake API server: discovery (cached, shared, refreshed on a miss),
// paths, verbs and content types, error mapping, and request metrics. Also the shared Cache.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cache } from '../../../src/kube/cache.ts';
import {
  KubeApiError,
  isAlreadyExists,
  isConflict,
  isGone,
  isNotFound,
  type KubeObject,
} from '../../../src/kube/client.ts';
import { registry } from '../../../src/runtime/metrics.ts';
import { fakeApiServer, reply } from './fake-apiserver.ts';

const status = (code: number, reason: string) => ({
  kind: 'Status',
  code,
  reason,
  message: `it is ${reason}`,
});

describe('KubeClient', () => {
  it('resolves kinds through discovery once, sharing concurrent look-ups; misses re-discover', async () => {
    const api = await fakeApiServer((_req, res) => reply(res, {}));
    try {
      const [a, b] = await Promise.all([
        api.client.resource('v1', 'ConfigMap'),
        api.client.resource('v1', 'Namespace'),
      ]);
      assert.deepEqual(a, { group: '', version: 'v1', plural: 'configmaps', namespaced: true });
      assert.equal(b.namespaced, false);
      assert.equal((await api.client.resource('events.k8s.io/v1', 'Event')).group, 'events.k8s.io');
      assert.deepEqual(api.discovery, ['/api/v1', '/apis/events.k8s.io/v1']);
      await assert.rejects(api.client.resource('v1', 'Nope'), (e: unknown) => isNotFound(e));
      assert.equal(api.discovery.length, 3, 'a miss re-reads the group-version');
      assert.equal(await api.client.hasResource('keda.sh/v1alpha1', 'ScaledObject'), false);
      assert.equal(await api.client.hasResource('v1', 'ConfigMap'), true);
    } finally {
      await api.close();
    }
  });

  it('builds paths, sends the right verbs and content types, maps answers', async () => {
    const api = await fakeApiServer((req, res) => {
      if (req.path.endsWith('/missing')) return false;
      if (req.path.endsWith('/conflict')) return reply(res, status(409, 'Conflict'), 409);
      if (req.path.endsWith('/exists')) return reply(res, status(409, 'AlreadyExists'), 409);
      if (req.path.endsWith('/gone')) return reply(res, status(410, 'Expired'), 410);
      if (req.method === 'GET' && req.path.endsWith('/configmaps')) {
        return reply(res, {
          items: [{ metadata: { name: 'x' } }],
          metadata: { resourceVersion: '9' },
        });
      }
      return reply(res, req.body ?? { kind: 'Status', status: 'Success' });
    });
    const cm: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c', namespace: 'ns' },
    };
    try {
      const c = api.client;
      assert.equal(await c.get('v1', 'ConfigMap', 'ns', 'missing'), undefined);
      assert.equal(await c.delete('v1', 'ConfigMap', 'ns', 'missing'), false);
      assert.equal(
        await c.delete('v1', 'ConfigMap', 'ns', 'c', { propagationPolicy: 'Background' }),
        true,
      );
      const list = await c.list('v1', 'ConfigMap', {
        namespace: 'ns',
        labelSelector: 'a=b',
        limit: 500,
      });
      assert.deepEqual(list.items, [
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } },
      ]);
      await c.create(cm);
      await c.apply(cm, { fieldManager: 'm', force: true });
      await c.patch(
        'v1',
        'ConfigMap',
        'ns',
        'c',
        [{ op: 'add', path: '/data', value: {} }],
        'json',
      );
      await c.update(cm, { subresource: 'status' });
      await c.get('v1', 'Namespace', undefined, 'ns');
      await c.createRaw('/apis/authentication.k8s.io/v1/tokenreviews', { spec: {} });
      assert.deepEqual(
        api.requests.map(
          (r) =>
            `${r.method} ${r.path}${r.query.size > 0 ? `?${r.query.toString()}` : ''} ${r.contentType ?? ''}`,
        ),
        [
          'GET /api/v1/namespaces/ns/configmaps/missing ',
          'DELETE /api/v1/namespaces/ns/configmaps/missing application/json',
          'DELETE /api/v1/namespaces/ns/configmaps/c application/json',
          'GET /api/v1/namespaces/ns/configmaps?labelSelector=a%3Db&limit=500 ',
          'POST /api/v1/namespaces/ns/configmaps application/json',
          'PATCH /api/v1/namespaces/ns/configmaps/c?fieldManager=m&force=true application/apply-patch+yaml',
          'PATCH /api/v1/namespaces/ns/configmaps/c application/json-patch+json',
          'PUT /api/v1/namespaces/ns/configmaps/c/status application/json',
          'GET /api/v1/namespaces/ns ',
          'POST /apis/authentication.k8s.io/v1/tokenreviews application/json',
        ],
      );
      assert.deepEqual(api.requests[2]?.body, {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        propagationPolicy: 'Background',
      });

      const failure = (name: string) =>
        c.get('v1', 'ConfigMap', 'ns', name).then(
          () => undefined,
          (e: unknown) => e,
        );
      const conflict = await failure('conflict');
      assert.ok(conflict instanceof KubeApiError);
      assert.equal(conflict.code, 409);
      assert.match(
        conflict.message,
        /GET \/api\/v1\/namespaces\/ns\/configmaps\/conflict: it is Conflict/,
      );
      assert.ok(isConflict(conflict) && !isAlreadyExists(conflict));
      const exists = await failure('exists');
      assert.ok(isAlreadyExists(exists) && !isConflict(exists));
      assert.ok(isGone(await failure('gone')));

      const metric = await registry.getSingleMetric('rest_client_requests_total')?.get();
      const count = (code: string, method: string) =>
        metric?.values.find(
          (v) => v.labels.code === code && v.labels.method === method && v.labels.host === c.host,
        )?.value;
      assert.equal(count('404', 'GET'), 1);
      assert.equal(count('409', 'GET'), 2);
      assert.equal(count('200', 'PATCH'), 2);
    } finally {
      await api.close();
    }
  });
});

describe('Cache', () => {
  it('shares one informer per kind and selection, and reports sync of all', async () => {
    const api = await fakeApiServer((req, res) => {
      if (req.query.get('watch') === 'true') return true; // a watch that stays open
      return reply(res, { items: [], metadata: { resourceVersion: '1' } });
    });
    const cache = new Cache(api.client);
    try {
      const a = cache.informer('v1', 'ConfigMap', { namespace: 'ns' });
      assert.equal(cache.informer('v1', 'ConfigMap', { namespace: 'ns' }), a);
      assert.notEqual(
        cache.informer('v1', 'ConfigMap', { namespace: 'ns', labelSelector: 'x=y' }),
        a,
      );
      assert.equal(cache.hasSynced(), false);
      cache.start();
      const late = cache.informer('v1', 'Namespace'); // created after start: started at once
      await cache.waitForSync();
      assert.equal(cache.hasSynced(), true);
      assert.equal(late.hasSynced(), true);
    } finally {
      await cache.stop();
      await api.close();
    }
  });
});
