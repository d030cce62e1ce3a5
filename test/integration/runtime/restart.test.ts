// A kube-apiserver restart under a running controller: changes made while the restart is under
// way and after it are all reconciled. Uses a private control plane (startCluster), since
// restarting the shared one would disturb every other test.
//
// The restart also exercises the 410 path for real: the new API server's watch cache starts at
// etcd's current revision, so resuming a watch from an older one is answered 410 Gone. That
// needs etcd to have moved on past the informer's last event before the new cache lists; nothing
// guarantees it (the last write before the outage may be the one the informer saw last), so
// the test writes to etcd itself while the API server is down.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import type { KubeClient, KubeObject } from '../../../src/kube/client.ts';
import { Informer } from '../../../src/kube/informer.ts';
import { noopLogger } from '../../../src/kube/logger.ts';
import { applyObject } from '../../../src/runtime/apply.ts';
import { Controller } from '../../../src/runtime/controller.ts';
import { startCluster } from '../../../src/dev/cluster.ts';
import { eventually } from '../../harness/eventually.ts';
import { capturingLogger } from '../../harness/logger.ts';
import { clientFor } from './helpers.ts';

type ConfigMap = KubeObject & { data?: Record<string, string> };

const NS = 'rt-restart';

/** Retry `fn` until the API server takes it (it is down for part of the restart). */
async function whenReachable<T>(fn: () => Promise<T>): Promise<T> {
  return eventually(fn, { timeout: 120_000, interval: 250, message: 'API server reachable again' });
}

/** A write straight to etcd, outside the API server's keys: moves etcd's revision on. */
async function bumpEtcdRevision(etcdUrl: string): Promise<void> {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const res = await fetch(`${etcdUrl}/v3/kv/put`, {
    method: 'POST',
    body: JSON.stringify({ key: b64('/frappe-test/restart-marker'), value: b64('x') }),
  });
  if (!res.ok) throw new Error(`etcd put: ${String(res.status)} ${await res.text()}`);
}

function setSource(client: KubeClient, name: string, v: string): Promise<unknown> {
  return client.apply<ConfigMap>(
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: NS, labels: { role: 'source' } },
      data: { v },
    },
    { fieldManager: 'tests', force: true },
  );
}

describe('kube-apiserver restart', () => {
  it(
    'reconciles every change made during and after the restart',
    { timeout: 600_000 },
    async () => {
      const cluster = await startCluster();
      const stops: (() => Promise<void>)[] = [];
      try {
        const kc = new KubeConfig();
        kc.loadFromFile(cluster.kubeconfigPath);
        const client = clientFor(kc);
        await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });

        const sourcesLog = capturingLogger();
        const sources = new Informer<ConfigMap>(client, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          namespace: NS,
          labelSelector: 'role=source',
          logger: sourcesLog,
        });
        const copies = new Informer<ConfigMap>(client, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          namespace: NS,
          labelSelector: 'role=copy',
          logger: noopLogger,
        });
        // Mirrors each source ConfigMap into `<name>-copy`, from the cache, with apply.
        const c = new Controller({
          name: 'rt-restart',
          maxConcurrentReconciles: 2,
          logger: noopLogger,
          reconcile: async (req) => {
            const src = sources.get(req.namespace, req.name);
            if (src === undefined) return;
            const name = `${req.name}-copy`;
            const copy: ConfigMap = {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: {
                name,
                namespace: req.namespace,
                labels: { role: 'copy' },
                ownerReferences: [
                  {
                    apiVersion: 'v1',
                    kind: 'ConfigMap',
                    name: req.name,
                    uid: src.metadata.uid,
                    controller: true,
                  },
                ],
              },
              data: src.data ?? {},
            };
            await applyObject(client, copy, copies.get(req.namespace, name));
          },
        });
        c.watchPrimary(sources);
        c.watchOwned(copies, 'ConfigMap');
        stops.push(
          () => c.stop(),
          () => sources.stop(),
          () => copies.stop(),
        );
        sources.start();
        copies.start();
        c.start();

        const names = ['s0', 's1', 's2', 's3', 's4'];
        for (const n of names) await setSource(client, n, 'before');
        const converged = (expected: Record<string, string>) =>
          eventually(
            async () => {
              for (const [n, v] of Object.entries(expected)) {
                const copy = await client.get<ConfigMap>('v1', 'ConfigMap', NS, `${n}-copy`);
                assert.equal(copy?.data?.v, v, `${n}-copy`);
              }
            },
            { timeout: 120_000, message: 'copies match their sources' },
          );
        await converged(Object.fromEntries(names.map((n) => [n, 'before'])));

        // During: changes keep coming while the restart is under way (each retried until the
        // server takes it), so some land just before the outage and some right after it.
        const latest: Record<string, string> = {};
        const restart = { done: false };
        const restarting = cluster
          .restartApiServer(() => bumpEtcdRevision(cluster.etcdUrl))
          .then(() => (restart.done = true));
        for (let i = 0; !restart.done || i < names.length; i++) {
          const n = names[i % names.length] ?? 's0';
          await whenReachable(() => setSource(client, n, `during-${String(i)}`));
          latest[n] = `during-${String(i)}`;
        }
        await restarting;

        // After: more changes, and a new source.
        await whenReachable(() => setSource(client, 's0', 'after'));
        await whenReachable(() => setSource(client, 's5', 'after'));
        await converged({ ...latest, s0: 'after', s5: 'after' });
        const seen = sourcesLog.lines.map((l) => l.msg).join('; ');
        assert.ok(
          sourcesLog.has('list/watch failed'),
          `the informer saw the server go away: ${seen}`,
        );
        // The restarted server's watch cache starts at etcd's revision, past the informer's last
        // event (bumpEtcdRevision), and refuses the informer's older one: a real 410, recovered
        // from by relisting.
        assert.ok(sourcesLog.has('resourceVersion too old, relisting'), `a real 410: ${seen}`);
      } finally {
        for (const stop of stops) await stop();
        await cluster.stop();
      }
    },
  );
});
