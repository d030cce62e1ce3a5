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

/** A field the API server named when it refused an object, and what it said of it. */
export interface InvalidField {
  /** The field of the refused object, e.g. `spec.template.spec.affinity`; '' when unnamed. */
  field: string;
  message: string;
}

/** An object the API server refused as invalid: which one, and the fields it named. */
export interface Refusal {
  /** `Kind name` (e.g. `Deployment prod-gunicorn`), or the request's path. */
  object: string;
  fields: InvalidField[];
}

/**
 * The API server's refusal of an object as invalid, or undefined when `err` is not one: a 422
 * Invalid (its status causes name the fields), or the 500 a server-side apply answers when a
 * value has the wrong type ("failed to create typed patch object ...: .spec.x: expected map,
 * got ..."). Retrying either sends the same object and fails the same way.
 */
export function refusal(err: unknown): Refusal | undefined {
  if (!(err instanceof KubeApiError)) return undefined;
  const request = /^\S+ (\S+): /.exec(err.message)?.[1] ?? '';
  const path = request.split('/');
  const fromPath = path.length >= 2 ? `${path.at(-2) ?? ''}/${path.at(-1) ?? ''}` : request;
  if (err.code === 422) {
    const details = err.details as
      { kind?: string; name?: string; causes?: { field?: string; message?: string }[] } | undefined;
    const fields = (details?.causes ?? []).map((c) => ({
      field: c.field ?? '',
      message: c.message ?? '',
    }));
    return {
      object:
        details?.kind !== undefined && details.name !== undefined
          ? `${details.kind} ${details.name}`
          : fromPath,
      fields: fields.length > 0 ? fields : [{ field: '', message: err.message }],
    };
  }
  if (err.code === 500 && err.message.includes('failed to create typed patch object')) {
    const m = /\s\.?((?:spec|metadata)\.[^\s:]+): (.*)$/s.exec(err.message);
    return {
      object: fromPath,
      fields: [
        m === null
          ? { field: '', message: err.message }
          : { field: m[1] ?? '', message: m[2] ?? '' },
      ],
    };
  }
  return undefined;
}
