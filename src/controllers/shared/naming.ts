// Child object names (API.md §1.3): `<owner>-<purpose>`, shortened deterministically when longer
// than the kind allows. A shortened name keeps its first characters and ends in 8 hex digits of
// the SHA-256 of the full name, so two long names that share a prefix still differ.
import { createHash } from 'node:crypto';

/** Most kinds: a DNS label (Services, StatefulSets and pod hostnames derive from the name). */
export const MAX_NAME_LENGTH = 63;
/** A CronJob appends 11 characters to the Job names it creates. */
export const MAX_CRONJOB_NAME_LENGTH = 52;

const HASH_LENGTH = 8;

/** `name` itself when it fits in `max` characters, else `<first characters>-<8 hex>`. */
export function shortenName(name: string, max: number = MAX_NAME_LENGTH): string {
  if (name.length <= max) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, HASH_LENGTH);
  // A trailing '-' of the kept part would give '--' before the hash; drop it.
  const head = name.slice(0, max - HASH_LENGTH - 1).replace(/-+$/, '');
  return `${head}-${hash}`;
}

/** `<owner>-<purpose>` within the length a kind allows. */
export function childName(owner: string, purpose: string, max: number = MAX_NAME_LENGTH): string {
  return shortenName(`${owner}-${purpose}`, max);
}
