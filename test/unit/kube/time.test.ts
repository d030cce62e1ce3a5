// The API server's timestamp formats.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toMetaTime, toMicroTime } from '../../../src/kube/time.ts';

const t0 = new Date('2025-01-02T03:04:05.678Z');

describe('API timestamps', () => {
  it('formats metav1.Time without fractions', () => {
    assert.equal(toMetaTime(t0), '2025-01-02T03:04:05Z');
  });

  it('formats metav1.MicroTime with six fractional digits', () => {
    assert.equal(toMicroTime(t0), '2025-01-02T03:04:05.678000Z');
    assert.equal(toMicroTime(new Date('2025-01-02T03:04:05Z')), '2025-01-02T03:04:05.000000Z');
  });
});
