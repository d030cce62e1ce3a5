// Controllers against the real API server: a reconcile in progress absorbs 1,000 changes into
// one more reconcile; a failing key backs off exponentially without delaying other keys; and a
// converged controller that applies children and writes status sends no write request at all
// while resyncs keep reconciling every object (the contract of issue 3).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeClient, KubeObject } from '../../../src/kube/client.ts';
import { Informer } from '../../../src/kube/informer.ts';
import { noopLogger } from '../../../src/kube/logger.ts';
import { applyObject } from '../../../src/runtime/apply.ts';
import { setCondition, type Condition } from '../../../src/runtime/conditions.ts';
import { Controller, type Reconciler, type Request } from '../../../src/runtime/controller.ts';
import { updateStatus } from '../../../src/runtime/status.ts';
import { kubeConfig } from '../../harness/env.ts';
import { eventually } from '../../harness/eventually.ts';
import {
  createTestNamespace,
  deleteNamespace,
  waitForCrdsEstablished,
  widgetCrd,
} from '../../harness/namespace.ts';
import { clientFor, writeRequests } from './helpers.ts';

type ConfigMap = KubeObject & { data?: Record<string, string> };
interface Widget extends KubeObject {
  spec: { value: string };
  status?: { observedGeneration?: number; value?: string; conditions?: Condition[] };
}

const GROUP = 'runtime-test.vyogo.tech';
/** The quiet test's informer resync period, and how many resyncs of every object it awaits. */
const RESYNC_MS = 300;
const QUIET_ROUNDS = 10;

/** A CRD of the tests' own, with a status subresource like our real kinds. */
const crd = widgetCrd(GROUP, {
  type: 'object',
  properties: {
    spec: { type: 'object', properties: { value: { type: 'string' } } },
    status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
  },
});

