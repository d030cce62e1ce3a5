// Metadata of child objects: name, namespace, labels, annotations and the controller
// ownerReference (`blockOwnerDeletion: true`) of API.md §3.1, so garbage collection removes a
// child with its owner and owner watches find the owner of a changed child.
import type { KubeObject, ObjectMeta, OwnerReference } from '../../kube/client.ts';
import type { Labels } from './labels.ts';

/** The controller ownerReference to `owner` (which must have been read from the server). */
export function controllerRef(owner: KubeObject): OwnerReference {
  const { name, uid } = owner.metadata;
  if (name === undefined || uid === undefined) {
    throw new Error(`${owner.kind} without name or uid cannot own objects`);
  }
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name,
    uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Metadata of a child of `owner` in the owner's namespace. */
export function childMeta(
  owner: KubeObject,
  name: string,
  labels: Labels,
  annotations?: Record<string, string>,
): ObjectMeta {
  return {
    name,
    namespace: owner.metadata.namespace,
    labels,
    ...(annotations === undefined ? {} : { annotations }),
    ownerReferences: [controllerRef(owner)],
  };
}
