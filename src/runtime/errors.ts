// How a reconciler tells the controller that retrying will not help.
//
// A reconcile ends in one of three ways: success, a transient error (anything
// thrown: conflict, timeout, 5xx, a bug) that the controller retries with per-key exponential
// backoff, or a terminal problem — an invalid combination the schema could not catch — that no
// retry can fix. For the last, the reconciler first records a condition and an event for the
// user, then throws a TerminalError: the controller logs it, counts it, and does not requeue.
// The next change to the object (or its children) triggers a fresh reconcile as usual.
import { KubeApiError } from '../kube/client.ts';
import { redactText } from './redact.ts';

export class TerminalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

export const isTerminalError = (e: unknown): e is TerminalError => e instanceof TerminalError;

/**
 * The message of anything thrown, for conditions, events and logs: with anything that looks like
 * a credential (a bearer token, a JWT, `password=…`, a URL's password, a base64 blob of Secret
 * data, as an API server's error text may quote them) replaced by [REDACTED].
 */
export const errorMessage = (err: unknown): string =>
  redactText(err instanceof Error ? err.message : String(err));

/**
 * A create refused because the namespace is being deleted (status cause NamespaceTerminating):
 * the namespace controller deletes the owner next, so a reconcile stops rather than fails.
 */
export function isNamespaceTerminating(err: unknown): boolean {
  const details = (err instanceof KubeApiError ? err.details : undefined) as
    { causes?: { reason?: string }[] } | undefined;
  // metav1.StatusCause's type is serialised as `reason`.
  return (details?.causes ?? []).some((c) => c.reason === 'NamespaceTerminating');
}
