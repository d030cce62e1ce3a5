// The step runner (src/runtime/steps.ts): the walk stops at the first step that is not Done,
// a thrown error is a failure of its step (and aborting errors pass through), Ready is the first
// step in table order that blocks or holds it, and steps not reached keep their condition.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Condition } from '../../../src/runtime/conditions.ts';
import {
  done,
  notReadyCondition,
  stepConditions,
  stop,
  wait,
  walkSteps,
  type Step,
  type StepOutcome,
} from '../../../src/runtime/steps.ts';

/** A table of three steps whose outcomes the test chooses; `ran` records which ran. */
function table(outcomes: Record<string, StepOutcome | Error>) {
  const ran: string[] = [];
  const steps: Step<null>[] = ['first', 'second', 'third'].map((name) => ({
    name,
    condition: `${name.charAt(0).toUpperCase()}${name.slice(1)}Ready`,
    run: () => {
      ran.push(name);
      const o = outcomes[name] ?? done('Ok', `${name} is fine`);
      return o instanceof Error ? Promise.reject(o) : Promise.resolve(o);
    },
  }));
  return { steps, ran };
}

const brief = (conditions: Condition[]) =>
  conditions.map((c) => `${c.type}=${c.status}/${c.reason}`);

test('every step Done: all run, no blocker, Ready has nothing to say', async () => {
  const { steps, ran } = table({});
  const walk = await walkSteps(steps, null);
  assert.deepEqual(ran, ['first', 'second', 'third']);
  assert.equal(walk.blocker, undefined);
  assert.equal(notReadyCondition(walk), undefined);
  assert.deepEqual(brief(stepConditions(undefined, walk, 3)), [
    'FirstReady=True/Ok',
    'SecondReady=True/Ok',
    'ThirdReady=True/Ok',
  ]);
});

test('Wait stops the walk; Ready names the step and its reason; requeueAfter is the soonest', async () => {
  const { steps, ran } = table({
    first: done('Ok', 'fine', { requeueAfter: 60_000 }),
    second: wait('JobRunning', 'the Job runs', 2_000),
  });
  const walk = await walkSteps(steps, null);
  assert.deepEqual(ran, ['first', 'second']);
  assert.equal(walk.blocker?.step, 'second');
  assert.equal(walk.requeueAfter, 2_000);
  assert.deepEqual(notReadyCondition(walk), {
    type: 'Ready',
    status: 'False',
    reason: 'JobRunning',
    message: 'step second: the Job runs',
  });
  // The step not reached has no previous condition: it says what it waits for.
  const conditions = stepConditions(undefined, walk, 1);
  assert.deepEqual(brief(conditions), [
    'FirstReady=True/Ok',
    'SecondReady=False/JobRunning',
    'ThirdReady=False/WaitingForSecond',
  ]);
  // Walked again with the third step's condition known: it keeps it (nothing new is known).
  const previous = stepConditions(undefined, await walkSteps(table({}).steps, null), 1);
  assert.deepEqual(brief(stepConditions(previous, walk, 2)).at(2), 'ThirdReady=True/Ok');
});

test('Stop is terminal: no requeue; a Done holding Ready before it is named first', async () => {
  const { steps } = table({
    first: done('Pending', 'the claim waits for its first consumer', { status: 'False' }),
    second: stop('InvalidSpec', 'spec.x is not JSON'),
  });
  const walk = await walkSteps(steps, null);
  assert.equal(walk.requeueAfter, undefined);
  assert.equal(walk.blocker?.step, 'second');
  assert.equal(notReadyCondition(walk)?.reason, 'Pending');
});

test('a False Done that does not hold Ready lets the bench be Ready', async () => {
  const { steps } = table({
    third: done('ProviderNotInstalled', 'KEDA missing', { status: 'False', holdsReady: false }),
  });
  const walk = await walkSteps(steps, null);
  assert.equal(notReadyCondition(walk), undefined);
  assert.deepEqual(
    brief(stepConditions(undefined, walk, 1)).at(2),
    'ThirdReady=False/ProviderNotInstalled',
  );
});

test('a thrown error fails its step (<Step>Error) and stops the walk; an aborting error passes', async () => {
  const { steps, ran } = table({ second: new Error('409 conflict') });
  const walk = await walkSteps(steps, null);
  assert.deepEqual(ran, ['first', 'second']);
  assert.equal(walk.error?.step, 'second');
  assert.deepEqual(notReadyCondition(walk), {
    type: 'Ready',
    status: 'False',
    reason: 'SecondError',
    message: 'step second: step second failed: 409 conflict',
  });
  const abort = new Error('namespace terminating');
  await assert.rejects(
    walkSteps(table({ first: abort }).steps, null, (e) => e === abort),
    /namespace terminating/,
  );
});

test('a step error reaches its condition scrubbed of credentials an API error may quote', async () => {
  const jwt = 'eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJl';
  const blob = Buffer.from('the-redis-password-of-prod').toString('base64');
  const apiError = new Error(
    `Secret "prod-bench-redis-auth" is invalid: data[password]: Invalid value: "${blob}"; ` +
      `request had Authorization: Bearer ${jwt}; dsn mysql://frappe:hunter2@db:3306 password=hunter3`,
  );
  const walk = await walkSteps(table({ second: apiError }).steps, null);
  const ready = notReadyCondition(walk);
  assert.ok(ready !== undefined);
  for (const secret of [jwt, blob, 'hunter2', 'hunter3']) {
    assert.ok(!ready.message.includes(secret), `${secret} in: ${ready.message}`);
  }
  assert.equal(
    ready.message,
    'step second: step second failed: Secret "prod-bench-redis-auth" is invalid: ' +
      'data[password]: Invalid value: "[REDACTED]"; request had Authorization: Bearer [REDACTED]; ' +
      'dsn mysql://frappe:[REDACTED]@db:3306 password=[REDACTED]',
  );
  // What is not a credential stays as it was: names, settings, digests.
  const plain =
    'ConfigMap frappe-operator-config key maxConcurrentReconciles="zero": must be an integer; ' +
    'image docker.io/frappe/erpnext@sha256:0123456789abcdef0123456789abcdef; ' +
    'Deployment prod-bench-worker-default-6f1c2d3e';
  const kept = notReadyCondition(await walkSteps(table({ second: new Error(plain) }).steps, null));
  assert.equal(kept?.message, `step second: step second failed: ${plain}`);
  const stepCondition = stepConditions(undefined, walk, 1).find((c) => c.type === 'SecondReady');
  assert.equal(stepCondition?.reason, 'SecondError');
  assert.ok(!JSON.stringify(stepCondition).includes('hunter'));
});
