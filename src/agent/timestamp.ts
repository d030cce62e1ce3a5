// The name of a backup set's directory: its UTC start time as `YYYYMMDDTHHMMSSZ` (API.md §3.5),
// so names sort as times do.

const SET_TIMESTAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** `2026-01-02T02:00:00.123Z` → `20260102T020000Z`. */
export function formatSetTimestamp(d: Date): string {
  return d
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/** The time a set directory's name stands for, or undefined if it is not such a name. */
export function parseSetTimestamp(name: string): Date | undefined {
  const m = SET_TIMESTAMP.exec(name);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number);
  if ([y, mo, d, h, mi, s].some((n) => n === undefined)) return undefined;
  const date = new Date(Date.UTC(y ?? 0, (mo ?? 1) - 1, d ?? 1, h ?? 0, mi ?? 0, s ?? 0));
  // Reject what Date.UTC would roll over (month 13, day 32, hour 25…).
  return formatSetTimestamp(date) === name ? date : undefined;
}
