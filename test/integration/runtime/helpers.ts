// Shared pieces of the runtime integration tests: a client for the test cluster, a logger that
// remembers what it was told (to prove which recovery path ran), and write-request counting
// from rest_client_requests_total.
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../../../src/kube/client.ts';
import type { Logger } from '../../../src/kube/logger.ts';
import { registry } from '../../../src/runtime/metrics.ts';

export const clientFor = (kc: KubeConfig): KubeClient =>
  KubeClient.fromKubeConfig(kc, { userAgent: 'frappe-operator-tests' });

export interface CapturingLogger extends Logger {
  lines: { level: string; msg: string; obj: object }[];
  has(msg: string): boolean;
}

export function capturingLogger(): CapturingLogger {
  const lines: CapturingLogger['lines'] = [];
  const at =
    (level: string) =>
    (obj: object, msg = ''): void => {
      lines.push({ level, msg, obj });
    };
  const logger: CapturingLogger = {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
    has: (msg) => lines.some((l) => l.msg.includes(msg)),
  };
  return logger;
}

/** Requests other than GET sent to `host` so far, from rest_client_requests_total. */
export async function writeRequests(host: string): Promise<number> {
  const metric = await registry.getSingleMetric('rest_client_requests_total')?.get();
  return (metric?.values ?? [])
    .filter((v) => v.labels.host === host && v.labels.method !== 'GET')
    .reduce((sum, v) => sum + v.value, 0);
}
