// Readies a started test cluster for a whole operator, as the local playground (`npm start`) and
// the benchmark (`npm run bench`) run it: the harness helpers (kubectl, fixture CRDs) pointed at
// the cluster, our CRDs and the third-party fixture CRDs installed, the samples of
// config/samples/ read, and the operator's own identity as the install bundle defines it — its
// namespace, ConfigMap, ServiceAccount and RBAC from config/manager and config/rbac — with a
// non-expiring token kubeconfig, so the operator runs with exactly the permissions it ships
// with, never as admin, and the audit log tells its writes apart from kcm's, the scheduler's and
// kwok's (which use the admin identity or their own ServiceAccounts).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { KINDS } from '../../src/api/v1alpha1/index.ts';
import { MANAGER_NAME, NAMESPACE } from '../../src/deploy/names.ts';
import type { KubeObject } from '../../src/kube/client.ts';
import { tokenKubeconfig } from '../integration/manager/operator.ts';
import type { Cluster } from './cluster.ts';
import { ENV } from './env.ts';
import { eventually } from './eventually.ts';
import { kubectl } from './kubectl.ts';
import { applyFixtureCrds, waitForCrdsEstablished } from './namespace.ts';

const ROOT = new URL('../../', import.meta.url);
const CRD_DIR = fileURLToPath(new URL('config/crd/bases/', ROOT));
const MANAGER_DIR = fileURLToPath(new URL('config/manager/', ROOT));
const RBAC_DIR = fileURLToPath(new URL('config/rbac/', ROOT));
export const SAMPLES_DIR = fileURLToPath(new URL('config/samples/', ROOT));

/** Where the operator runs: its Lease and ConfigMap (the install bundle's namespace). */
export const OPERATOR_NAMESPACE = NAMESPACE;

/** Namespace labels enforcing the restricted Pod Security Standard, as the guide's production. */
export const RESTRICTED_PSS = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/audit': 'restricted',
  'pod-security.kubernetes.io/warn': 'restricted',
} as const;

/**
 * Points this process's harness helpers (kubectl(), applyFixtureCrds(), kubeConfig()) at
 * `cluster`, through the variables test/run.ts hands to test processes.
 */
export function useCluster(cluster: Cluster): void {
  process.env[ENV.kubeconfig] = cluster.kubeconfigPath;
  process.env[ENV.server] = cluster.server;
  process.env[ENV.kubectl] = cluster.kubectlPath;
  process.env.KUBECACHEDIR = `${cluster.workDir}/kubectl-cache`;
}

/** Installs our four CRDs and the named fixture CRDs (test/fixtures/crds), all Established. */
export async function installCrds(fixtures: string[]): Promise<void> {
  await kubectl(['apply', '--server-side', '--field-manager=frappe-harness', '-f', CRD_DIR]);
  await waitForCrdsEstablished(KINDS.map((k) => `${k.plural}.${k.group}`));
  await applyFixtureCrds(fixtures);
}

/** A manifest of config/samples/, e.g. `frappebench.yaml`. */
export async function readSample(file: string): Promise<KubeObject> {
  return parse(await readFile(`${SAMPLES_DIR}${file}`, 'utf8')) as KubeObject;
}

export interface OperatorIdentity {
  /** A kubeconfig authenticating as the operator's ServiceAccount. */
  kubeconfigPath: string;
  /** The user name the API server (and its audit log) sees. */
  username: string;
}

/**
 * Applies the operator's namespace, ConfigMap, ServiceAccount and RBAC of the install bundle and
 * returns a kubeconfig with the ServiceAccount's token. The token comes from a
 * service-account-token Secret (filled in by kcm), which does not expire: a playground may run
 * for days. The kubeconfig file lives in a temporary dir removed by `cleanUp()` of
 * test/integration/manager/operator.ts.
 */
export async function createOperatorIdentity(): Promise<OperatorIdentity> {
  const ns = OPERATOR_NAMESPACE;
  const sa = MANAGER_NAME;
  const tokenSecret = {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/service-account-token',
    metadata: {
      name: `${sa}-token`,
      namespace: ns,
      annotations: { 'kubernetes.io/service-account.name': sa },
    },
  };
  await kubectl([
    'apply',
    '-f',
    `${MANAGER_DIR}namespace.yaml`,
    '-f',
    `${MANAGER_DIR}config_map.yaml`,
    '-f',
    RBAC_DIR,
  ]);
  await kubectl(['apply', '-f', '-'], { input: JSON.stringify(tokenSecret) });
  const token = await eventually(
    async () => {
      const r = await kubectl(['get', 'secret', `${sa}-token`, '-o', 'jsonpath={.data.token}'], {
        namespace: ns,
      });
      if (r.stdout === '') throw new Error('no token yet');
      return Buffer.from(r.stdout, 'base64').toString('utf8');
    },
    { timeout: 30_000, message: `token of ServiceAccount ${ns}/${sa} (is kcm running?)` },
  );
  return { kubeconfigPath: tokenKubeconfig(token), username: `system:serviceaccount:${ns}:${sa}` };
}
