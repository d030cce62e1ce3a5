// The client's request metrics, reported through a hook, as client-go's tools/metrics does: the
// client knows nothing of a metrics registry (src/kube never imports src/runtime), and the runtime,
// which owns the registry, installs the hook that counts rest_client_requests_total.

/** One finished request: the HTTP status code ("<error>" when none came back). */
export interface RequestResult {
  code: string;
  method: string;
  host: string;
}

let requestResultHook: ((r: RequestResult) => void) | undefined;

/** Install the function every request's result is reported to (replacing the previous one). */
export function setRequestResultHook(hook: (r: RequestResult) => void): void {
  requestResultHook = hook;
}

export function reportRequestResult(r: RequestResult): void {
  requestResultHook?.(r);
}
