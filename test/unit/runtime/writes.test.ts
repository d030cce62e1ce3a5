// Writes happen only when something changed: JSON equality ignoring key order for status,
// the subset check and applied-hash annotation for server-side apply.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../../../src/kube/client.ts';
import { canonicalJson, isSubset, jsonEqual } from '../../../src/kube/json.ts';
import {
  APPLIED_HASH_ANNOTATION,
  applyObject,
  withAppliedHash,
} from '../../../src/runtime/apply.ts';
import { updateStatus } from '../../../src/runtime/status.ts';
import { fakeApiServer, reply, type FakeApiServer } from '../kube/fake-apiserver.ts';

describe('jsonEqual / isSubset', () => {
  it('ignores key order and undefined-valued keys', () => {
    assert.equal(
      jsonEqual({ a: 1, b: { c: [1, { d: 2, e: 3 }] } }, { b: { c: [1, { e: 3, d: 2 }] }, a: 1 }),
      true,
    );
    assert.equal(jsonEqual({ a: 1, x: undefined }, { a: 1 }), true);
    assert.equal(jsonEqual({ a: [1, 2] }, { a: [2, 1] }), false, 'array order matters');
    assert.equal(jsonEqual(undefined, {}), false);
    assert.equal(canonicalJson({ b: 1, a: 2 }), '{"a":2,"b":1}');
  });

  it('subset: the live side may have more fields; zero values match absent fields', () => {
    const live = {
      spec: {
        replicas: 2,
        template: { containers: [{ name: 'a', image: 'i', terminationMessagePath: '/dev/x' }] },
      },
    };
    assert.equal(
      isSubset(
        { spec: { replicas: 2, template: { containers: [{ name: 'a', image: 'i' }] } } },
        live,
      ),
      true,
    );
    assert.equal(isSubset({ spec: { replicas: 3 } }, live), false);
    assert.equal(
      isSubset({ spec: { template: { containers: [{ name: 'a' }, { name: 'b' }] } } }, live),
      false,
    );
    assert.equal(isSubset({ spec: { paused: false, args: [], selector: {} } }, live), true);
    assert.equal(isSubset({ spec: { paused: true } }, live), false);
    assert.equal(
      isSubset({ cpu: 0.5 }, { cpu: '500m' }),
      false,
      'builders must use canonical forms',
    );
  });
});

describe('applyObject / updateStatus against a fake API server', () => {
  let api: FakeApiServer;
  before(async () => {
    api = await fakeApiServer((req, res) =>
      reply(res, { ...(req.body as object), metadata: { name: 'x', resourceVersion: '2' } }),
    );
  });
  after(() => api.close());

  const cm = (data: Record<string, string>): KubeObject & { data: Record<string, string> } => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'x', namespace: 'ns', labels: { app: 'frappe' } },
    data,
  });

  it('stamps a stable hash of the content, independent of key order', () => {
    const a = withAppliedHash(cm({ a: '1', b: '2' }));
    const b = withAppliedHash({ ...cm({ b: '2', a: '1' }) });
    const hash = a.metadata.annotations?.[APPLIED_HASH_ANNOTATION];
    assert.match(hash ?? '', /^[0-9a-f]{16}$/);
    assert.equal(b.metadata.annotations?.[APPLIED_HASH_ANNOTATION], hash);
    assert.equal(
      withAppliedHash(a).metadata.annotations?.[APPLIED_HASH_ANNOTATION],
      hash,
      'idempotent',
    );
    assert.notEqual(
      withAppliedHash(cm({ a: '1' })).metadata.annotations?.[APPLIED_HASH_ANNOTATION],
      hash,
    );
  });

  it('sends nothing when the live object already matches; applies on drift or a changed intent', async () => {
    api.requests.length = 0;
    const desired = cm({ a: '1', b: '2' });
    const live = {
      ...withAppliedHash(desired),
      metadata: { ...withAppliedHash(desired).metadata, uid: 'u', resourceVersion: '1' },
    };
    assert.equal(await applyObject(api.client, desired, live), live);
    assert.equal(api.requests.length, 0);

    await applyObject(api.client, desired, { ...live, data: { a: '1', b: 'edited' } });
    assert.equal(api.requests.length, 1, 'drift is repaired');

    // Dropping key b: the live object still contains everything we send, but the hash differs.
    await applyObject(api.client, cm({ a: '1' }), live);
    assert.equal(api.requests.length, 2, 'a field we stop sending is released by an apply');
    const req = api.requests[1];
    assert.equal(req?.method, 'PATCH');
    assert.equal(req.contentType, 'application/apply-patch+yaml');
    assert.equal(req.query.get('fieldManager'), 'frappe-operator');
    assert.equal(req.query.get('force'), 'true');
  });

  it('writes status through the status subresource only when it differs', async () => {
    api.requests.length = 0;
    const obj = {
      ...cm({}),
      status: { phase: 'Ready', conditions: [{ type: 'Ready', status: 'True' }] },
    };
    const same = await updateStatus(api.client, obj, {
      conditions: [{ status: 'True', type: 'Ready' }],
      phase: 'Ready',
    });
    assert.equal(same, obj);
    assert.equal(api.requests.length, 0, 'equal ignoring key order: no write');

    await updateStatus(api.client, obj, { phase: 'Failed', conditions: [] });
    assert.equal(api.requests.length, 1);
    const req = api.requests[0];
    assert.equal(req?.path, '/api/v1/namespaces/ns/configmaps/x/status');
    assert.equal(req.contentType, 'application/apply-patch+yaml');
    assert.deepEqual(req.body, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x', namespace: 'ns' },
      status: { phase: 'Failed', conditions: [] },
    });
  });
});
