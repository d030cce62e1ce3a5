// The operator's API writes, read from the test control plane's audit log (JSON lines, Metadata
// level, one event per create/update/patch/delete/deletecollection — src/dev/manifests.ts
// AUDIT_POLICY), and counted per time window: in total, by verb, by resource, and per unit of
// the scenario — a bench (its namespace) or a site (the objects named after it). Writes of other
// users (kcm, scheduler, kwok, the benchmark driver) are left out by user name.
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
  /** Writes of each unit (bench or site), in the order given. */
  perUnit: number[];
  /** Writes of no unit (cluster-scoped, the operator's namespace; a site's bench). */
  elsewhere: number;
  /** Up to 20 of the writes, for a window that should have none. */
  sample: Write[];
  /** The unit with the most writes, and its writes: where the writes above p50 go. */
  busiest: { unit: string; writes: Write[] } | undefined;
}

const increment = (map: Record<string, number>, key: string): void => {
  map[key] = (map[key] ?? 0) + 1;
};

/** The unit of a write: a bench by its namespace. */
export const byNamespace = (w: Write): string => w.namespace;

/**
 * The unit of a write in namespace `ns`: the site it is named after — the FrappeSite itself,
 * `<site>-…` (its children) or `<site>.…` (its Events).
 */
export function bySiteName(ns: string, sites: readonly string[]): (w: Write) => string | undefined {
  const known = new Set(sites);
  return (w) => {
    if (w.namespace !== ns) return undefined;
    // The longest site name that is the whole name, or followed by `-` or `.`.
    let site: string | undefined;
    for (let i = 1; i <= w.name.length; i++) {
      const end = i === w.name.length || w.name[i] === '-' || w.name[i] === '.';
      if (end && known.has(w.name.slice(0, i))) site = w.name.slice(0, i);
    }
    return site;
  };
}

/** The writes received in [from, to), per unit of `units` as `unitOf` tells. */
export function countWrites(
  writes: readonly Write[],
  from: number,
  to: number,
  units: readonly string[],
  unitOf: (w: Write) => string | undefined,
): WriteCounts {
  const inWindow = writes.filter((w) => w.at >= from && w.at < to);
  const byVerb: Record<string, number> = {};
  const byResource: Record<string, number> = {};
  const perUnit = new Map<string, Write[]>(units.map((u) => [u, []]));
  let elsewhere = 0;
  for (const w of inWindow) {
    increment(byVerb, w.verb);
    increment(byResource, w.resource);
    const unit = unitOf(w);
    const own = unit === undefined ? undefined : perUnit.get(unit);
    if (own === undefined) elsewhere++;
    else own.push(w);
  }
  let busiest: WriteCounts['busiest'];
  for (const [unit, writes] of perUnit) {
    if (writes.length > (busiest?.writes.length ?? 0)) busiest = { unit, writes };
  }
  return {
    from,
    to,
    total: inWindow.length,
    lastAt: inWindow.at(-1)?.at,
    failed: inWindow.filter((w) => w.code < 200 || w.code > 299).length,
    byVerb,
    byResource,
    perUnit: units.map((u) => perUnit.get(u)?.length ?? 0),
    elsewhere,
    sample: inWindow.slice(0, 20),
    busiest,
  };
}
