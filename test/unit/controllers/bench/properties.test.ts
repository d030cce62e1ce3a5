// Properties of every object the bench builders can produce (design §2), over generated benches
// within the admission rules and generated contexts: each pod passes the restricted Pod Security
// Standard, each container has cpu and memory requests and limits (request ≤ limit), each
// object carries the standard labels and (but the sites PVC) a controller ownerReference, names
// fit their kind, and no secret value appears in argv, env literals or annotations.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { FrappeBench } from '../../../../src/api/v1alpha1/index.ts';
import type { KubeObject } from '../../../../src/kube/client.ts';
import { benchChildren } from '../../../../src/controllers/bench/children.ts';
import { benchImage, type BenchContext } from '../../../../src/controllers/bench/context.ts';
import { redisAuthSecret } from '../../../../src/controllers/bench/redis.ts';
import type { Container, PodSpec } from '../../../../src/controllers/shared/k8s.ts';
import { parseQuantity } from '../../../../src/controllers/shared/quantity.ts';
import { restrictedViolations } from '../pss.ts';
import { bench, benchContext } from './arbitraries.ts';

/** Every child, with bench-init done (so the Deployments exist). */
function allChildren(b: FrappeBench, ctx: BenchContext): KubeObject[] {
  const c = benchChildren(b, {
    ...ctx,
    initialized: ctx.initialized ?? { image: benchImage(b, ctx), inputsHash: '0' },
  });
  return [c.storage, ...c.redis, c.init, ...c.components, ...c.disruptionBudgets, ...c.autoscaling];
}

function podSpecOf(obj: KubeObject): PodSpec | undefined {
  const spec = (obj as { spec?: { template?: { spec?: PodSpec } } }).spec;
  return spec?.template?.spec;
}

const containersOf = (p: PodSpec): Container[] => [...(p.initContainers ?? []), ...p.containers];

const runs = { numRuns: 300 };

test('every pod passes the restricted Pod Security Standard', () => {
  fc.assert(
    fc.property(bench, benchContext, (b, ctx) => {
      for (const obj of allChildren(b, ctx)) {
        const pod = podSpecOf(obj);
        if (pod !== undefined)
          assert.deepEqual(restrictedViolations(pod), [], `${obj.kind} ${obj.metadata.name ?? ''}`);
      }
    }),
    runs,
  );
});

test('every container has cpu and memory requests and limits, request ≤ limit', () => {
  fc.assert(
    fc.property(bench, benchContext, (b, ctx) => {
      for (const obj of allChildren(b, ctx)) {
        const pod = podSpecOf(obj);
        for (const c of pod === undefined ? [] : containersOf(pod)) {
          for (const r of ['cpu', 'memory']) {
            const request = c.resources?.requests?.[r];
            const limit = c.resources?.limits?.[r];
            const where = `${obj.metadata.name ?? ''}/${c.name} ${r}`;
            assert.ok(request !== undefined && limit !== undefined, `${where}: missing`);
            assert.ok(
              parseQuantity(request) <= parseQuantity(limit),
              `${where}: ${request} > ${limit}`,
            );
          }
        }
      }
    }),
    runs,
  );
});

const COMPONENT_VALUES = new Set([
  'gunicorn',
  'nginx',
  'socketio',
  'scheduler',
  'worker-default',
  'worker-long',
  'worker-short',
  'redis-cache',
  'redis-queue',
  'bench-init',
]);

function assertStandardLabels(
  labels: Record<string, string> | undefined,
  bench: string,
  where: string,
) {
  assert.equal(labels?.app, 'frappe', where);
  assert.equal(labels.bench, bench, where);
  assert.ok(COMPONENT_VALUES.has(labels.component ?? ''), where);
  assert.equal(labels['app.kubernetes.io/component'], labels.component, where);
  assert.equal(labels['app.kubernetes.io/instance'], bench, where);
  assert.equal(labels['app.kubernetes.io/name'], 'frappe', where);
  assert.equal(labels['app.kubernetes.io/part-of'], 'frappe', where);
  assert.equal(labels['app.kubernetes.io/managed-by'], 'frappe-operator', where);
}

test('standard labels on every object and pod; owner reference on every child but the PVC', () => {
  fc.assert(
    fc.property(bench, benchContext, (b, ctx) => {
      const name = b.metadata.name ?? '';
      for (const obj of allChildren(b, ctx)) {
        const where = `${obj.kind} ${obj.metadata.name ?? ''}`;
        assertStandardLabels(obj.metadata.labels, name, where);
        const pod = (
          obj as { spec?: { template?: { metadata?: { labels?: Record<string, string> } } } }
        ).spec?.template?.metadata;
        if (pod !== undefined) assertStandardLabels(pod.labels, name, `${where} pod`);
        const refs = obj.metadata.ownerReferences ?? [];
        if (obj.kind === 'PersistentVolumeClaim') {
          assert.deepEqual(refs, [], where);
        } else {
          const [ref, ...more] = refs;
          assert.ok(ref !== undefined && more.length === 0, where);
          assert.equal(ref.uid, b.metadata.uid, where);
          assert.equal(ref.controller, true, where);
          assert.equal(ref.blockOwnerDeletion, true, where);
        }
        assert.ok((obj.metadata.name ?? '').length <= 63, `${where}: name too long`);
        assert.equal(obj.metadata.namespace, b.metadata.namespace, where);
      }
    }),
    runs,
  );
});

test('no secret value in argv, env literals or annotations', () => {
  const password = fc.string({ minLength: 12, maxLength: 40 }).filter((s) => s.trim().length >= 12);
  fc.assert(
    fc.property(bench, benchContext, password, (b, ctx, secret) => {
      // The only builder that sees a secret value is the generated password Secret.
      assert.equal(redisAuthSecret(b, secret).stringData?.password, secret);
      for (const obj of allChildren(b, ctx)) {
        const where = `${obj.kind} ${obj.metadata.name ?? ''}`;
        assert.ok(!JSON.stringify(obj).includes(secret), where);
        for (const value of Object.values(obj.metadata.annotations ?? {})) {
          assert.ok(!value.includes(secret), where);
        }
        const pod = podSpecOf(obj);
        for (const c of pod === undefined ? [] : containersOf(pod)) {
          for (const e of c.env ?? []) {
            if (/PASSWORD|SECRET|TOKEN/i.test(e.name) && !e.name.endsWith('_FILE')) {
              assert.equal(e.value, undefined, `${where}/${c.name}: env ${e.name} is a literal`);
            }
          }
          for (const arg of [...(c.command ?? []), ...(c.args ?? [])]) {
            assert.doesNotMatch(
              arg,
              /requirepass\s+\S+\s*$|--pass(word)?[= ]\S/m,
              `${where}/${c.name}`,
            );
          }
        }
      }
    }),
    runs,
  );
});
