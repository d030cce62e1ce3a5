// A Redis password changes consistently (issue 9 B7), on a real control plane: the bench names a
// password Secret of its own (as an ExternalSecret would keep it); when its content changes the
// Redis StatefulSets' pod templates roll (annotation vyogo.tech/redis-password-hash), bench-init
// runs again (its Job is replaced: new inputs) and the TriggerAuthentication carries the new
// hash, together; a password Redis's config cannot hold (a line break) stops the redis step
// with RedisReady=False, InvalidRedisPassword, and nothing rolls; a fixed Secret recovers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KedaObject } from '../../../src/controllers/bench/autoscaling.ts';
import type { Job, Secret, StatefulSet } from '../../../src/controllers/shared/objects.ts';
import { eventually } from '../../harness/eventually.ts';
import { kubectl } from '../../harness/kubectl.ts';
import {
  apply,
  getBench,
  condition,
  useBenchOperator,
  waitFor,
  waitForCondition,
} from './support.ts';

const HASH = 'vyogo.tech/redis-password-hash';
const INPUTS = 'vyogo.tech/inputs-hash';

const secret = (password: string): Secret => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'queue-password' },
  type: 'Opaque',
  data: { password: Buffer.from(password).toString('base64') },
});

describe('Redis password rotation', () => {
  const env = useBenchOperator('bench-redispw', { keda: true });

  it('a changed password reaches Redis, bench-init and KEDA together; a line break is refused', async () => {
    const { client, ns } = env;
    await apply(secret('first "pass" with \\ and spaces'), ns);
    await apply(
      {
        apiVersion: 'vyogo.tech/v1alpha1',
        kind: 'FrappeBench',
        metadata: { name: 'rot' },
        spec: {
          frappeVersion: '15',
          redisConfig: { auth: { enabled: true, secretName: 'queue-password' } },
          componentAutoscaling: { 'worker-long': { enabled: true, provider: 'keda' } },
        },
      },
      ns,
    );
    await waitForCondition(client, ns, 'rot', 'Ready', 'True');

    const state = async () => {
      const sts = await waitFor<StatefulSet>(
        client,
        'apps/v1',
        'StatefulSet',
        ns,
        'rot-redis-queue',
      );
      const cache = await waitFor<StatefulSet>(
        client,
        'apps/v1',
        'StatefulSet',
        ns,
        'rot-redis-cache',
      );
      const job = await waitFor<Job>(client, 'batch/v1', 'Job', ns, 'rot-init');
      const auth = await waitFor<KedaObject>(
        client,
        'keda.sh/v1alpha1',
        'TriggerAuthentication',
        ns,
        'rot-redis-queue',
      );
      return {
        queue: sts.spec.template.metadata?.annotations?.[HASH],
        cache: cache.spec.template.metadata?.annotations?.[HASH],
        auth: auth.metadata.annotations?.[HASH],
        init: job.metadata.annotations?.[INPUTS],
      };
    };
    const first = await state();
    assert.match(first.queue ?? '', /^[0-9a-f]{16}$/);
    assert.deepEqual([first.cache, first.auth], [first.queue, first.queue]);
    // The hash is of the content: the value itself appears nowhere in the objects.
    const text = JSON.stringify(
      await kubectl(['get', 'statefulsets,jobs,triggerauthentications', '-o', 'json'], {
        namespace: ns,
      }),
    );
    assert.ok(!text.includes('first \\"pass\\"'));

    // The Secret is rotated (as an ExternalSecret refresh writes it).
    await apply(secret('second-password'), ns);
    const second = await eventually(
      async () => {
        const s = await state();
        assert.notEqual(s.queue, first.queue);
        assert.notEqual(s.init, first.init, 'bench-init runs again for the new password');
        return s;
      },
      { timeout: 60_000, message: 'the new password rolled out' },
    );
    assert.deepEqual([second.cache, second.auth], [second.queue, second.queue]);
    await waitForCondition(client, ns, 'rot', 'Ready', 'True');

    // A line break: refused with a condition, nothing rolls.
    await apply(secret('third\npassword'), ns);
    await eventually(
      async () => {
        const bench = await getBench(client, ns, 'rot');
        const redis = condition(bench, 'RedisReady');
        assert.ok(redis !== undefined);
        assert.equal(redis.status, 'False');
        assert.equal(redis.reason, 'InvalidRedisPassword');
        assert.match(redis.message, /queue-password .*contains a line break/);
        assert.ok(!redis.message.includes('third'), 'the message never quotes it');
      },
      { timeout: 60_000, message: 'RedisReady=False InvalidRedisPassword' },
    );
    assert.deepEqual(await state(), second);

    // Fixed: back to Ready with the new hash.
    await apply(secret('fourth-password'), ns);
    await waitForCondition(client, ns, 'rot', 'RedisReady', 'True');
    const fourth = await state();
    assert.notEqual(fourth.queue, second.queue);
  });
});
