// At most `siteMigration.maxConcurrent` migrate Jobs run on one bench (API.md §2.1). The
// running ones are in the Job cache; a Job this process has just created may not be there yet,
// so a claim stands for it until the cache shows it (or a minute has passed). The check and the
// claim happen in one synchronous call: concurrent site reconciles never both take the last slot.
// A bench's claims go with the bench (`forget`, on its deletion).
const CLAIM_TTL_MS = 60_000;

export class MigrationSlots {
  /** bench key → migrate Job name → when it was claimed. */
  readonly #claims = new Map<string, Map<string, number>>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /**
   * Whether Job `job` of bench `bench` may start, given the names of the bench's migrate Jobs
   * the cache shows running: yes when it runs already, or fewer than `max` run or are claimed
   * (then it is claimed).
   */
  tryClaim(bench: string, job: string, running: readonly string[], max: number): boolean {
    const now = this.#now();
    const active = new Set(running);
    const claims = this.#claims.get(bench) ?? new Map<string, number>();
    for (const [name, at] of claims) {
      if (active.has(name) || now - at > CLAIM_TTL_MS) claims.delete(name);
    }
    if (active.has(job) || claims.has(job)) return true;
    if (active.size + claims.size >= max) {
      this.#store(bench, claims);
      return false;
    }
    claims.set(job, now);
    this.#store(bench, claims);
    return true;
  }

  /** Drop the claims of `bench` (namespace/name), e.g. when it is deleted. */
  forget(bench: string): void {
    this.#claims.delete(bench);
  }

  /** How many benches have claims outstanding. */
  get benches(): number {
    return this.#claims.size;
  }

  #store(bench: string, claims: Map<string, number>): void {
    if (claims.size === 0) this.#claims.delete(bench);
    else this.#claims.set(bench, claims);
  }
}
