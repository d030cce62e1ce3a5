// The built-in requests and limits of every container the operator creates, per component and
// Job kind (API.md §2.0, §3.2): part of the API's contract, so the schema's descriptions are
// written from them, and the controllers merge a user's partial requirements with them.

export interface ResourceDefaults {
  requests: { cpu: string; memory: string };
  limits: { cpu: string; memory: string };
}

const sized = (cpu: string, memory: string, cpuLimit: string, memoryLimit: string) => ({
  requests: { cpu, memory },
  limits: { cpu: cpuLimit, memory: memoryLimit },
});

/** Built-in sizes (requests → limits), API.md §3.2. */
export const DEFAULT_RESOURCES = {
  gunicorn: sized('250m', '512Mi', '2', '2Gi'),
  nginx: sized('100m', '128Mi', '1', '512Mi'),
  socketio: sized('100m', '128Mi', '1', '512Mi'),
  scheduler: sized('100m', '256Mi', '1', '1Gi'),
  worker: sized('200m', '512Mi', '2', '2Gi'),
  assets: sized('50m', '64Mi', '500m', '256Mi'),
  redis: sized('100m', '128Mi', '1', '1Gi'),
  redisExporter: sized('25m', '32Mi', '200m', '128Mi'),
  statsdExporter: sized('25m', '32Mi', '200m', '128Mi'),
  benchInit: sized('100m', '512Mi', '1', '2Gi'),
  siteInit: sized('250m', '512Mi', '2', '3Gi'),
  restore: sized('250m', '512Mi', '2', '3Gi'),
  migrate: sized('250m', '512Mi', '2', '3Gi'),
  siteJob: sized('250m', '512Mi', '2', '3Gi'),
  backup: sized('100m', '256Mi', '1', '2Gi'),
  agent: sized('100m', '128Mi', '1', '512Mi'),
  mariadb: sized('250m', '512Mi', '2', '2Gi'),
  default: sized('50m', '128Mi', '500m', '512Mi'),
} as const satisfies Record<string, ResourceDefaults>;

/** How a schema description states a built-in size: `250m/512Mi requests, 2/2Gi limits`. */
export const describeSize = (d: ResourceDefaults): string =>
  `${d.requests.cpu}/${d.requests.memory} requests, ${d.limits.cpu}/${d.limits.memory} limits`;
