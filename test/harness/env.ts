// The control plane of this test run, as seen from a test file. test/run.ts starts one cluster per
// run and hands it to the `node --test` worker processes through environment variables; when the
// cluster could not be built or started it hands over the reason instead, so every integration
// test fails with it (never a silent skip).
import { KubeConfig } from '@kubernetes/client-node';
import type { Cluster } from '../../src/dev/cluster.ts';

export interface TestCluster {
  kubeconfigPath: string;
  server: string;
  kubectlPath: string;
}

/** The environment variables test/run.ts sets (also handy to point tests at a `npm run cluster`). */
export const ENV = {
  kubeconfig: 'FRAPPE_TEST_KUBECONFIG',
  server: 'FRAPPE_TEST_SERVER',
  kubectl: 'FRAPPE_TEST_KUBECTL',
  error: 'FRAPPE_TEST_CLUSTER_ERROR',
  /**
   * Why a test tool (TEST_TOOLS of src/dev/build.ts: the S3 server, helm, the exporters) could
   * not be built, as JSON `{name: reason}`: ./tools.ts fails the tests that use it with it.
   */
  toolErrors: 'FRAPPE_TEST_TOOL_ERRORS',
} as const;

/** The variables handing `cluster` to test processes; KUBECACHEDIR is kubectl's discovery cache. */
export function clusterEnv(cluster: Cluster): Record<string, string> {
  return {
    [ENV.kubeconfig]: cluster.kubeconfigPath,
    [ENV.server]: cluster.server,
    [ENV.kubectl]: cluster.kubectlPath,
    KUBECACHEDIR: `${cluster.workDir}/kubectl-cache`,
  };
}

/**
 * Points this process's test helpers (kubectl(), applyFixtureCrds(), kubeConfig()) at `cluster`,
 * for a program that starts its own (the benchmark).
 */
export function useCluster(cluster: Cluster): void {
  Object.assign(process.env, clusterEnv(cluster));
}

export function testCluster(): TestCluster {
  const error = process.env[ENV.error];
  if (error !== undefined && error !== '') {
    throw new Error(`the test control plane could not start: ${error}`);
  }
  const kubeconfigPath = process.env[ENV.kubeconfig];
  const server = process.env[ENV.server];
  const kubectlPath = process.env[ENV.kubectl];
  if (
    kubeconfigPath === undefined ||
    kubeconfigPath === '' ||
    server === undefined ||
    server === '' ||
    kubectlPath === undefined ||
    kubectlPath === ''
  ) {
    throw new Error(
      'integration tests need the test control plane: run them with `npm test` or `npm run test:integration`',
    );
  }
  return { kubeconfigPath, server, kubectlPath };
}

/** A @kubernetes/client-node KubeConfig for the admin identity of the test cluster. */
export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(testCluster().kubeconfigPath);
  return kc;
}
