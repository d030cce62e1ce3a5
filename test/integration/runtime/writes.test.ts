// The write helpers against the real API server's validation: an event recorded three times is
// one events.k8s.io/v1 Event with series.count 3; finalizers are added and removed, and a stale
// resourceVersion is refused with a conflict rather than overwriting someone else's change.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isConflict, type KubeClient, type KubeObject } from '../../../src/kube/client.ts';
import { EventRecorder } from '../../../src/runtime/events.ts';
import { ensureFinalizer, removeFinalizer } from '../../../src/runtime/finalizers.ts';
import { kubeConfig } from '../../harness/env.ts';
import { createTestNamespace, deleteNamespace } from '../../harness/namespace.ts';
import { capturingLogger } from '../../harness/logger.ts';
import { clientFor } from './helpers.ts';

interface Event extends KubeObject {
  reason: string;
  note: string;
  reportingController: string;
  regarding: { name: string; uid: string };
  series?: { count: number; lastObservedTime: string };
}

describe('write helpers against the API server', () => {
  let client: KubeClient;
  let ns: string;
  before(async () => {
    client = clientFor(kubeConfig());
    ns = await createTestNamespace('rt-writes');
  });
  after(() => deleteNamespace(ns));

  it('records repeats as one Event with a growing series', async () => {
    const cm = await client.create<KubeObject>({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'subject', namespace: ns },
    });
    const logger = capturingLogger();
    const recorder = new EventRecorder(client, { reportingInstance: 'test-pod', logger });
    const event = {
      type: 'Warning',
      reason: 'NotReady',
      action: 'Reconcile',
      note: 'waiting',
    } as const;
    for (let i = 0; i < 3; i++) await recorder.record(cm, event);
    await recorder.record(cm, { ...event, type: 'Normal', reason: 'Ready', note: 'ready' });
    assert.deepEqual(logger.lines, [], 'every write accepted');

    const events = (await client.list<Event>('events.k8s.io/v1', 'Event', { namespace: ns })).items;
    const notReady = events.filter((e) => e.reason === 'NotReady');
    assert.equal(notReady.length, 1, 'repeats do not create new Events');
    assert.equal(notReady[0]?.series?.count, 3);
    assert.equal(notReady[0].reportingController, 'frappe-operator');
    assert.equal(notReady[0].regarding.uid, cm.metadata.uid);
    assert.equal(events.filter((e) => e.reason === 'Ready').length, 1);
  });

  it('adds and removes a finalizer; a stale resourceVersion is a conflict', async () => {
    const cm = await client.create<KubeObject>({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'guarded', namespace: ns, finalizers: ['example.com/other'] },
    });
    const withOurs = await ensureFinalizer(client, cm, 'vyogo.tech/finalizer');
    assert.deepEqual(withOurs.metadata.finalizers, ['example.com/other', 'vyogo.tech/finalizer']);

    // `cm` is now stale: writing from it must not drop the finalizer just added.
    await assert.rejects(removeFinalizer(client, cm, 'example.com/other'), (e: unknown) =>
      isConflict(e),
    );
    const without = await removeFinalizer(client, withOurs, 'vyogo.tech/finalizer');
    assert.deepEqual(without?.metadata.finalizers, ['example.com/other']);
    await client.patch(
      'v1',
      'ConfigMap',
      ns,
      'guarded',
      { metadata: { finalizers: null } },
      'merge',
    );
  });
});
