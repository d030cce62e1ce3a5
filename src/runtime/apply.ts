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

/** Whether `obj` is controlled by the object with this uid. */
const isControlledBy = (obj: KubeObject, uid: string | undefined): boolean =>
  uid !== undefined &&
  (obj.metadata.ownerReferences ?? []).some((r) => r.controller === true && r.uid === uid);

/** The controller ownerReference of `obj`, if it has one. */
export const controllerOf = (obj: KubeObject) =>
  (obj.metadata.ownerReferences ?? []).find((r) => r.controller === true);

/**
 * An object with a child's name exists but is not ours: another controller's, or made by hand.
 * The operator never takes it over (a forced apply would); the user renames or removes it.
 */
class NotControlledError extends Error {
  constructor(obj: KubeObject, desired: KubeObject) {
    const { kind, metadata } = obj;
    const owner = controllerOf(obj);
    const want = controllerOf(desired);
    super(
      `${kind} ${metadata.namespace ?? ''}/${metadata.name ?? ''} exists and is not ` +
        (want === undefined
          ? 'labelled as ours'
          : `controlled by ${want.kind} ${want.name} (its controller: ${owner === undefined ? 'none' : `${owner.kind} ${owner.name}`})`) +
        ': the operator does not take it over; delete or rename it',
    );
    this.name = 'NotControlledError';
  }
}

/**
 * Whether `live` is the object `desired` describes: controlled by the same owner, or — for a
 * child without an owner reference (e.g. a volume outliving its owner) — carrying every label of
 * `desired`.
 */
function isOurs(live: KubeObject, desired: KubeObject): boolean {
  const want = controllerOf(desired);
  if (want !== undefined) return isControlledBy(live, want.uid);
  const labels = live.metadata.labels ?? {};
  return Object.entries(desired.metadata.labels ?? {}).every(([k, v]) => labels[k] === v);
}

/**
 * Apply `obj` unless `cache` already has it as desired; the object as the server has it. An
 * object of that name which is not ours is never applied over: a NotControlledError says so.
 * The cache holds only objects labelled as ours, so a name it lacks is looked up first.
 */
export async function applyChild<T extends KubeObject>(
  client: KubeClient,
  obj: T,
  cache: ObjectCache<T>,
): Promise<T> {
  const namespace = obj.metadata.namespace ?? '';
  const name = obj.metadata.name ?? '';
  const live =
    cache.get(namespace, name) ?? (await client.get<T>(obj.apiVersion, obj.kind, namespace, name));
  if (live !== undefined && !isOurs(live, obj)) throw new NotControlledError(live, obj);
  return applyObject(client, obj, live);
}

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
