// Backup retention as a pure decision (src/agent/retention.ts): sets of fabricated ages and
// counts delete exactly the expected sets, never the newest successful one, never another
// owner's; incomplete sets go after 24 h of silence.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  DAY_MS,
  retentionDecision,
  type RetentionCandidate,
  type RetentionPolicy,
} from '../../../src/agent/retention.ts';

const NOW = new Date('2026-06-15T12:00:00Z');
const HOUR_MS = 3_600_000;

interface TestSet extends RetentionCandidate {
  id: string;
}

/** A set `ageMs` old (by its timestamp), complete and owned by `sitebackup` unless said. */
function set(
  id: string,
  ageMs: number,
  opts: { complete?: boolean; sitebackup?: string | undefined; lastWriteAgeMs?: number } = {},
): TestSet {
  const complete = opts.complete ?? true;
  return {
    id,
    time: new Date(NOW.getTime() - ageMs),
    complete,
    sitebackup: complete ? ('sitebackup' in opts ? opts.sitebackup : 'daily') : undefined,
    ...(opts.lastWriteAgeMs === undefined
      ? {}
      : { lastModified: new Date(NOW.getTime() - opts.lastWriteAgeMs) }),
  };
}

function decide(sets: TestSet[], policy: Partial<RetentionPolicy>) {
  const d = retentionDecision(sets, { sitebackup: 'daily', ...policy }, NOW);
  return {
    deleted: d.delete.map((x) => `${x.set.id}:${x.reason}`),
    retained: d.retained.map((s) => s.id),
  };
}

