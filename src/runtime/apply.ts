// Writing children: server-side apply with one field manager and `force: true`,
// and no request at all when the live object already matches ("a reconcile with
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
import type { Stored } from '../kube/informer.ts';
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

/** The part of an informer that apply and prune read. */
export interface ObjectCache<T extends KubeObject = KubeObject> {
  get(namespace: string, name: string): Stored<T> | undefined;
  list(namespace?: string): Stored<T>[];
}

/** Apply `obj` unless `cache` already has it as desired; the object as the server has it. */
export function applyChild<T extends KubeObject>(
  client: KubeClient,
  obj: T,
  cache: ObjectCache<T>,
): Promise<T> {
  const live = cache.get(obj.metadata.namespace ?? '', obj.metadata.name ?? '');
  return applyObject(client, obj, live);
}

/** Whether `obj` is controlled by the object with this uid. */
const isControlledBy = (obj: KubeObject, uid: string | undefined): boolean =>
  uid !== undefined &&
  (obj.metadata.ownerReferences ?? []).some((r) => r.controller === true && r.uid === uid);

/**
 * Delete the objects of `cache` in the owner's namespace that the owner controls, `keep` does not
 * name and `select` (default: all) selects — children no longer wanted. Returns what it deleted.
 */
export async function pruneChildren(
  client: KubeClient,
  owner: KubeObject,
  cache: ObjectCache,
  keep: readonly KubeObject[],
  select: (obj: Stored<KubeObject>) => boolean = () => true,
): Promise<Stored<KubeObject>[]> {
  const namespace = owner.metadata.namespace ?? '';
  const names = new Set(keep.map((o) => o.metadata.name));
  const doomed = cache
    .list(namespace)
    .filter(
      (obj) =>
        isControlledBy(obj, owner.metadata.uid) && !names.has(obj.metadata.name) && select(obj),
    );
  for (const obj of doomed) {
    await client.delete(obj.apiVersion, obj.kind, namespace, obj.metadata.name, {
      propagationPolicy: 'Background',
    });
  }
  return doomed;
}
