// Shared pieces of the runtime integration tests: a client for the test cluster and
// write-request counting from rest_client_requests_total.
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../../../src/kube/client.ts';
import { registry } from '../../../src/runtime/metrics.ts';

export const clientFor = (kc: KubeConfig): KubeClient =>
  KubeClient.fromKubeConfig(kc, { userAgent: 'frappe-operator-tests' });

/** Requests other than GET sent to `host` so far, from rest_client_requests_total. */
export async function writeRequests(host: string): Promise<number> {
  const metric = await registry.getSingleMetric('rest_client_requests_total')?.get();
  return (metric?.values ?? [])
    .filter((v) => v.labels.host === host && v.labels.method !== 'GET')
    .reduce((sum, v) => sum + v.value, 0);
}
