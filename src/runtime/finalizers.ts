// Adding and removing our finalizer on a custom resource. Both are merge patches of
// metadata.finalizers carrying the resourceVersion we read: a merge patch replaces the whole
// list, so the resourceVersion makes the server refuse (409 Conflict, a transient error the
// controller retries) if someone changed the object — and maybe its finalizers — meanwhile.
import { isNotFound, type KubeClient, type KubeObject } from '../kube/client.ts';

export const hasFinalizer = (obj: KubeObject, finalizer: string): boolean =>
  obj.metadata.finalizers?.includes(finalizer) ?? false;

function patchFinalizers<T extends KubeObject>(
  client: KubeClient,
  obj: T,
  finalizers: string[],
): Promise<T> {
  const { name, namespace, resourceVersion } = obj.metadata;
  if (name === undefined) throw new Error(`${obj.kind} without metadata.name`);
  const body = { metadata: { resourceVersion, finalizers } };
  return client.patch<T>(obj.apiVersion, obj.kind, namespace, name, body, 'merge');
}

/** Add `finalizer` unless present; returns the updated object (or `obj` when nothing to do). */
export async function ensureFinalizer<T extends KubeObject>(
  client: KubeClient,
  obj: T,
  finalizer: string,
): Promise<T> {
  if (hasFinalizer(obj, finalizer)) return obj;
  return patchFinalizers(client, obj, [...(obj.metadata.finalizers ?? []), finalizer]);
}

/**
 * Remove `finalizer` if present; returns the updated object, or undefined when the object is
 * gone (removing the last finalizer of a deleted object lets the server delete it).
 */
export async function removeFinalizer<T extends KubeObject>(
  client: KubeClient,
  obj: T,
  finalizer: string,
): Promise<T | undefined> {
  if (!hasFinalizer(obj, finalizer)) return obj;
  const rest = (obj.metadata.finalizers ?? []).filter((f) => f !== finalizer);
  try {
    return await patchFinalizers(client, obj, rest);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
