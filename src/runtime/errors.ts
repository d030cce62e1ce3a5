// How a reconciler tells the controller that retrying will not help.
//
// A reconcile ends in one of three ways (design §2): success, a transient error (anything
// thrown: conflict, timeout, 5xx, a bug) that the controller retries with per-key exponential
// backoff, or a terminal problem — an invalid combination the schema could not catch — that no
// retry can fix. For the last, the reconciler first records a condition and an event for the
// user, then throws a TerminalError: the controller logs it, counts it, and does not requeue.
// The next change to the object (or its children) triggers a fresh reconcile as usual.

export class TerminalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

export const isTerminalError = (e: unknown): e is TerminalError => e instanceof TerminalError;
