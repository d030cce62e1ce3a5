// Runs the kubectl built with the control plane (same version as the apiserver) against a
// cluster, to apply YAML or read objects the way a user would.
import { run, type RunResult } from './exec.ts';

/** Which kubectl, against which cluster (a started Cluster is one). */
export interface KubectlTarget {
  kubeconfigPath: string;
  kubectlPath: string;
}

export interface KubectlOptions {
  /** Written to kubectl's stdin (e.g. YAML for `apply -f -`). */
  input?: string;
  namespace?: string;
  /** Resolve with a non-zero code instead of throwing. */
  allowFailure?: boolean;
}

export async function kubectl(
  target: KubectlTarget,
  args: string[],
  opts: KubectlOptions = {},
): Promise<RunResult> {
  const argv = [
    `--kubeconfig=${target.kubeconfigPath}`,
    ...(opts.namespace === undefined ? [] : [`--namespace=${opts.namespace}`]),
    ...args,
  ];
  const res = await run(target.kubectlPath, argv, {
    ...(opts.input === undefined ? {} : { input: opts.input }),
    allowFailure: true,
  });
  if (res.code !== 0 && opts.allowFailure !== true) {
    throw new Error(`kubectl ${args.join(' ')} failed (exit ${res.code}): ${res.stderr.trim()}`);
  }
  return res;
}
