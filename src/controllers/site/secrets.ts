// The Secrets the operator generates for a site (API.md §3.3), each only when the site names no
// Secret of its own: `<site>-admin` (key `password`, 24 characters), `<site>-encryption-key`
// (key `encryption_key`, a Fernet key), `<site>-db-password` (key `password`, 32 characters:
// the MariaDB provider's DB user) and, in dedicated mode, `<site>-mariadb-root`. Values come
// from the CSPRNG and are written once, at creation: the operator never reads them back, and
// never applies them again (a re-apply would change them).
import { randomBytes, randomInt } from 'node:crypto';
import { childMeta } from '../shared/meta.ts';
import { KINDS, type Secret } from '../shared/objects.ts';
import { siteLabels, type SitePlan } from './plan.ts';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `length` characters of [A-Za-z0-9], uniformly from the CSPRNG. */
export function randomPassword(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET.charAt(randomInt(ALPHABET.length));
  return out;
}

/** A Fernet key, as Frappe's `Fernet.generate_key()` makes it: urlsafe base64 of 32 bytes. */
export const fernetKey = (): string => randomBytes(32).toString('base64url') + '=';

/** A Secret the operator generates for the site: name, key and how to make its value. */
export interface GeneratedSecret {
  name: string;
  key: string;
  value: () => string;
}

/** The Secrets this site needs the operator to generate. */
export function generatedSecrets(plan: SitePlan): GeneratedSecret[] {
  const out: GeneratedSecret[] = [];
  if (plan.admin.generated) {
    out.push({ name: plan.admin.name, key: plan.admin.key, value: () => randomPassword(24) });
  }
  if (plan.encryption.generated) {
    out.push({ name: plan.encryption.name, key: plan.encryption.key, value: fernetKey });
  }
  const db = plan.database;
  if (db.password.generated) {
    out.push({ name: db.password.name, key: db.password.key, value: () => randomPassword(32) });
  }
  if (db.dedicated !== undefined) {
    out.push({ name: db.dedicated.rootSecret, key: 'password', value: () => randomPassword(32) });
  }
  return out;
}

/** The Secret object for `secret`, with a freshly generated value. */
export function secretObject(plan: SitePlan, secret: GeneratedSecret): Secret {
  return {
    ...KINDS.Secret,
    metadata: childMeta(plan.site, secret.name, siteLabels(plan, 'site-init')),
    type: 'Opaque',
    stringData: { [secret.key]: secret.value() },
  };
}
