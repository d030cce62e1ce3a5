// Readies a started local cluster for a whole operator, as the playground (`frappe-operator
// dev`) and the benchmark run it: our CRDs and the third-party fixture CRDs installed, the
// samples of config/samples/ read, and the operator's own identity as the install bundle defines
// it — its namespace, ConfigMap, ServiceAccount and RBAC from config/manager and config/rbac —
// with a non-expiring token kubeconfig, so the operator runs with exactly the permissions it
// ships with, never as admin, and the audit log tells its writes apart from kcm's, the
// scheduler's and kwok's (which use the admin identity or their own ServiceAccounts).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { MANAGER_NAME, NAMESPACE } from '../deploy/names.ts';
import type { KubeObject } from '../kube/client.ts';
import type { Cluster } from './cluster.ts';
import { applyFixtureCrds, applyOurCrds } from './crds.ts';
import { eventually } from './eventually.ts';
import { kubectl } from './kubectl.ts';
import { writeKubeconfig } from './pki.ts';

const ROOT = new URL('../../', import.meta.url);
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

/** Installs our four CRDs and the named fixture CRDs (src/dev/crds), all Established. */
export async function installCrds(cluster: Cluster, fixtures: string[]): Promise<void> {
  await applyOurCrds(cluster);
  await applyFixtureCrds(cluster, fixtures);
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
 * for days. The kubeconfig file lives in the cluster's work dir and goes with it.
 */
export async function createOperatorIdentity(cluster: Cluster): Promise<OperatorIdentity> {
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
  await kubectl(cluster, [
    'apply',
    '-f',
    `${MANAGER_DIR}namespace.yaml`,
    '-f',
    `${MANAGER_DIR}config_map.yaml`,
    '-f',
    RBAC_DIR,
  ]);
  await kubectl(cluster, ['apply', '-f', '-'], { input: JSON.stringify(tokenSecret) });
  const token = await eventually(
    async () => {
      const r = await kubectl(
        cluster,
        ['get', 'secret', `${sa}-token`, '-o', 'jsonpath={.data.token}'],
        { namespace: ns },
      );
      if (r.stdout === '') throw new Error('no token yet');
      return Buffer.from(r.stdout, 'base64').toString('utf8');
    },
    { timeout: 30_000, message: `token of ServiceAccount ${ns}/${sa} (is kcm running?)` },
  );
  const kubeconfigPath = join(cluster.workDir, 'operator.kubeconfig');
  const ca = (await readFile(cluster.caCertPath)).toString('base64');
  await writeKubeconfig(kubeconfigPath, cluster.server, ca, { token });
  return { kubeconfigPath, username: `system:serviceaccount:${ns}:${sa}` };
}