describe('controller against the API server', () => {
  let client: KubeClient;
  const cleanup: (() => Promise<void>)[] = [];

  before(() => {
    client = clientFor(kubeConfig());
  });
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  async function namespace(prefix: string): Promise<string> {
    const ns = await createTestNamespace(prefix);
    cleanup.push(() => deleteNamespace(ns));
    return ns;
  }

  /** An informer on `ns`; `labelSelector` keeps out objects the cluster adds (kube-root-ca.crt). */
  function informer<T extends KubeObject>(
    apiVersion: string,
    kind: string,
    ns: string,
    opts: { labelSelector?: string; resyncMs?: number } = {},
  ) {
    const i = new Informer<T>(client, {
      apiVersion,
      kind,
      namespace: ns,
      logger: noopLogger,
      ...opts,
    });
    cleanup.push(() => i.stop());
    return i;
  }

  function controller(
    name: string,
    reconcile: Reconciler,
    maxConcurrentReconciles = 1,
  ): Controller {
    const c = new Controller({ name, reconcile, maxConcurrentReconciles, logger: noopLogger });
    cleanup.push(() => c.stop());
    return c;
  }

  it('1,000 changes while a key is reconciled lead to exactly one more reconcile', async () => {
    const ns = await namespace('rt-dedup');
    await client.create<ConfigMap>({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'hot', namespace: ns, labels: { rt: 'test' } },
    });
    const cms = informer<ConfigMap>('v1', 'ConfigMap', ns, { labelSelector: 'rt=test' });
    let reconciles = 0;
    let release: (() => void) | undefined;
    const c = controller('rt-dedup', async () => {
      reconciles++;
      if (reconciles === 1) await new Promise<void>((resolve) => (release = resolve));
    });
    c.watchPrimary(cms);
    cms.start();
    c.start();
    await eventually(() => {
      assert.ok(release, 'first reconcile running');
    });
    let last: ConfigMap | undefined;
    for (let i = 0; i < 1000; i++) {
      last = await client.patch<ConfigMap>(
        'v1',
        'ConfigMap',
        ns,
        'hot',
        { metadata: { labels: { i: String(i) } } },
        'merge',
      );
    }
    // Every change has reached the controller (as queue adds) before the reconcile ends.
    await eventually(() => {
      assert.equal(cms.get(ns, 'hot')?.metadata.resourceVersion, last?.metadata.resourceVersion);
    });
    assert.equal(reconciles, 1);
    release?.();
    await eventually(() => {
      assert.equal(reconciles, 2);
      assert.equal(c.queue.len(), 0);
    });
  });

  it('backs a failing key off exponentially without delaying other keys', async () => {
    const ns = await namespace('rt-backoff');
    const cms = informer<ConfigMap>('v1', 'ConfigMap', ns, { labelSelector: 'rt=test' });
    const failures: number[] = [];
    /** For each other key, how many times `bad` had failed when it was reconciled. */
    const failuresWhenReconciled = new Map<string, number>();
    // One worker: the failing key must not hold it while it waits.
    const c = controller('rt-backoff', (req) => {
      if (req.name === 'bad') {
        failures.push(performance.now());
        return Promise.reject(new Error('always failing'));
      }
      failuresWhenReconciled.set(req.name, failures.length);
      return Promise.resolve();
    });
    c.watchPrimary(cms);
    cms.start();
    c.start();
    await client.create<ConfigMap>({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'bad', namespace: ns, labels: { rt: 'test' } },
    });
    await eventually(
      () => {
        assert.ok(failures.length >= 11, `${String(failures.length)} attempts`);
      },
      { timeout: 60_000, interval: 10 },
    );
    // After 11 failures its next retry is 5 ms · 2^10 ≈ 5 s away: keys added now must not wait
    // for it (they would, were the worker held during the backoff).
    const good = ['good-0', 'good-1', 'good-2', 'good-3', 'good-4'];
    for (const name of good) {
      await client.create<ConfigMap>({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name, namespace: ns, labels: { rt: 'test' } },
      });
    }
    await eventually(() => {
      assert.equal(failuresWhenReconciled.size, good.length);
    });
    assert.deepEqual(
      good.map((name) => failuresWhenReconciled.get(name)),
      good.map(() => 11),
      'reconciled while the failing key waited for its 12th attempt',
    );

    const gaps = failures.slice(1, 10).map((t, i) => t - (failures[i] ?? t));
    // Per-item backoff: 5, 10, 20, 40, ... ms; a delayed retry never fires early.
    gaps.forEach((gap, i) => {
      assert.ok(
        gap >= 5 * 2 ** i - 1,
        `gap ${String(i)} = ${gap.toFixed(1)} ms, expected ≥ ${String(5 * 2 ** i)}`,
      );
    });
    // And they grow exponentially, not by a constant or linearly: the last three (320 + 640 +
    // 1280 ms) are 64× the first three (5 + 10 + 20 ms); at least 4× leaves room for a busy
    // machine's timer and event-loop delays, which only lengthen the short early gaps.
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const early = sum(gaps.slice(0, 3));
    const late = sum(gaps.slice(6, 9));
    assert.ok(late > 4 * early, `gaps grow: ${gaps.map((g) => g.toFixed(0)).join(', ')}`);
  });

  it(
    'a converged controller that applies children sends no write through repeated resyncs',
    { timeout: 120_000 },
    async () => {
      await client.apply(crd, { fieldManager: 'frappe-operator-tests', force: true });
      await waitForCrdsEstablished([crd.metadata.name]);
      await eventually(
        async () => {
          assert.ok(await client.hasResource(`${GROUP}/v1`, 'Widget'));
        },
        { message: 'Widget in discovery' },
      );
      const ns = await namespace('rt-quiet');
      // A quick resync, so every widget is reconciled again and again with nothing changed: the
      // drift checks a long quiet period would run, without waiting for it.
      const widgets = informer<Widget>(`${GROUP}/v1`, 'Widget', ns, { resyncMs: RESYNC_MS });
      const children = informer<ConfigMap>('v1', 'ConfigMap', ns, {
        labelSelector: 'app=frappe',
        resyncMs: RESYNC_MS,
      });
      const reconciles = new Map<string, number>();
      let inFlight = 0;
      const c = controller(
        'rt-quiet',
        async (req) => {
          reconciles.set(req.name, (reconciles.get(req.name) ?? 0) + 1);
          inFlight++;
          try {
            await reconcileWidget(req);
          } finally {
            inFlight--;
          }
        },
        2,
      );
      const reconcileWidget = async (req: Request): Promise<void> => {
        const w = widgets.get(req.namespace, req.name);
        if (w === undefined) return;
        const { name, uid, generation } = w.metadata;
        const child: ConfigMap = {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: {
            name: `${name}-child`,
            namespace: req.namespace,
            labels: { app: 'frappe' },
            ownerReferences: [
              {
                apiVersion: w.apiVersion,
                kind: 'Widget',
                name,
                uid,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          },
          data: { value: w.spec.value },
        };
        await applyObject(client, child, children.get(req.namespace, `${name}-child`));
        await updateStatus(client, w, {
          observedGeneration: generation,
          value: w.spec.value,
          conditions: setCondition(w.status?.conditions, {
            type: 'Ready',
            status: 'True',
            reason: 'ChildApplied',
            message: `child ${name}-child holds ${w.spec.value}`,
            observedGeneration: generation,
          }),
        });
      };
      c.watchPrimary(widgets);
      c.watchOwned(children, 'Widget');
      widgets.start();
      children.start();
      c.start();
      for (let i = 0; i < 5; i++) {
        await client.create<Widget>({
          apiVersion: `${GROUP}/v1`,
          kind: 'Widget',
          metadata: { name: `w${String(i)}`, namespace: ns },
          spec: { value: `v${String(i)}` },
        });
      }
      await eventually(
        () => {
          for (let i = 0; i < 5; i++) {
            assert.equal(children.get(ns, `w${String(i)}-child`)?.data?.value, `v${String(i)}`);
            assert.equal(widgets.get(ns, `w${String(i)}`)?.status?.observedGeneration, 1);
          }
          assert.equal(c.queue.len(), 0);
        },
        { message: 'converged' },
      );
      // A hand edit of a child is repaired (drift), then everything is quiet again.
      const edited = await client.patch<ConfigMap>(
        'v1',
        'ConfigMap',
        ns,
        'w0-child',
        { data: { value: 'edited' } },
        'merge',
      );
      await eventually(
        () => {
          const child = children.get(ns, 'w0-child');
          assert.equal(child?.data?.value, 'v0');
          assert.ok(
            Number(child.metadata.resourceVersion) > Number(edited.metadata.resourceVersion),
          );
        },
        { message: 'drift repaired' },
      );
      // Idle: nothing queued, no reconcile in flight (so no write of one still on the way).
      await eventually(() => {
        assert.equal(c.queue.len(), 0);
        assert.equal(inFlight, 0);
      });

      const writesBefore = await writeRequests(client.host);
      const before = new Map(reconciles);
      const since = (name: string): number => (reconciles.get(name) ?? 0) - (before.get(name) ?? 0);
      // Every widget reconciled QUIET_ROUNDS more times by resyncs, and no reconcile still in
      // flight, so each of their writes (if any) has been counted.
      await eventually(
        () => {
          for (let i = 0; i < 5; i++) {
            assert.ok(
              since(`w${String(i)}`) >= QUIET_ROUNDS,
              `w${String(i)}: ${since(`w${String(i)}`)}`,
            );
          }
          assert.equal(inFlight, 0);
        },
        { timeout: 30 * QUIET_ROUNDS * RESYNC_MS, interval: 50, message: 'resync rounds' },
      );
      assert.equal(
        await writeRequests(client.host),
        writesBefore,
        'no write request while nothing changed',
      );
    },
  );
});
