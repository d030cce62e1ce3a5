// Reflector + informer against the real API server: list+watch sees create/update/delete; a
// watch cut mid-stream and short server-side watch timeouts lose no update; a relist — what the
// reflector does on 410 Gone — loses nothing either and delivers exactly what changed.
//
// How the disruptions are made: the informer talks to the API server through a TCP proxy of
// the test (proxy.ts), which can reset every connection (`cut`) or hold new ones (`pause`).
//
// How the 410 is forced, honestly: it is not, here. The shared API server cannot be made to
// answer 410 on demand: its watch cache still holds the history of a young cluster (a watch
// from resourceVersion "1" is served, not refused), and compaction runs every 5 minutes. So
// this test drives the relist path itself (`reflector.relist()`, the very branch a 410 takes)
// while the informer is cut off. That a 410 — as HTTP status or as an ERROR event — leads to
// that branch is unit-tested (test/unit/kube/reflector.test.ts), and a real 410 from a real API
// server is asserted in restart.test.ts: a restarted kube-apiserver's fresh watch cache refuses
// the informer's old resourceVersion with 410.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeClient, KubeObject } from '../../../src/kube/client.ts';
import { Informer } from '../../../src/kube/informer.ts';
import { kubeConfig } from '../../harness/env.ts';
import { eventually } from '../../harness/eventually.ts';
import { createTestNamespace, deleteNamespace } from '../../harness/namespace.ts';
import { capturingLogger, type CapturingLogger } from '../../harness/logger.ts';
import { clientFor } from './helpers.ts';
import { apiProxy, type ApiProxy } from './proxy.ts';

type ConfigMap = KubeObject & { data?: Record<string, string> };

const configMap = (namespace: string, name: string, data: Record<string, string>): ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace },
  data,
});

