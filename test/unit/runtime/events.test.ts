// Event recorder: events.k8s.io/v1 shape, repeats bump series.count instead of new Events, an
// expired Event starts a new series, and failures never throw. Finalizer patches are checked
// here too, against the same fake API server.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../../src/kube/client.ts';
import { noopLogger } from '../../../src/kube/logger.ts';
import { EventRecorder } from '../../../src/runtime/events.ts';
import { ensureFinalizer, removeFinalizer } from '../../../src/runtime/finalizers.ts';
import { fakeApiServer, reply } from '../kube/fake-apiserver.ts';

const site: KubeObject = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'acme', namespace: 'ns', uid: 'uid-1', resourceVersion: '7' },
};

describe('EventRecorder', () => {
  it('creates one Event, then patches its series on repeats', async () => {
    let expired = false;
    const api = await fakeApiServer((req, res) => {
      if (req.method === 'PATCH' && expired) return false; // 404
      return reply(res, req.body ?? {});
    });
    try {
      const rec = new EventRecorder(api.client, { reportingInstance: 'pod-0', logger: noopLogger });
      const ev = {
        type: 'Warning',
        reason: 'DatabaseNotReady',
        action: 'Reconcile',
        note: 'wait',
      } as const;
      await Promise.all([rec.record(site, ev), rec.record(site, ev), rec.record(site, ev)]);
      await rec.record(site, { ...ev, note: 'different' });

      const [create, patch1, patch2, other] = api.requests;
      assert.equal(api.requests.length, 4);
      assert.equal(create?.method, 'POST');
      assert.equal(create.path, '/apis/events.k8s.io/v1/namespaces/ns/events');
      const body = create.body as Record<string, unknown>;
      assert.equal(body.reportingController, 'frappe-operator');
      assert.equal(body.reportingInstance, 'pod-0');
      assert.equal(body.reason, 'DatabaseNotReady');
      assert.equal(body.note, 'wait');
      assert.match(String(body.eventTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      assert.deepEqual(body.regarding, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        name: 'acme',
        namespace: 'ns',
        uid: 'uid-1',
        resourceVersion: '7',
      });
      const name = (body.metadata as { name: string }).name;
      assert.match(name, /^acme\.[0-9a-f]{16}$/);
      for (const [patch, count] of [
        [patch1, 2],
        [patch2, 3],
      ] as const) {
        assert.equal(patch?.method, 'PATCH');
        assert.equal(patch.path, `/apis/events.k8s.io/v1/namespaces/ns/events/${name}`);
        assert.equal(patch.contentType, 'application/merge-patch+json');
        assert.equal((patch.body as { series: { count: number } }).series.count, count);
      }
      assert.equal(other?.method, 'POST', 'a different note is a different event');

      expired = true;
      await rec.record(site, ev);
      const last = api.requests.slice(-2);
      assert.deepEqual(
        last.map((r) => r.method),
        ['PATCH', 'POST'],
        'expired: new Event',
      );
    } finally {
      await api.close();
    }
  });

  it('never throws when the API refuses', async () => {
    const api = await fakeApiServer((_req, res) =>
      reply(res, { kind: 'Status', code: 403, reason: 'Forbidden', message: 'no' }, 403),
    );
    try {
      const rec = new EventRecorder(api.client, { logger: noopLogger });
      await rec.record(site, {
        type: 'Normal',
        reason: 'Created',
        action: 'Create',
        note: 'x'.repeat(5000),
      });
      assert.equal((api.requests[0]?.body as { note: string }).note.length, 1024);
    } finally {
      await api.close();
    }
  });
});

describe('finalizers', () => {
  it('adds and removes with a merge patch guarded by resourceVersion; gone is fine', async () => {
    const api = await fakeApiServer((req, res) => {
      if (req.path.endsWith('/gone')) return false;
      return reply(res, {
        ...site,
        metadata: { ...site.metadata, ...(req.body as { metadata: object }).metadata },
      });
    });
    try {
      const added = await ensureFinalizer(api.client, site, 'vyogo.tech/finalizer');
      const [add] = api.requests;
      assert.deepEqual(add?.body, {
        metadata: { resourceVersion: '7', finalizers: ['vyogo.tech/finalizer'] },
      });
      assert.equal(add.contentType, 'application/merge-patch+json');
      assert.equal(await ensureFinalizer(api.client, added, 'vyogo.tech/finalizer'), added);
      assert.equal(api.requests.length, 1, 'present: no request');

      const withTwo = {
        ...site,
        metadata: { ...site.metadata, finalizers: ['other', 'vyogo.tech/finalizer'] },
      };
      await removeFinalizer(api.client, withTwo, 'vyogo.tech/finalizer');
      assert.deepEqual(api.requests[1]?.body, {
        metadata: { resourceVersion: '7', finalizers: ['other'] },
      });
      const gone = { ...withTwo, metadata: { ...withTwo.metadata, name: 'gone' } };
      assert.equal(await removeFinalizer(api.client, gone, 'vyogo.tech/finalizer'), undefined);
    } finally {
      await api.close();
    }
  });
});