describe('retentionDecision', () => {
  test('keeps the newest N complete sets and deletes the rest, oldest first', () => {
    const sets = [1, 5, 2, 4, 3].map((n) => set(`d${n}`, n * DAY_MS));
    assert.deepEqual(decide(sets, { keepCount: 3 }), {
      deleted: ['d5:Count', 'd4:Count'],
      retained: ['d1', 'd2', 'd3'],
    });
  });

  test('deletes sets older than N days, but never the newest successful set', () => {
    const sets = [set('a', 10 * DAY_MS), set('b', 31 * DAY_MS), set('c', 45 * DAY_MS)];
    assert.deepEqual(decide(sets, { keepDays: 30 }), {
      deleted: ['c:Age', 'b:Age'],
      retained: ['a'],
    });
    // Every set is too old: the newest stays anyway.
    assert.deepEqual(
      decide([set('old', 90 * DAY_MS), set('older', 91 * DAY_MS)], { keepDays: 30 }),
      {
        deleted: ['older:Age'],
        retained: ['old'],
      },
    );
  });

  test('a set exactly N days old is kept; a second older is not', () => {
    const sets = [set('new', 0), set('edge', 30 * DAY_MS), set('past', 30 * DAY_MS + 1000)];
    assert.deepEqual(decide(sets, { keepDays: 30 }).deleted, ['past:Age']);
  });

  test('count and age together: whichever limit a set breaks', () => {
    const sets = [0, 1, 2, 40, 41].map((d) => set(`d${d}`, d * DAY_MS));
    assert.deepEqual(decide(sets, { keepCount: 4, keepDays: 30 }), {
      deleted: ['d41:Count', 'd40:Age'],
      retained: ['d0', 'd1', 'd2'],
    });
  });

  test('count 0 and days 0 (or unset) mean no limit', () => {
    const sets = [0, 100, 400].map((d) => set(`d${d}`, d * DAY_MS));
    assert.deepEqual(decide(sets, { keepCount: 0, keepDays: 0 }).deleted, []);
    assert.deepEqual(decide(sets, {}).deleted, []);
  });

  test('keepCount 1 keeps exactly the newest', () => {
    const sets = [3, 1, 2].map((d) => set(`d${d}`, d * DAY_MS));
    assert.deepEqual(decide(sets, { keepCount: 1 }), {
      deleted: ['d3:Count', 'd2:Count'],
      retained: ['d1'],
    });
  });

  test("another SiteBackup's sets, SiteJob sets and unreadable manifests are never touched or counted", () => {
    const sets = [
      set('mine-new', 1 * DAY_MS),
      set('mine-old', 50 * DAY_MS),
      set('weekly-old', 60 * DAY_MS, { sitebackup: 'weekly' }),
      set('job-old', 70 * DAY_MS, { sitebackup: undefined }), // a SiteJob's, or unreadable
    ];
    assert.deepEqual(decide(sets, { keepCount: 1, keepDays: 7 }), {
      deleted: ['mine-old:Count'],
      retained: ['mine-new'],
    });
  });

  test('the newest successful set is ours even when an incomplete set is newer', () => {
    const sets = [
      set('broken-new', 2 * DAY_MS, { complete: false }),
      set('good', 3 * DAY_MS),
      set('good-older', 4 * DAY_MS),
    ];
    assert.deepEqual(decide(sets, { keepCount: 1 }), {
      deleted: ['good-older:Count', 'broken-new:Incomplete'],
      retained: ['good'],
    });
  });

  test('incomplete sets go after 24 h without writes, whoever made them', () => {
    const sets = [
      set('fresh', 1 * HOUR_MS, { complete: false }),
      set('day', 24 * HOUR_MS, { complete: false }),
      set('stale', 25 * HOUR_MS, { complete: false }),
      // Started 3 days ago, still being written an hour ago: a long upload, not stale.
      set('slow', 3 * DAY_MS, { complete: false, lastWriteAgeMs: HOUR_MS }),
      set('slow-dead', 3 * DAY_MS, { complete: false, lastWriteAgeMs: 30 * HOUR_MS }),
    ];
    assert.deepEqual(decide(sets, {}).deleted, ['slow-dead:Incomplete', 'stale:Incomplete']);
  });

  test('sets timestamped in the future (clock skew) are the newest, and kept', () => {
    const sets = [set('future', -2 * HOUR_MS), set('now', 0), set('old', 2 * DAY_MS)];
    assert.deepEqual(decide(sets, { keepCount: 2 }), {
      deleted: ['old:Count'],
      retained: ['future', 'now'],
    });
  });

  test('no sets: nothing to do', () => {
    assert.deepEqual(decide([], { keepCount: 3, keepDays: 30 }), { deleted: [], retained: [] });
  });

  test('properties over random sets and policies', () => {
    const arbSet = fc.record({
      ageHours: fc.integer({ min: -5, max: 24 * 120 }),
      complete: fc.boolean(),
      owner: fc.constantFrom('daily', 'weekly', undefined),
    });
    fc.assert(
      fc.property(
        fc.array(arbSet, { maxLength: 30 }),
        fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }),
        (raw, keepCount, keepDays) => {
          // Distinct timestamps, as directory names are.
          const sets = raw.map((r, i) =>
            set(`s${i}`, r.ageHours * HOUR_MS + i, {
              complete: r.complete,
              sitebackup: r.owner,
            }),
          );
          const d = retentionDecision(sets, { sitebackup: 'daily', keepCount, keepDays }, NOW);
          const deleted = new Set(d.delete.map((x) => x.set));
          const ours = sets
            .filter((s) => s.complete && s.sitebackup === 'daily')
            .sort((a, b) => b.time.getTime() - a.time.getTime());
          // The newest successful set is never deleted.
          if (ours[0] !== undefined) assert.ok(!deleted.has(ours[0]));
          // Complete sets of others are never deleted.
          for (const s of sets) {
            if (s.complete && s.sitebackup !== 'daily') assert.ok(!deleted.has(s));
          }
          // Every complete set of ours is either retained or deleted, never both.
          assert.equal(
            d.retained.length + d.delete.filter((x) => x.set.complete).length,
            ours.length,
          );
          for (const s of d.retained) assert.ok(!deleted.has(s));
          // At most max(keepCount, 1) of ours stay when a count is set.
          if (keepCount !== undefined && keepCount > 0) {
            assert.ok(d.retained.length <= Math.max(keepCount, 1));
          }
          // No retained set of ours but the newest is older than keepDays.
          if (keepDays !== undefined && keepDays > 0) {
            for (const s of d.retained.slice(1)) {
              assert.ok(NOW.getTime() - s.time.getTime() <= keepDays * DAY_MS);
            }
          }
          // Incomplete sets are deleted exactly when older than 24 h.
          for (const s of sets.filter((x) => !x.complete)) {
            assert.equal(deleted.has(s), NOW.getTime() - s.time.getTime() > DAY_MS);
          }
        },
      ),
    );
  });
});
