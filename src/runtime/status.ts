// Writing the status of custom resources a controller owns — only when it changed, so a
// converged reconcile sends nothing and a controller's own status writes do not wake anyone up
// for nothing.
//
// The write is a server-side apply of the status subresource (the apply field manager, force):
// no resourceVersion conflicts with spec edits, and fields we stop reporting are removed.
// Equality is JSON equality ignoring key order and undefined fields. Condition times must be
// second-precision (conditions.ts does that), or the stored value never matches.
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { jsonEqual } from '../kube/json.ts';
import { FIELD_MANAGER } from './apply.ts';

/** Write `status` if it differs from `obj.status`; returns the object as written (or `obj`). */
export async function updateStatus<T extends KubeObject & { status?: unknown }>(
  client: KubeClient,
  obj: T,
  status: T['status'],
): Promise<T> {
  if (jsonEqual(obj.status, status)) return obj;
  const { apiVersion, kind } = obj;
  const { name, namespace } = obj.metadata;
  return client.apply<T>({ apiVersion, kind, metadata: { name, namespace }, status } as T, {
    fieldManager: FIELD_MANAGER,
    force: true,
    subresource: 'status',
  });
}
