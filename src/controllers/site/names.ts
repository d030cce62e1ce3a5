// Names of a site's children (API.md §1.3, §3.3): `<site>-<purpose>`, its Jobs
// `<site>-site-<purpose>` when the site has its bench's name (never colliding with
// `<bench>-init`), and the database name the reference operator gives a site, so that the
// databases it made are adopted.
import { createHash } from 'node:crypto';
import { childName } from '../shared/naming.ts';

/** `<site>-<purpose>`, shortened when too long. */
export const siteChild = (site: string, purpose: string): string => childName(site, purpose);

/** A Job of the site: `<site>-<purpose>`, or `<site>-site-<purpose>` on a bench of its name. */
export const siteJobName = (site: string, bench: string, purpose: string): string =>
  childName(site, site === bench ? `site-${purpose}` : purpose);

/** The migrate Job's purpose for `image`: `migrate-<8 hex of sha256(image)>`. */
export const migratePurpose = (image: string): string =>
  `migrate-${createHash('sha256').update(image).digest('hex').slice(0, 8)}`;

/** FNV-1a, 32 bits (Go's hash/fnv New32a), as 8 lowercase hex digits. */
export function fnv32a(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

const MAX_DB_NAME = 64;

/**
 * `"_" + fnv32a(namespace/name) + "_" + sanitize(siteName)`, cut to 64 characters; sanitize
 * maps `[^A-Za-z0-9_]` to `_`, collapses runs of `_` and trims them. Also the DB user's name.
 */
export function databaseName(namespace: string, name: string, siteName: string): string {
  const sanitized = siteName
    .replace(/[^A-Za-z0-9_]/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_+|_+$/g, '');
  return `_${fnv32a(`${namespace}/${name}`)}_${sanitized}`.slice(0, MAX_DB_NAME);
}
