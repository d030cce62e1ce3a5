// Reflector + informer against a scripted fake API server, for the paths a real one cannot be
// made to take on demand: a paginated list, bookmarks, a 410 as HTTP status and as an ERROR
// event, a 500 on watch, a stream that goes silent (watchdog), and managedFields stripping.
// The same behaviours against a real API server are in test/integration/runtime/informer.test.ts.
import assert from 'node:assert/strict';
import type http from 'node:http';
import { afterEach, describe, it } from 'node:test';
import type { KubeObject } from '../../../src/kube/client.ts';
import { Informer } from '../../../src/kube/informer.ts';
import { noopLogger, type Logger } from '../../../src/kube/logger.ts';
import { until } from '../../harness/eventually.ts';
import { capturingLogger } from '../../harness/logger.ts';
import {
  fakeApiServer,
  reply,
  type FakeApiServer,
  type RecordedRequest,
} from './fake-apiserver.ts';

type Watch = (req: RecordedRequest, res: http.ServerResponse) => void;

const cm = (name: string, rv: number, data = ''): KubeObject & { data: { v: string } } => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: {
    name,
    namespace: 'ns',
    resourceVersion: String(rv),
    managedFields: [{ manager: 'x' }],
  },
  data: { v: data },
});

const send = (res: http.ServerResponse, type: string, object: unknown): void => {
  res.write(`${JSON.stringify({ type, object })}\n`);
};

/** A server whose list answers from `objects` (pages of `limit`) and whose watches follow `watches` in order. */
async function scripted(objects: () => KubeObject[], listRv: () => string, watches: Watch[]) {
  let w = 0;
  return fakeApiServer((req, res) => {
    if (req.query.get('watch') === 'true') {
      const watch = watches[Math.min(w++, watches.length - 1)];
      res.setHeader('content-type', 'application/json');
      watch?.(req, res);
      return true;
    }
    const all = objects();
    const start = Number(req.query.get('continue') ?? '0');
    const limit = Number(req.query.get('limit') ?? '500');
    const next = start + limit < all.length ? String(start + limit) : undefined;
    return reply(res, {
      items: all.slice(start, start + limit).map(({ apiVersion: _a, kind: _k, ...rest }) => rest),
      metadata: { resourceVersion: listRv(), continue: next },
    });
  });
}

const hang: Watch = () => undefined;

