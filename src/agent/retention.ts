// Backup retention as a decision, apart from any I/O (API.md §2.3, §3.5): given the sets found
// under a site's prefix, which ones go. The agent's `prune` and the operator's SiteBackup
// controller both list the sets, call retentionDecision(), and delete what it returns; the rules
// live here only.
//
// - Only complete sets (with manifest.json) whose manifest names this SiteBackup are counted or
//   aged; sets of another SiteBackup, of a SiteJob, or with an unreadable manifest are never
//   touched.
// - Of those, the newest is never deleted (the newest successful backup), whatever the limits.
// - The others go when they are not among the newest `keepCount`, or older than `keepDays` days
//   (0 or unset: no such limit).
// - Incomplete sets (no manifest.json: an upload that died) go once nothing has been written to
//   them for 24 hours, whoever made them.

/** What the decision needs to know of a set. */
export interface RetentionCandidate {
  /** The set's start time: the timestamp of its directory name. */
  time: Date;
  /** Whether its manifest.json exists (even if unreadable). */
  complete: boolean;
  /** The SiteBackup its manifest names; undefined if incomplete, unreadable or a SiteJob's. */
  sitebackup: string | undefined;
  /** The newest LastModified of its objects: an upload still writing is not stale. */
  lastModified?: Date | undefined;
}

export interface RetentionPolicy {
  /** The SiteBackup whose sets are counted and aged. */
  sitebackup: string;
  /** Keep at most this many complete sets; 0 or undefined: no count limit. */
  keepCount?: number | undefined;
  /** Delete complete sets older than this many days; 0 or undefined: no age limit. */
  keepDays?: number | undefined;
  /** How long an incomplete set is left alone; default 24 h. */
  incompleteGraceMs?: number | undefined;
}

/** Why a set is deleted. */
export type PruneReason = 'Count' | 'Age' | 'Incomplete';

export interface RetentionDecision<S extends RetentionCandidate> {
  /** The sets to delete, oldest first. */
  delete: { set: S; reason: PruneReason }[];
  /** This SiteBackup's complete sets that stay, newest first. */
  retained: S[];
}

export const DAY_MS = 86_400_000;
export const INCOMPLETE_GRACE_MS = DAY_MS;

const positive = (n: number | undefined): n is number => n !== undefined && n > 0;

export function retentionDecision<S extends RetentionCandidate>(
  sets: readonly S[],
  policy: RetentionPolicy,
  now: Date,
): RetentionDecision<S> {
  const toDelete: { set: S; reason: PruneReason }[] = [];
  const retained: S[] = [];

  const ours = sets
    .filter((s) => s.complete && s.sitebackup === policy.sitebackup)
    .sort((a, b) => b.time.getTime() - a.time.getTime());
  ours.forEach((set, index) => {
    if (index === 0) {
      retained.push(set); // the newest successful set, always kept
    } else if (positive(policy.keepCount) && index >= policy.keepCount) {
      toDelete.push({ set, reason: 'Count' });
    } else if (
      positive(policy.keepDays) &&
      now.getTime() - set.time.getTime() > policy.keepDays * DAY_MS
    ) {
      toDelete.push({ set, reason: 'Age' });
    } else {
      retained.push(set);
    }
  });

  const grace = policy.incompleteGraceMs ?? INCOMPLETE_GRACE_MS;
  for (const set of sets) {
    if (set.complete) continue;
    const lastWrite = Math.max(set.time.getTime(), set.lastModified?.getTime() ?? 0);
    if (now.getTime() - lastWrite > grace) toDelete.push({ set, reason: 'Incomplete' });
  }

  toDelete.sort((a, b) => a.set.time.getTime() - b.set.time.getTime());
  return { delete: toDelete, retained };
}
