// Writing children: server-side apply with one field manager, `force: true` (API §1.2, §3.1),
// and no request at all when the live object already matches (API §3.1: "a reconcile with
// nothing to change writes nothing").
//
// Skipping a no-op apply needs two facts: (1) the live object contains every field we send
// (no drift), and (2) we still send the same fields as last time — a field we stopped sending
// must be released, which only an apply does. (1) is `isSubset(desired, live)`; for (2) every
// applied object carries annotation `vyogo.tech/applied-hash`, a hash of what we sent. Since
// the annotation is part of the desired object, (1) covers (2): a changed intent changes the
// hash, and the live object no longer matches.
//
// Builders should produce values in the form the API server stores them ("500m", not 0.5),
// or the comparison never matches and every reconcile re-applies (correct, but not quiet).
import { createHash } from 'node:crypto';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { canonicalJson, isSubset } from '../kube/json.ts';

export const FIELD_MANAGER = 'frappe-operator';
export const APPLIED_HASH_ANNOTATION = 'vyogo.tech/applied-hash';

/** The object as it will be sent: with the applied-hash annotation of its own content. */
export function withAppliedHash<T extends KubeObject>(obj: T): T {
  const annotations = Object.fromEntries(
    Object.entries(obj.metadata.annotations ?? {}).filter(([k]) => k !== APPLIED_HASH_ANNOTATION),
  );
  const bare = { ...obj, metadata: { ...obj.metadata, annotations } };
  const hash = createHash('sha256').update(canonicalJson(bare)).digest('hex').slice(0, 16);
  return {
    ...obj,
    metadata: { ...obj.metadata, annotations: { ...annotations, [APPLIED_HASH_ANNOTATION]: hash } },
  };
}

/**
 * Server-side apply `obj` (force, manager `frappe-operator`). With `live` (the object from the
 * cache), nothing is sent when `live` already matches; `live` is returned then.
 */
export async function applyObject<T extends KubeObject>(
  client: KubeClient,
  obj: T,
  live?: T,
): Promise<T> {
  const desired = withAppliedHash(obj);
  if (live !== undefined && isSubset(desired, live)) return live;
  return client.apply(desired, { fieldManager: FIELD_MANAGER, force: true });
}
