// Runs the kubectl built with the control plane (same version as the apiserver) against the test
// cluster, for tests that want to apply YAML or read objects the way a user would.
import { run, type RunResult } from './exec.ts';
import { testCluster } from './env.ts';

export interface KubectlOptions {
  /** Written to kubectl's stdin (e.g. YAML for `apply -f -`). */
  input?: string;
  namespace?: string;
  /** Resolve with a non-zero code instead of throwing. */
  allowFailure?: boolean;
  /** Another identity or cluster than the admin kubeconfig of this run. */
  kubeconfigPath?: string;
}

export async function kubectl(args: string[], opts: KubectlOptions = {}): Promise<RunResult> {
  const cluster = testCluster();
  const argv = [
    `--kubeconfig=${opts.kubeconfigPath ?? cluster.kubeconfigPath}`,
    ...(opts.namespace === undefined ? [] : [`--namespace=${opts.namespace}`]),
    ...args,
  ];
  const res = await run(cluster.kubectlPath, argv, {
    ...(opts.input === undefined ? {} : { input: opts.input }),
    allowFailure: true,
  });
  if (res.code !== 0 && opts.allowFailure !== true) {
    throw new Error(`kubectl ${args.join(' ')} failed (exit ${res.code}): ${res.stderr.trim()}`);
  }
  return res;
}
