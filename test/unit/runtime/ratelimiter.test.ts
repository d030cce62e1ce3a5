// Backoff of failing keys: the per-item exponential sequence and its cap, the overall token
// bucket, and their combination (client-go's default controller rate limiter).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  BucketRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  defaultControllerRateLimiter,
} from '../../../src/runtime/ratelimiter.ts';

describe('ItemExponentialFailureRateLimiter', () => {
  it('doubles from 5 ms per failure up to the 1000 s cap, per key', () => {
    const l = new ItemExponentialFailureRateLimiter();
    const delays = Array.from({ length: 30 }, () => l.when('a'));
    assert.deepEqual(delays.slice(0, 5), [5, 10, 20, 40, 80]);
    // 5 ms · 2^18 = 1310.72 s is the first past the cap.
    assert.equal(delays[17], 5 * 2 ** 17);
    assert.ok(delays.slice(18).every((d) => d === 1_000_000));
    assert.equal(l.when('b'), 5, 'other keys are independent');
    assert.equal(l.numRequeues('a'), 30);
    l.forget('a');
    assert.equal(l.numRequeues('a'), 0);
    assert.equal(l.when('a'), 5, 'forget resets the backoff');
  });

  it('never shrinks and never exceeds the cap, for any number of failures', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2000 }), (failures) => {
        const l = new ItemExponentialFailureRateLimiter();
        let previous = 0;
        for (let i = 0; i < failures; i++) {
          const d = l.when('k');
          if (d < previous || d > 1_000_000) return false;
          previous = d;
        }
        return true;
      }),
    );
  });
});

describe('BucketRateLimiter', () => {
  it('lets a burst of 100 through, then one every 100 ms, refilling over time', () => {
    let now = 0;
    const l = new BucketRateLimiter(10, 100, () => now);
    for (let i = 0; i < 100; i++) assert.equal(l.when(), 0);
    assert.equal(Math.round(l.when()), 100);
    assert.equal(Math.round(l.when()), 200, 'reservations queue up behind each other');
    now = 1000; // 10 tokens refilled, 2 were owed
    for (let i = 0; i < 8; i++) assert.equal(l.when(), 0);
    assert.equal(Math.round(l.when()), 100);
    now = 1_000_000; // refill is capped at the burst
    for (let i = 0; i < 100; i++) assert.equal(l.when(), 0);
    assert.ok(l.when() > 0);
  });
});

describe('MaxOfRateLimiter / defaultControllerRateLimiter', () => {
  it('uses the longest delay, and every limiter counts every call', () => {
    let now = 0;
    const l = new MaxOfRateLimiter(
      new ItemExponentialFailureRateLimiter(5, 1_000_000),
      new BucketRateLimiter(10, 100, () => now),
    );
    for (let i = 0; i < 99; i++) l.when(`key-${String(i)}`); // drain the bucket with other keys
    assert.equal(l.when('a'), 5, 'item backoff dominates while the bucket has tokens');
    assert.equal(Math.round(l.when('b')), 100, 'the bucket dominates once empty');
    now = 60_000;
    for (let i = 0; i < 10; i++) l.when('a');
    assert.equal(l.when('a'), 5 * 2 ** 11);
    assert.equal(l.numRequeues('a'), 12);
    l.forget('a');
    assert.equal(l.numRequeues('a'), 0);
  });

  it('default: first retry after 5 ms', () => {
    assert.equal(defaultControllerRateLimiter().when('x'), 5);
  });
});
