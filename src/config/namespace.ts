// The namespace the operator runs in: where its ConfigMap, Lease and metrics Service live.
//
// Never hard-coded (API.md §4.1): the install bundle passes it through the downward API as
// FRAPPE_OPERATOR_NAMESPACE; POD_NAMESPACE (a common convention) and the service account's
// namespace file are fall-backs, so `frappe-operator run` inside any pod finds it too.
import fs from 'node:fs';

export const SERVICE_ACCOUNT_NAMESPACE_FILE =
  '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export function operatorNamespace(
  env: Readonly<Record<string, string | undefined>>,
  namespaceFile = SERVICE_ACCOUNT_NAMESPACE_FILE,
): string {
  for (const name of ['FRAPPE_OPERATOR_NAMESPACE', 'POD_NAMESPACE']) {
    const v = env[name]?.trim();
    if (v !== undefined && v !== '') return v;
  }
  let fromFile: string;
  try {
    fromFile = fs.readFileSync(namespaceFile, 'utf8').trim();
  } catch (e) {
    throw new Error(
      `cannot tell the operator's namespace: FRAPPE_OPERATOR_NAMESPACE and POD_NAMESPACE are ` +
        `unset and ${namespaceFile} cannot be read (${(e as Error).message}); set ` +
        `FRAPPE_OPERATOR_NAMESPACE (in a pod: from the downward API, metadata.namespace)`,
      { cause: e },
    );
  }
  if (fromFile === '') {
    throw new Error(
      `cannot tell the operator's namespace: ${namespaceFile} is empty; set FRAPPE_OPERATOR_NAMESPACE`,
    );
  }
  return fromFile;
}
