// metav1.Condition semantics: lastTransitionTime moves only when status changes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  getCondition,
  isTrue,
  setCondition,
  type Condition,
} from '../../../src/runtime/conditions.ts';

const t0 = new Date('2025-01-02T03:04:05.678Z');
const t1 = new Date('2025-01-02T04:00:00.001Z');

describe('conditions', () => {
  it('adds a condition with a second-precision transition time', () => {
    const c = setCondition(
      undefined,
      { type: 'Ready', status: 'False', reason: 'Init', message: 'm' },
      t0,
    );
    assert.deepEqual(c, [
      {
        type: 'Ready',
        status: 'False',
        reason: 'Init',
        message: 'm',
        lastTransitionTime: '2025-01-02T03:04:05Z',
      },
    ]);
  });

  it('keeps lastTransitionTime when only reason, message or observedGeneration change', () => {
    const a = setCondition(
      [],
      { type: 'Ready', status: 'False', reason: 'A', message: 'a', observedGeneration: 1 },
      t0,
    );
    const b = setCondition(
      a,
      { type: 'Ready', status: 'False', reason: 'B', message: 'b', observedGeneration: 2 },
      t1,
    );
    const [ready] = b;
    assert.equal(ready?.lastTransitionTime, '2025-01-02T03:04:05Z');
    assert.equal(ready.reason, 'B');
    assert.equal(ready.observedGeneration, 2);
  });

  it('moves lastTransitionTime when status changes, and leaves other conditions alone', () => {
    let c: Condition[] = setCondition(
      [],
      { type: 'Ready', status: 'False', reason: 'A', message: '' },
      t0,
    );
    c = setCondition(c, { type: 'Degraded', status: 'False', reason: 'A', message: '' }, t0);
    const before = structuredClone(c);
    const after = setCondition(c, { type: 'Ready', status: 'True', reason: 'Ok', message: '' }, t1);
    assert.deepEqual(c, before, 'input not mutated');
    assert.equal(getCondition(after, 'Ready')?.lastTransitionTime, '2025-01-02T04:00:00Z');
    assert.deepEqual(getCondition(after, 'Degraded'), getCondition(c, 'Degraded'));
    assert.deepEqual(
      after.map((x) => x.type),
      ['Ready', 'Degraded'],
      'order kept',
    );
    assert.equal(isTrue(after, 'Ready'), true);
    assert.equal(isTrue(after, 'Degraded'), false);
    assert.equal(isTrue(after, 'Missing'), false);
  });

  it('setting the same condition twice yields an identical array (no status write)', () => {
    const input = { type: 'Ready', status: 'True', reason: 'Ok', message: 'fine' } as const;
    const a = setCondition([], input, t0);
    assert.deepEqual(setCondition(a, input, t1), a);
  });
});
