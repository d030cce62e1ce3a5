// kubectl (src/dev/kubectl.ts) against the test cluster of this run, as its admin by default.
import type { RunResult } from '../../src/dev/exec.ts';
import {
  kubectl as runKubectl,
  type KubectlOptions as DevKubectlOptions,
  type KubectlTarget,
} from '../../src/dev/kubectl.ts';
import { testCluster } from './env.ts';

export interface KubectlOptions extends DevKubectlOptions {
  /** Another identity or cluster than the admin kubeconfig of this run. */
  kubeconfigPath?: string;
}

/** The run's kubectl, with the admin kubeconfig or `kubeconfigPath`. */
export function testKubectl(kubeconfigPath?: string): KubectlTarget {
  const cluster = testCluster();
  return {
    kubeconfigPath: kubeconfigPath ?? cluster.kubeconfigPath,
    kubectlPath: cluster.kubectlPath,
  };
}

export function kubectl(args: string[], opts: KubectlOptions = {}): Promise<RunResult> {
  const { kubeconfigPath, ...rest } = opts;
  return runKubectl(testKubectl(kubeconfigPath), args, rest);
}
