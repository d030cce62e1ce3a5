// Controller behaviour without a cluster: informer events are driven through the informer's
// store interface (replace/apply, what the reflector calls), reconcilers are scripted.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient, type KubeObject } from '../../../src/kube/client.ts';
import { Informer } from '../../../src/kube/informer.ts';
import { noopLogger } from '../../../src/kube/logger.ts';
import {
  Controller,
  defaultPrimaryPredicate,
  type Reconciler,
  type Request,
} from '../../../src/runtime/controller.ts';
import { TerminalError } from '../../../src/runtime/errors.ts';
import { registry } from '../../../src/runtime/metrics.ts';
import type { RateLimiter } from '../../../src/runtime/ratelimiter.ts';
import { until } from '../../harness/eventually.ts';

const kc = new KubeConfig();
kc.loadFromOptions({
  clusters: [{ name: 'none', server: 'http://127.0.0.1:1', skipTLSVerify: true }],
  users: [{ name: 'none' }],
  contexts: [{ name: 'none', cluster: 'none', user: 'none' }],
  currentContext: 'none',
});
const client = KubeClient.fromKubeConfig(kc);
const newInformer = (kind = 'Widget') =>
  new Informer<KubeObject>(client, { apiVersion: 'example.com/v1', kind, logger: noopLogger });

const obj = (name: string, meta: Partial<KubeObject['metadata']> = {}): KubeObject => ({
  apiVersion: 'example.com/v1',
  kind: 'Widget',
  metadata: { name, namespace: 'ns', resourceVersion: '1', generation: 1, ...meta },
});

/** Fixed 10 ms retry delay, counting failures. */
const fastLimiter = (): RateLimiter => {
  const failures = new Map<string, number>();
  return {
    when: (k) => {
      failures.set(k, (failures.get(k) ?? 0) + 1);
      return 10;
    },
    forget: (k) => failures.delete(k),
    numRequeues: (k) => failures.get(k) ?? 0,
  };
};

let seq = 0;
function harness(reconcile: Reconciler, maxConcurrentReconciles = 1) {
  const name = `unit-${String(++seq)}`;
  const c = new Controller({
    name,
    reconcile,
    maxConcurrentReconciles,
    logger: noopLogger,
    rateLimiter: fastLimiter(),
  });
  return { c, name };
}

/**
 * Resolves once every promise continuation queued so far has run (one macrotask turn). Workers,
 * reconcilers and stop() here progress through promises only, never timers, so whatever they
 * would do without a new event has happened by then.
 */
const flushPromises = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('defaultPrimaryPredicate', () => {
  const base = obj('a', { resourceVersion: '1', labels: { x: '1' } });
  const cases: [string, Partial<KubeObject['metadata']>, boolean][] = [
    ['status-only update', { resourceVersion: '2' }, false],
    ['resync (same resourceVersion)', {}, true],
    ['generation', { resourceVersion: '2', generation: 2 }, true],
    ['labels', { resourceVersion: '2', labels: { x: '2' } }, true],
    ['annotations', { resourceVersion: '2', annotations: { 'vyogo.tech/retry': '1' } }, true],
    ['finalizers', { resourceVersion: '2', finalizers: ['f'] }, true],
    ['deletion', { resourceVersion: '2', deletionTimestamp: '2025-01-01T00:00:00Z' }, true],
  ];
  it('any update of a kind without metadata.generation → true', () => {
    const cm = { ...base, metadata: { ...base.metadata, generation: undefined } };
    const next = { ...cm, metadata: { ...cm.metadata, resourceVersion: '2' } };
    assert.equal(defaultPrimaryPredicate(cm, next), true);
  });
  for (const [what, change, expected] of cases) {
    it(`${what} → ${String(expected)}`, () => {
      const next = { ...base, metadata: { ...base.metadata, ...change } };
      assert.equal(defaultPrimaryPredicate(base, next), expected);
    });
  }
});

