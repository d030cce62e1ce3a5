// Work-queue semantics (client-go's): de-duplication, one worker per key, re-adds during
// processing, delayed and rate-limited adds, shutdown and drain.
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import type { RateLimiter } from '../../../src/runtime/ratelimiter.ts';
import { WorkQueue } from '../../../src/runtime/workqueue.ts';
import { registry } from '../../../src/runtime/metrics.ts';

let n = 0;
const newQueue = (rateLimiter?: RateLimiter): WorkQueue =>
  new WorkQueue({ name: `test-${String(++n)}`, rateLimiter });

const BLOCKED = Symbol('blocked');

/** Resolves to the key if `get` answers before the next macrotask, else BLOCKED. */
async function tryGet(q: WorkQueue): Promise<string | undefined | typeof BLOCKED> {
  const abort = new AbortController();
  const got = q.get(abort.signal);
  const timeout = new Promise<typeof BLOCKED>((resolve) =>
    setImmediate(() => {
      resolve(BLOCKED);
    }),
  );
  const result = await Promise.race([got, timeout]);
  abort.abort();
  return result;
}

describe('WorkQueue', () => {
  it('hands out keys in FIFO order and de-duplicates waiting keys', async () => {
    const q = newQueue();
    for (const k of ['a', 'b', 'a', 'c', 'b']) q.add(k);
    assert.equal(q.len(), 3);
    assert.deepEqual([await q.get(), await q.get(), await q.get()], ['a', 'b', 'c']);
    assert.equal(await tryGet(q), BLOCKED);
  });

  it('never hands a key out twice at once; a re-add during processing queues it once after done', async () => {
    const q = newQueue();
    q.add('k');
    assert.equal(await q.get(), 'k');
    for (let i = 0; i < 1000; i++) q.add('k');
    assert.equal(q.len(), 0, 'a key being processed is not queued');
    assert.equal(await tryGet(q), BLOCKED);
    q.done('k');
    assert.equal(q.len(), 1);
    assert.equal(await q.get(), 'k');
    q.done('k');
    assert.equal(await tryGet(q), BLOCKED, 'exactly one more, not 1000');
  });

  it('wakes a blocked worker on add', async () => {
    const q = newQueue();
    const got = q.get();
    q.add('x');
    assert.equal(await got, 'x');
  });

  it('addAfter delays, and the earliest pending time wins', () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    try {
      const q = newQueue();
      q.addAfter('k', 1000);
      q.addAfter('k', 5000); // later: ignored
      q.addAfter('j', 5000);
      q.addAfter('j', 200); // earlier: replaces
      mock.timers.tick(199);
      assert.equal(q.len(), 0);
      mock.timers.tick(1);
      assert.equal(q.len(), 1, 'j due at 200 ms');
      mock.timers.tick(800);
      assert.equal(q.len(), 2, 'k due at 1000 ms');
      mock.timers.tick(10_000);
      assert.equal(q.len(), 2, 'no duplicate from the superseded timers');
      q.addAfter('now', 0);
      assert.equal(q.len(), 3, 'a zero delay adds at once');
    } finally {
      mock.timers.reset();
    }
  });

  it('addRateLimited delays by the rate limiter; forget and numRequeues delegate', () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    try {
      const calls: string[] = [];
      const limiter: RateLimiter = {
        when: (k) => {
          calls.push(`when ${k}`);
          return 100;
        },
        forget: (k) => calls.push(`forget ${k}`),
        numRequeues: () => 7,
      };
      const q = newQueue(limiter);
      q.addRateLimited('k');
      assert.equal(q.len(), 0);
      mock.timers.tick(100);
      assert.equal(q.len(), 1);
      q.forget('k');
      assert.equal(q.numRequeues('k'), 7);
      assert.deepEqual(calls, ['when k', 'forget k']);
    } finally {
      mock.timers.reset();
    }
  });

  it('shutDown releases blocked workers and ignores adds; get(signal) can be aborted', async () => {
    const q = newQueue();
    const abort = new AbortController();
    const aborted = q.get(abort.signal);
    abort.abort();
    assert.equal(await aborted, undefined);
    q.add('a'); // must not be lost to the aborted waiter
    assert.equal(q.len(), 1);

    const blocked = [q.get(), q.get()];
    assert.equal(await blocked[0], 'a');
    q.shutDown();
    assert.equal(await blocked[1], undefined);
    q.add('b');
    q.addAfter('c', 1);
    assert.equal(q.len(), 0);
    assert.equal(await q.get(), undefined);
  });

  it('shutDownWithDrain waits for keys being processed', async () => {
    const q = newQueue();
    q.add('a');
    q.add('b');
    assert.equal(await q.get(), 'a');
    let drained = false;
    const drain = q.shutDownWithDrain().then(() => {
      drained = true;
    });
    assert.equal(await q.get(), undefined, 'no new work after shutdown, though b is queued');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(drained, false);
    q.done('a');
    await drain;
    assert.equal(drained, true);
  });

  it('keeps the workqueue metrics', async () => {
    const q = new WorkQueue({ name: 'metrics-test' });
    q.add('a');
    q.add('b');
    q.add('a');
    const key = await q.get();
    assert.equal(key, 'a');
    q.addRateLimited('x');
    const text = await registry.metrics();
    const line = (metric: string): string | undefined =>
      text
        .split('\n')
        .find((l) => l.startsWith(`${metric}{name="metrics-test",controller="metrics-test"}`));
    assert.match(line('workqueue_depth') ?? '', / 1$/);
    assert.match(line('workqueue_adds_total') ?? '', / 2$/);
    assert.match(line('workqueue_retries_total') ?? '', / 1$/);
    assert.match(line('workqueue_longest_running_processor_seconds') ?? '', / \d/);
    q.done('a');
    q.shutDown();
  });
});