describe('Reflector + Informer (fake API server)', () => {
  let api: FakeApiServer | undefined;
  let informer: Informer<KubeObject & { data: { v: string } }> | undefined;
  afterEach(async () => {
    await informer?.stop();
    await api?.close();
  });

  const start = (a: FakeApiServer, opts: { watchdogMs?: number; logger?: Logger } = {}) => {
    api = a;
    informer = new Informer(a.client, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      pageSize: 2,
      backoffInitialMs: 5,
      backoffMaxMs: 20,
      logger: noopLogger,
      ...opts,
    });
    const events: string[] = [];
    informer.addEventHandler({
      add: (o) => events.push(`add ${o.metadata.name} ${o.data.v}`),
      update: (o, n) => events.push(`update ${n.metadata.name} ${o.data.v}->${n.data.v}`),
      delete: (o) => events.push(`delete ${o.metadata.name}`),
    });
    informer.start();
    return { informer, events };
  };

  it('lists in pages, watches with bookmarks and a 5–10 min timeout, resumes from the last resourceVersion', async () => {
    const a = await scripted(
      () => [cm('a', 1), cm('b', 2), cm('c', 3)],
      () => '10',
      [
        (_req, res) => {
          send(res, 'ADDED', cm('d', 11, 'x'));
          send(res, 'MODIFIED', cm('a', 12, 'y'));
          send(res, 'BOOKMARK', { kind: 'ConfigMap', metadata: { resourceVersion: '15' } });
          res.end(); // the server's timeout
        },
        (_req, res) => {
          send(res, 'DELETED', cm('b', 16));
        },
      ],
    );
    const { informer: inf, events } = start(a);
    await until(() => events.includes('delete b'), 'delete b');
    assert.deepEqual(events, ['add a ', 'add b ', 'add c ', 'add d x', 'update a ->y', 'delete b']);
    const lists = a.requests.filter((r) => r.query.get('watch') === null);
    assert.deepEqual(
      lists.map((r) => r.query.get('continue')),
      [null, '2'],
      'paginated list',
    );
    assert.equal(lists[0]?.query.get('limit'), '2');
    const watches = a.requests.filter((r) => r.query.get('watch') === 'true');
    assert.deepEqual(
      watches.map((r) => r.query.get('resourceVersion')),
      ['10', '15'],
      'resumed after the bookmark',
    );
    for (const w of watches) {
      assert.equal(w.query.get('allowWatchBookmarks'), 'true');
      const t = Number(w.query.get('timeoutSeconds'));
      assert.ok(t >= 300 && t < 600, `timeoutSeconds ${String(t)}`);
    }
    assert.equal(inf.get('ns', 'a')?.metadata.managedFields, undefined, 'managedFields stripped');
    assert.equal(inf.get('ns', 'a')?.data.v, 'y');
    assert.deepEqual(
      inf
        .list('ns')
        .map((o) => o.metadata.name)
        .sort(),
      ['a', 'c', 'd'],
    );
    assert.equal(inf.reflector.resourceVersion, '16');
  });

  it('relists on a 410 ERROR event and on a 410 HTTP status, delivering exactly what changed', async () => {
    let objects = [cm('a', 1), cm('b', 2)];
    let rv = '5';
    const gone = {
      kind: 'Status',
      code: 410,
      reason: 'Expired',
      message: 'too old resource version',
    };
    const a = await scripted(
      () => objects,
      () => rv,
      [
        (_req, res) => {
          // Meanwhile (events the watch will never send): a changed, b deleted, c created.
          objects = [cm('a', 7, 'new'), cm('c', 8)];
          rv = '9';
          send(res, 'ERROR', gone);
          res.end();
        },
        (_req, res) => {
          objects = [cm('a', 7, 'new'), cm('c', 8), cm('e', 12)];
          rv = '12';
          reply(res, gone, 410);
        },
        hang,
      ],
    );
    const { events } = start(a);
    await until(() => events.includes('add e '), 'second relist');
    assert.deepEqual(events, [
      'add a ',
      'add b ',
      'update a ->new',
      'add c ',
      'delete b',
      'add e ',
    ]);
    const watches = () => a.requests.filter((r) => r.query.get('watch') === 'true');
    await until(() => watches().length === 3, 'third watch');
    assert.deepEqual(
      watches().map((r) => r.query.get('resourceVersion')),
      ['5', '9', '12'],
    );
  });

  it('retries a failing watch with backoff from the same resourceVersion, without relisting', async () => {
    const a = await scripted(
      () => [cm('a', 1)],
      () => '3',
      [
        (_req, res) =>
          reply(res, { kind: 'Status', code: 500, reason: 'InternalError', message: 'etcd' }, 500),
        (_req, res) => {
          res.destroy(); // connection reset
        },
        (_req, res) => {
          send(res, 'MODIFIED', cm('a', 4, 'z'));
        },
      ],
    );
    const { events } = start(a);
    await until(() => events.includes('update a ->z'), 'update after retries');
    const watches = a.requests.filter((r) => r.query.get('watch') === 'true');
    assert.deepEqual(
      watches.map((r) => r.query.get('resourceVersion')),
      ['3', '3', '3'],
    );
    assert.equal(
      a.requests.filter((r) => r.query.get('watch') === null).length,
      1,
      'one list only',
    );
  });

  it('backs off when the server ends watches at once without an event (no hot loop)', async () => {
    const a = await scripted(
      () => [],
      () => '1',
      [
        (_req, res) => {
          res.end();
        },
      ],
    );
    const logger = capturingLogger();
    start(a, { logger });
    const retries = () => logger.lines.filter((l) => l.msg === 'list/watch failed, retrying');
    await until(() => retries().length >= 10, 'ten failed watches');
    const tries = retries().slice(0, 10);
    // Backoff 5 ms doubling to 20 ms (test settings), ±20 % jitter, never reset: no watch
    // succeeded. Logged rounded to the millisecond.
    tries.forEach((t, i) => {
      const delay = (t.obj as { retryInMs: number }).retryInMs;
      const nominal = Math.min(5 * 2 ** i, 20);
      assert.ok(
        delay >= Math.floor(nominal * 0.8) && delay <= Math.ceil(nominal * 1.2),
        `retry ${String(i)} in ${String(delay)} ms, expected ${String(nominal)} ± 20 %`,
      );
    });
    // And each next attempt waited that long (it fails the same way, so it is logged again).
    tries.slice(1).forEach((t, i) => {
      const waited = t.at - (tries[i]?.at ?? 0);
      const delay = (tries[i]?.obj as { retryInMs: number }).retryInMs;
      assert.ok(waited >= delay - 1, `attempt ${String(i + 1)} after ${waited.toFixed(1)} ms`);
    });
  });

  it('aborts a silent watch (watchdog) and watches again', async () => {
    const a = await scripted(
      () => [],
      () => '1',
      [
        hang,
        (_req, res) => {
          send(res, 'ADDED', cm('late', 2));
        },
      ],
    );
    const { events } = start(a, { watchdogMs: 100 });
    await until(() => events.includes('add late '), 'event on the second watch');
    assert.equal(a.requests.filter((r) => r.query.get('watch') === 'true').length, 2);
  });

  it('relist() delivers differences; indexes follow changes; a throwing handler does no harm', async () => {
    const a = await scripted(
      () => [cm('a', 1, 'p'), cm('b', 2, 'q')],
      () => '2',
      [
        (_req, res) => {
          send(res, 'MODIFIED', cm('a', 3, 'q'));
        },
        hang,
      ],
    );
    const { informer: inf, events } = start(a);
    inf.addIndexer('byValue', (o) => [o.data.v]);
    inf.addEventHandler({
      add: () => {
        throw new Error('handler bug');
      },
    });
    await until(() => events.includes('update a p->q'), 'update a');
    assert.deepEqual(
      inf
        .byIndex('byValue', 'q')
        .map((o) => o.metadata.name)
        .sort(),
      ['a', 'b'],
    );
    assert.deepEqual(inf.byIndex('byValue', 'p'), []);
    assert.equal(inf.hasSynced(), true);

    // relist(): lists again; the list (a at rv 1 again, as this fake's list is static) differs
    // from the cache, so exactly that difference is delivered.
    inf.reflector.relist();
    await until(() => events.includes('update a q->p'), 'relist delivers the difference');
    assert.equal(a.requests.filter((r) => r.query.get('watch') === null).length, 2);
    assert.deepEqual(
      inf.byIndex('byValue', 'p').map((o) => o.metadata.name),
      ['a'],
    );
  });
});

describe('Informer resync', () => {
  it('re-delivers every cached object as update(obj, obj) every resyncMs', async () => {
    const api = await scripted(
      () => [cm('a', 1)],
      () => '1',
      [hang],
    );
    const inf = new Informer<KubeObject>(api.client, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      resyncMs: 30,
      logger: noopLogger,
    });
    let resyncs = 0;
    inf.addEventHandler({
      update: (o, n) => {
        if (o === n) resyncs++;
      },
    });
    inf.start();
    try {
      await inf.waitForSync();
      await until(() => resyncs >= 2, 'two resyncs');
    } finally {
      await inf.stop();
      await api.close();
    }
  });
});