describe('Controller', () => {
  it('reconciles primaries on add/delete and filtered updates, owners of owned objects, mapped keys', async () => {
    const seen: string[] = [];
    const { c } = harness((req) => {
      seen.push(`${req.namespace}/${req.name}`);
      return Promise.resolve();
    });
    const widgets = newInformer();
    const children = newInformer('Child');
    const configs = newInformer('Config');
    c.watchPrimary(widgets);
    c.watchOwned(children, 'Widget');
    c.watchMapped(configs, (o): Request[] => [
      { namespace: 'ns', name: `mapped-${o.metadata.name ?? ''}` },
    ]);
    c.start();
    try {
      widgets.replace([obj('a')]);
      await until(() => seen.length === 1 && c.queue.idle(), 'add');
      // Event handlers run synchronously: had the update passed the predicate, its key would be
      // in the queue right now.
      widgets.apply('MODIFIED', obj('a', { resourceVersion: '2' })); // status only
      assert.ok(c.queue.idle(), 'a status-only update enqueues nothing');
      assert.deepEqual(seen, ['ns/a']);
      widgets.apply('MODIFIED', obj('a', { resourceVersion: '3', generation: 2 }));
      await until(() => seen.length === 2, 'spec change');
      const owned = (name: string, controller: boolean, kind = 'Widget') =>
        obj(name, {
          ownerReferences: [
            { apiVersion: 'example.com/v1', kind, name: 'owner', uid: 'u', controller },
          ],
        });
      children.replace([owned('c1', true), owned('c2', false), owned('c3', true, 'Other')]);
      await until(() => seen.length === 3, 'owner of c1');
      configs.apply('ADDED', obj('cfg'));
      await until(() => seen.length === 4, 'mapped');
      widgets.apply('DELETED', obj('a', { resourceVersion: '4', generation: 2 }));
      await until(() => seen.length === 5 && c.queue.idle(), 'delete');
      assert.deepEqual(seen, ['ns/a', 'ns/a', 'ns/owner', 'ns/mapped-cfg', 'ns/a']);
    } finally {
      await c.stop();
    }
  });

  it('retries thrown errors with backoff, never retries a TerminalError, honours requeueAfter', async () => {
    const calls = new Map<string, number>();
    const { c, name } = harness((req) => {
      const n = (calls.get(req.name) ?? 0) + 1;
      calls.set(req.name, n);
      if (req.name === 'flaky' && n < 3) throw new Error('transient');
      if (req.name === 'sync-throw') throw new TerminalError('bad spec'); // not even async
      if (req.name === 'later' && n === 1) return Promise.resolve({ requeueAfter: 20 });
      return Promise.resolve();
    });
    c.start();
    try {
      for (const n of ['flaky', 'sync-throw', 'later']) c.enqueue({ namespace: 'ns', name: n });
      // Idle: no retry or requeueAfter is pending any more, so the counts below are final.
      await until(
        () => calls.get('flaky') === 3 && calls.get('later') === 2 && c.queue.idle(),
        'retries',
      );
      assert.equal(calls.get('flaky'), 3, 'two failures, then success');
      assert.equal(calls.get('sync-throw'), 1, 'terminal: no retry');
      assert.equal(calls.get('later'), 2);
      assert.equal(c.queue.numRequeues('ns/flaky'), 0, 'success forgets the backoff');
      const text = await registry.metrics();
      const value = (metric: string) =>
        Number(
          text
            .split('\n')
            .find((l) => l.startsWith(metric))
            ?.split(' ')
            .pop(),
        );
      assert.equal(
        value(`controller_runtime_reconcile_total{controller="${name}",result="error"}`),
        3,
      );
      assert.equal(
        value(`controller_runtime_reconcile_total{controller="${name}",result="success"}`),
        2,
      );
      assert.equal(
        value(`controller_runtime_reconcile_total{controller="${name}",result="requeue_after"}`),
        1,
      );
      assert.equal(
        value(`controller_runtime_terminal_reconcile_errors_total{controller="${name}"}`),
        1,
      );
      assert.equal(value(`controller_runtime_reconcile_errors_total{controller="${name}"}`), 3);
    } finally {
      await c.stop();
    }
  });

  it('runs at most N reconciles at once, resizable at run time; one key never runs twice at once', async () => {
    let running = 0;
    let peak = 0;
    let done = 0;
    const releases: (() => void)[] = [];
    const perKey = new Map<string, number>();
    const { c } = harness(async (req) => {
      running++;
      peak = Math.max(peak, running);
      perKey.set(req.name, (perKey.get(req.name) ?? 0) + 1);
      assert.equal(perKey.get(req.name), 1, 'same key concurrently');
      await new Promise<void>((resolve) => releases.push(resolve));
      perKey.set(req.name, (perKey.get(req.name) ?? 0) - 1);
      running--;
      done++;
    }, 3);
    c.start();
    try {
      for (let i = 0; i < 20; i++) c.enqueue({ namespace: 'ns', name: `k${String(i % 10)}` });
      // Waiting workers take keys synchronously as they are added: 10 distinct keys, 3 handed
      // out, 7 left — a fourth worker would have taken one more.
      assert.equal(c.queue.len(), 7, 'three keys handed out');
      await until(() => running === 3, 'three running');
      assert.equal(peak, 3);
      c.setMaxConcurrentReconciles(5);
      assert.equal(c.queue.len(), 5, 'two more keys handed out');
      await until(() => running === 5, 'five running');
      c.setMaxConcurrentReconciles(1);
      for (const r of releases.splice(0)) r(); // the five in flight finish
      await until(() => running === 1, 'one worker left');
      peak = 0;
      // k0–k2 were handed out at once and re-added while running: 10 + 3 reconciles in all.
      while (!c.queue.idle()) {
        await until(() => releases.length > 0, 'next key');
        releases.shift()?.();
        await flushPromises();
      }
      assert.equal(peak, 1);
      assert.equal(done, 13);
      assert.equal(releases.length, 0);
    } finally {
      for (const r of releases) r();
      const stopping = c.stop();
      for (let i = 0; i < 5; i++) {
        for (const r of releases.splice(0)) r();
        await flushPromises();
      }
      await stopping;
    }
  });

  it('stop() takes no new keys and resolves only after in-flight reconciles finished', async () => {
    let release: (() => void) | undefined;
    let finished = 0;
    const started: string[] = [];
    const { c } = harness(async (req) => {
      started.push(req.name);
      await new Promise<void>((resolve) => (release = resolve));
      finished++;
    });
    c.start();
    c.enqueue({ namespace: 'ns', name: 'a' });
    c.enqueue({ namespace: 'ns', name: 'b' });
    await until(() => started.length === 1, 'a started');
    let stopped = false;
    const stopping = c.stop().then(() => (stopped = true));
    await flushPromises();
    assert.equal(stopped, false, 'waits for the in-flight reconcile');
    assert.equal(c.queue.idle(), false, 'a is still being processed');
    release?.();
    await stopping;
    assert.equal(finished, 1);
    assert.deepEqual(started, ['a'], 'b was not started after stop');
    assert.equal(c.queue.len(), 1, 'b stays queued, never handed out');
    c.enqueue({ namespace: 'ns', name: 'c' });
    assert.equal(c.queue.len(), 1, 'a stopped queue takes no keys');
    assert.deepEqual(started, ['a']);
  });
});
