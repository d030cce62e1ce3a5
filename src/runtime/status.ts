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
import type { Logger } from '../kube/logger.ts';
import { FIELD_MANAGER } from './apply.ts';
import type { EventInput, EventRecorder } from './events.ts';

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

/**
 * `updateStatus`, then one event per transition `transitions` sees from the old status to the
 * new (each also logged when `log` is given); nothing at all when the status did not change.
 * Returns the object as written (or `obj`).
 */
export async function writeStatus<S, T extends KubeObject & { status?: S }>(
  client: KubeClient,
  events: EventRecorder,
  obj: T,
  status: S,
  transitions: (before: S | undefined, after: S) => EventInput[],
  log?: Logger,
): Promise<T> {
  if (jsonEqual(obj.status, status)) return obj;
  const written = await updateStatus(client, obj, status);
  for (const e of transitions(obj.status, status)) {
    log?.info({ reason: e.reason }, e.note);
    await events.record(obj, e);
  }
  return written;
}