describe('informer against the API server', () => {
  let client: KubeClient;
  let proxy: ApiProxy;
  let ns: string;
  const stops: (() => Promise<void>)[] = [];

  before(async () => {
    const kc = kubeConfig();
    client = clientFor(kc);
    proxy = await apiProxy(kc);
    ns = await createTestNamespace('rt-informer');
  });
  after(async () => {
    for (const stop of stops) await stop();
    await proxy.close();
    await deleteNamespace(ns);
  });

  /** An informer on this namespace's ConfigMaps through the proxy, recording its events. */
  function start(opts: { minWatchTimeoutSeconds?: number } = {}) {
    const logger: CapturingLogger = capturingLogger();
    const informer = new Informer<ConfigMap>(proxy.client, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: ns,
      logger,
      ...opts,
    });
    const events: string[] = [];
    informer.addEventHandler({
      add: (o) => events.push(`add ${o.metadata.name} ${JSON.stringify(o.data ?? {})}`),
      update: (_o, n) => events.push(`update ${n.metadata.name} ${JSON.stringify(n.data ?? {})}`),
      delete: (o) => events.push(`delete ${o.metadata.name}`),
    });
    informer.start();
    stops.push(() => informer.stop());
    return { informer, events, logger };
  }

  it('lists, then watches creates, updates and deletes', async () => {
    await client.create(configMap(ns, 'pre', { v: '0' }));
    const { informer, events } = start();
    await informer.waitForSync();
    assert.equal(informer.get(ns, 'pre')?.data?.v, '0');
    assert.equal(
      informer.get(ns, 'pre')?.metadata.managedFields,
      undefined,
      'managedFields stripped',
    );

    await client.create(configMap(ns, 'a', { v: '1' }));
    await client.patch('v1', 'ConfigMap', ns, 'a', { data: { v: '2' } }, 'merge');
    await client.delete('v1', 'ConfigMap', ns, 'a');
    await eventually(
      () => {
        assert.ok(events.includes('delete a'));
      },
      { message: 'delete of a seen' },
    );
    assert.deepEqual(
      events.filter((e) => e.includes(' a')),
      ['add a {"v":"1"}', 'update a {"v":"2"}', 'delete a'],
    );
    assert.equal(informer.get(ns, 'a'), undefined);
    await client.delete('v1', 'ConfigMap', ns, 'pre');
  });

  it('loses no update across watch cuts and short server-side watch timeouts', async () => {
    await client.create(configMap(ns, 'counter', { n: '0' }));
    // Watches end on the server every 1–2 s, and the test resets the connection every 700 ms.
    const { informer, events, logger } = start({ minWatchTimeoutSeconds: 1 });
    await informer.waitForSync();
    const cutter = setInterval(() => {
      proxy.cut();
    }, 700);
    const N = 200;
    try {
      for (let i = 1; i <= N; i++) {
        await client.patch('v1', 'ConfigMap', ns, 'counter', { data: { n: String(i) } }, 'merge');
        if (i % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      clearInterval(cutter);
    }
    await eventually(
      () => {
        assert.equal(informer.get(ns, 'counter')?.data?.n, String(N));
      },
      { message: 'last update seen' },
    );
    const seen = events
      .filter((e) => e.startsWith('update counter'))
      .map((e) => Number((JSON.parse(e.slice('update counter '.length)) as { n: string }).n));
    // Every watch resumed from the last resourceVersion: each update arrived once, in order.
    assert.deepEqual(
      seen,
      Array.from({ length: N }, (_, i) => i + 1),
    );
    assert.ok(logger.has('list/watch failed'), 'the watch was actually cut');
    assert.ok(!logger.has('relisting'), 'resumed by watching, not by relisting');
  });

  it('relists while cut off, delivering exactly the differences it missed', async () => {
    for (const n of ['x1', 'x2', 'x3']) await client.create(configMap(ns, n, { v: 'old' }));
    const { informer, events } = start();
    await informer.waitForSync();
    await eventually(() => {
      assert.ok(informer.get(ns, 'x3'));
    });

    proxy.pause(); // the informer can no longer reach the server
    try {
      await client.patch('v1', 'ConfigMap', ns, 'x1', { data: { v: 'mid' } }, 'merge');
      await client.patch('v1', 'ConfigMap', ns, 'x1', { data: { v: 'new' } }, 'merge');
      await client.delete('v1', 'ConfigMap', ns, 'x2');
      await client.create(configMap(ns, 'x4', { v: 'new' }));
      informer.reflector.relist();
    } finally {
      proxy.resume();
    }

    await eventually(
      () => {
        assert.equal(informer.get(ns, 'x1')?.data?.v, 'new');
        assert.equal(informer.get(ns, 'x2'), undefined);
        assert.equal(informer.get(ns, 'x4')?.data?.v, 'new');
      },
      { message: 'cache caught up after the relist' },
    );
    for (const e of ['update x1 {"v":"new"}', 'delete x2', 'add x4 {"v":"new"}']) {
      assert.ok(events.includes(e), `${e} delivered`);
    }
    // A resumed watch would have delivered x1's intermediate state; a relist sees only the end.
    assert.ok(!events.includes('update x1 {"v":"mid"}'), 'caught up by relisting, not by watching');
    assert.deepEqual(
      events.filter((e) => e.includes(' x3')),
      ['add x3 {"v":"old"}'],
      'x3 unchanged: nothing re-delivered',
    );
    assert.equal(informer.get(ns, 'x3')?.data?.v, 'old');
  });

  it('metadata only: lists and watches Secrets without ever receiving their data', async () => {
    const secret = (name: string, value: string) => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: ns, labels: { probe: 'metadata' } },
      stringData: { password: value },
    });
    await client.create(secret('before', 'listed-secret-value'));
    const informer = new Informer<KubeObject & { data?: unknown }>(client, {
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: ns,
      labelSelector: 'probe=metadata',
      metadataOnly: true,
    });
    const seen: unknown[] = [];
    informer.addEventHandler({ add: (o) => seen.push(o), update: (_o, n) => seen.push(n) });
    informer.start();
    stops.push(() => informer.stop());
    await informer.waitForSync();
    await client.create(secret('after', 'watched-secret-value'));
    await eventually(
      () => {
        if (informer.get(ns, 'after') === undefined)
          throw new Error('the watched Secret is missing');
        return Promise.resolve();
      },
      { timeout: 30_000 },
    );
    for (const name of ['before', 'after']) {
      const cached = informer.get(ns, name);
      assert.equal(cached?.kind, 'Secret');
      assert.equal(cached.metadata.labels?.probe, 'metadata');
      assert.equal(cached.data, undefined);
    }
    assert.doesNotMatch(JSON.stringify(seen), /secret-value|c2VjcmV0LXZhbHVl|password/);
  });
});
