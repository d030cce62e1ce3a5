// A ClusterIP Service with one TCP port selecting one component's pods — the shape of every
// Service the operator creates (gunicorn, nginx, socketio, Redis).
import type { KubeObject } from '../../kube/client.ts';
import type { Labels } from './labels.ts';
import { childMeta } from './meta.ts';
import { KINDS, type Service } from './objects.ts';

export function componentService(
  owner: KubeObject,
  name: string,
  labels: Labels,
  selector: Labels,
  port: { name: string; port: number },
): Service {
  return {
    ...KINDS.Service,
    metadata: childMeta(owner, name, labels),
    spec: {
      selector,
      ports: [{ name: port.name, port: port.port, targetPort: port.port, protocol: 'TCP' }],
    },
  };
}
