// The pure part of the Job runner (src/runtime/jobs.ts): where a Job stands for a set of
// inputs, and the inputs hash (which the owner's retry annotation is part of).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  desiredJob,
  inputsHash,
  jobPhase,
  parseReport,
  retryDelayMs,
  retryInMs,
  type JobObject,
  type JobRequest,
} from '../../../src/runtime/jobs.ts';

const owner = (annotations?: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'o', namespace: 'ns', uid: 'u1', ...(annotations ? { annotations } : {}) },
});

const job = (
  hash: string,
  conditions: NonNullable<NonNullable<JobObject['status']>['conditions']> = [],
  deleting = false,
): JobObject => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: {
    name: 'o-init',
    namespace: 'ns',
    uid: 'j1',
    annotations: { 'vyogo.tech/inputs-hash': hash },
    ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
  },
  status: { conditions },
});

test('Absent, Running, Stale (other inputs or being deleted)', () => {
  assert.equal(jobPhase(undefined, 'h', undefined).phase, 'Absent');
  assert.equal(jobPhase(job('h'), 'h', undefined).phase, 'Running');
  assert.equal(jobPhase(job('other'), 'h', undefined).phase, 'Stale');
  assert.equal(jobPhase(job('h', [], true), 'h', undefined).phase, 'Stale');
});

test('Succeeded carries the report; without one it says so', () => {
  const complete = job('h', [{ type: 'Complete', status: 'True' }]);
  assert.deepEqual(jobPhase(complete, 'h', { ok: true, value: 42 }), {
    phase: 'Succeeded',
    job: complete,
    report: { ok: true, value: 42 },
  });
  const none = jobPhase(complete, 'h', undefined);
  assert.ok(none.phase === 'Succeeded' && !none.report.ok && none.report.reason === 'NoReport');
});

test("Failed: the pod's own report wins over the Job controller's condition", () => {
  const failed = job('h', [
    { type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'too many' },
  ]);
  const own = jobPhase(failed, 'h', { ok: false, reason: 'AppsMissing', message: 'no hrms' });
  assert.ok(own.phase === 'Failed' && own.reason === 'AppsMissing' && own.message === 'no hrms');
  const plain = jobPhase(failed, 'h', undefined);
  assert.ok(plain.phase === 'Failed' && plain.reason === 'BackoffLimitExceeded');
  // A Failed condition that is not True is not a failure.
  assert.equal(
    jobPhase(job('h', [{ type: 'Failed', status: 'False' }]), 'h', undefined).phase,
    'Running',
  );
});

test('the inputs hash changes with the inputs and the retry annotation only', () => {
  const base = inputsHash({ image: 'a' }, owner());
  assert.equal(inputsHash({ image: 'a' }, owner({ unrelated: 'x' })), base);
  assert.notEqual(inputsHash({ image: 'b' }, owner()), base);
  assert.notEqual(inputsHash({ image: 'a' }, owner({ 'vyogo.tech/retry': '1' })), base);
  const req: JobRequest<unknown> = {
    owner: owner(),
    job: job('ignored'),
    inputs: { image: 'a' },
    container: 'c',
    parseReport: () => ({ ok: true, value: null }),
  };
  assert.equal(desiredJob(req).metadata.annotations?.['vyogo.tech/inputs-hash'], base);
});

test('retry backoff: first, doubling per attempt, capped; due from the failure time', () => {
  const backoff = { firstMs: 60_000, maxMs: 30 * 60_000 };
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 50].map((a) => retryDelayMs(a, backoff) / 60_000),
    [1, 2, 4, 8, 16, 30, 30, 30],
  );
  const failedAt = Date.parse('2026-01-01T00:00:00Z');
  const failed = (attempt?: string): JobObject => ({
    ...job('h', [{ type: 'Failed', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }]),
    metadata: {
      name: 'o-init',
      ...(attempt === undefined ? {} : { annotations: { 'vyogo.tech/attempt': attempt } }),
    },
  });
  assert.equal(retryInMs(failed(), backoff, failedAt + 10_000), 50_000);
  assert.equal(retryInMs(failed('3'), backoff, failedAt + 10_000), 4 * 60_000 - 10_000);
  assert.ok(retryInMs(failed('3'), backoff, failedAt + 5 * 60_000) <= 0);
});

test('a failure report from a pod reaches status scrubbed of credentials', () => {
  const r = parseReport(
    JSON.stringify({
      error: 'DatabaseError',
      message: 'Access denied: mysql --password=s3cr3t-pw; token: abc.def; ok',
    }),
    'site-init',
    () => null,
  );
  assert.deepEqual(r, {
    ok: false,
    reason: 'DatabaseError',
    message: 'Access denied: mysql --password=[REDACTED]; token: [REDACTED]; ok',
  });
});
