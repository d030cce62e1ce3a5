// The operator's API writes, read from the test control plane's audit log (JSON lines, Metadata
// level, one event per create/update/patch/delete/deletecollection — test/harness/manifests.ts
// AUDIT_POLICY), and counted per time window: in total, by verb, by resource, and per benchmark
// namespace (one bench each). Writes of other users (kcm, scheduler, kwok, the benchmark driver)
// are left out by user name.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

/** One write, as the audit event records it. */
export interface Write {
  /** requestReceivedTimestamp, ms since the epoch. */
  at: number;
  verb: string;
  /** `deployments`, `frappebenches/status`, … */
  resource: string;
  namespace: string;
  name: string;
  code: number;
}

interface AuditEvent {
  stage?: string;
  verb?: string;
  user?: { username?: string };
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
  requestReceivedTimestamp?: string;
}

/** Every completed write of `username`, in log order. */
export async function readWrites(auditLogPath: string, username: string): Promise<Write[]> {
  const writes: Write[] = [];
  const lines = createInterface({ input: createReadStream(auditLogPath), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.includes(username)) continue;
    const e = JSON.parse(line) as AuditEvent;
    if (e.stage !== 'ResponseComplete' || e.user?.username !== username) continue;
    const ref = e.objectRef ?? {};
    writes.push({
      at: Date.parse(e.requestReceivedTimestamp ?? ''),
      verb: e.verb ?? '',
      resource: [ref.resource, ref.subresource].filter((r) => r !== undefined).join('/'),
      namespace: ref.namespace ?? '',
      name: ref.name ?? '',
      code: e.responseStatus?.code ?? 0,
    });
  }
  return writes;
}

export interface WriteCounts {
  /** The window, ms since the epoch: [from, to). */
  from: number;
  to: number;
  total: number;
  /** When the last write of the window was received. */
  lastAt: number | undefined;
  /** Answered with a non-2xx code (conflicts, invalid): attempts that changed nothing. */
  failed: number;
  byVerb: Record<string, number>;
  byResource: Record<string, number>;
  /** Writes in each of the benchmark namespaces, in the order given. */
  perBench: number[];
  /** Writes outside the benchmark namespaces (cluster-scoped, the operator's namespace). */
  elsewhere: number;
  /** Up to 20 of the writes, for a window that should have none. */
  sample: Write[];
}

const increment = (map: Record<string, number>, key: string): void => {
  map[key] = (map[key] ?? 0) + 1;
};

/** The writes received in [from, to). */
export function countWrites(
  writes: readonly Write[],
  from: number,
  to: number,
  namespaces: readonly string[],
): WriteCounts {
  const inWindow = writes.filter((w) => w.at >= from && w.at < to);
  const byVerb: Record<string, number> = {};
  const byResource: Record<string, number> = {};
  const perNamespace = new Map(namespaces.map((ns) => [ns, 0]));
  let elsewhere = 0;
  for (const w of inWindow) {
    increment(byVerb, w.verb);
    increment(byResource, w.resource);
    const n = perNamespace.get(w.namespace);
    if (n === undefined) elsewhere++;
    else perNamespace.set(w.namespace, n + 1);
  }
  return {
    from,
    to,
    total: inWindow.length,
    lastAt: inWindow.at(-1)?.at,
    failed: inWindow.filter((w) => w.code < 200 || w.code > 299).length,
    byVerb,
    byResource,
    perBench: namespaces.map((ns) => perNamespace.get(ns) ?? 0),
    elsewhere,
    sample: inWindow.slice(0, 20),
  };
}
