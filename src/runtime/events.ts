// Kubernetes Events (events.k8s.io/v1) about reconciled objects — what `kubectl describe` shows
// the user. Reconcilers are expected to record events only on transitions; this recorder makes
// repeats cheap anyway: the same (object, type, reason, action, note) within `windowMs` does not
// create a new Event but bumps `series.count` / `series.lastObservedTime` of the first one by a
// merge patch (the events.k8s.io/v1 series semantics). If that Event has expired meanwhile, a new one
// is created. Recording never throws: a failed write is logged, since an event is worth less
// than the reconcile that records it.
//
// reportingController defaults to the operator's name; reportingInstance is the pod name (the
// hostname of a pod, unless overridden). Notes must never contain secret values.
import type { Condition } from './conditions.ts';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { isNotFound, type KubeClient, type KubeObject } from '../kube/client.ts';
import { stderrLogger, type Logger } from '../kube/logger.ts';
import { toMicroTime } from '../kube/time.ts';

export interface EventInput {
  type: 'Normal' | 'Warning';
  /** CamelCase, why the action was taken (e.g. `DatabaseNotReady`). */
  reason: string;
  /** CamelCase, what was done or failed (e.g. `Reconcile`, `CreateJob`). */
  action: string;
  /** Human-readable; truncated to 1 kB as the API requires. */
  note: string;
}

export interface EventRecorderOptions {
  reportingController?: string;
  reportingInstance?: string;
  /** Repeats within this window extend the first Event's series (default 10 min). */
  windowMs?: number;
  /** Distinct events remembered for de-duplication (oldest forgotten first; default 4096). */
  maxTracked?: number;
  logger?: Logger;
}

interface Series {
  namespace: string;
  name: string;
  count: number;
  firstAt: number;
  /** Writes of one series are serialised, so counts never go backwards. */
  pending: Promise<void>;
}

/** Unique per Event, as client-go names them: `<object name>.<random>`. */
const eventName = (regarding: KubeObject): string =>
  `${regarding.metadata.name ?? 'unknown'}.${randomBytes(8).toString('hex')}`;

export class EventRecorder {
  readonly #client: KubeClient;
  readonly #controller: string;
  readonly #instance: string;
  readonly #windowMs: number;
  readonly #maxTracked: number;
  readonly #log: Logger;
  readonly #series = new Map<string, Series>();

  constructor(client: KubeClient, opts: EventRecorderOptions = {}) {
    this.#client = client;
    this.#controller = opts.reportingController ?? 'frappe-operator';
    this.#instance = (opts.reportingInstance ?? os.hostname()).slice(0, 128);
    this.#windowMs = opts.windowMs ?? 600_000;
    this.#maxTracked = opts.maxTracked ?? 4096;
    this.#log = (opts.logger ?? stderrLogger).child({ component: 'event-recorder' });
  }

  /** Record an event about `regarding`; resolves when written (or when writing failed). */
  record(regarding: KubeObject, input: EventInput): Promise<void> {
    const note = input.note.length > 1024 ? `${input.note.slice(0, 1021)}...` : input.note;
    const event = { ...input, note };
    const m = regarding.metadata;
    const key = JSON.stringify([m.uid ?? `${regarding.kind}/${m.namespace}/${m.name}`, event]);
    const now = Date.now();
    const existing = this.#series.get(key);
    if (existing !== undefined && now - existing.firstAt < this.#windowMs) {
      existing.pending = existing.pending.then(() => this.#repeat(existing, regarding, event));
      return existing.pending;
    }
    const series: Series = {
      namespace: m.namespace ?? 'default',
      name: eventName(regarding),
      count: 1,
      firstAt: now,
      pending: Promise.resolve(),
    };
    this.#series.delete(key); // re-insert at the end: the Map's order is the eviction order
    this.#series.set(key, series);
    for (const old of this.#series.keys()) {
      if (this.#series.size <= this.#maxTracked) break;
      this.#series.delete(old);
    }
    series.pending = this.#create(series, regarding, event);
    return series.pending;
  }

  async #create(series: Series, regarding: KubeObject, event: EventInput): Promise<void> {
    const m = regarding.metadata;
    try {
      await this.#client.create({
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name: series.name, namespace: series.namespace },
        eventTime: toMicroTime(new Date()),
        reportingController: this.#controller,
        reportingInstance: this.#instance,
        ...event,
        regarding: {
          apiVersion: regarding.apiVersion,
          kind: regarding.kind,
          name: m.name,
          namespace: m.namespace,
          uid: m.uid,
          resourceVersion: m.resourceVersion,
        },
      });
    } catch (err) {
      this.#failed(err, regarding, event);
    }
  }

  async #repeat(series: Series, regarding: KubeObject, event: EventInput): Promise<void> {
    series.count++;
    const body = { series: { count: series.count, lastObservedTime: toMicroTime(new Date()) } };
    try {
      await this.#client.patch(
        'events.k8s.io/v1',
        'Event',
        series.namespace,
        series.name,
        body,
        'merge',
      );
    } catch (err) {
      if (!isNotFound(err)) {
        this.#failed(err, regarding, event);
        return;
      }
      // The first Event expired (or its create failed): start a new series.
      series.name = eventName(regarding);
      series.count = 1;
      series.firstAt = Date.now();
      await this.#create(series, regarding, event);
    }
  }

  #failed(err: unknown, regarding: KubeObject, event: EventInput): void {
    const { namespace, name } = regarding.metadata;
    this.#log.warn(
      { err, kind: regarding.kind, namespace, name, reason: event.reason },
      'could not record event',
    );
  }
}

/**
 * The events of the conditions of `after` that changed status or reason since `before`, as
 * `eventFor` judges each (API.md §1.2: events on transitions only). One event per reason: a
 * Ready=False repeating a step's reason that has an event of its own, and a Warning of a reason
 * wins over a Normal one.
 */
export function transitionEvents(
  before: readonly Condition[] | undefined,
  after: readonly Condition[] | undefined,
  eventFor: (c: Condition) => EventInput | undefined,
): EventInput[] {
  const prior = new Map((before ?? []).map((c) => [c.type, c]));
  const events = (after ?? []).flatMap((c) => {
    const p = prior.get(c.type);
    const e = p?.status === c.status && p.reason === c.reason ? undefined : eventFor(c);
    return e === undefined ? [] : [e];
  });
  const kept = events.filter(
    (e) =>
      e.type === 'Warning' || !events.some((x) => x.reason === e.reason && x.type === 'Warning'),
  );
  return kept.filter((e, i) => kept.findIndex((x) => x.reason === e.reason) === i);
}
