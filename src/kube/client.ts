// A small REST client for the Kubernetes API: get/list/watch/create/apply/patch/update/delete on
// any kind, addressed by apiVersion + kind and resolved through discovery.
//
// Why our own: the generated clients of @kubernetes/client-node are per-kind, do not stream
// watches with bookmarks the way the reflector needs, and do not expose per-request metrics; and
// importing that package costs ~87 MiB of RSS. *Who* we are (kubeconfig / in-cluster loading,
// client certificates, tokens, exec plugins, token-file rotation) comes from ./kubeconfig.ts:
// each request asks it for its TLS material and headers, and the bytes go out over a keep-alive
// node:https agent of ours. Every response is reported to ./metrics.ts's hook, through which the
// runtime counts rest_client_requests_total{code,method,host}.
import http from 'node:http';
import https from 'node:https';
import readline from 'node:readline';
import { KubeConfig } from './kubeconfig.ts';
import { reportRequestResult } from './metrics.ts';

/**
 * What the client needs to know about the cluster and the caller: a KubeConfig of ./kubeconfig.ts.
 * @kubernetes/client-node's KubeConfig has the same shape, so tests that build one can use it.
 */
export interface ClusterAccess {
  getCurrentCluster(): { server: string } | null;
  /** Fill in TLS material (ca, cert, key, rejectUnauthorized, servername) and auth headers. */
  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void>;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: unknown[];
}

/** Any Kubernetes object; kinds add their own fields (`spec`, `status`, `data`, ...). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  /** For ERROR events this is a metav1.Status, not a T: read it with `statusError`. */
  object: T;
}

export interface ResourceInfo {
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
}

export interface ListOptions {
  namespace?: string;
  /**
   * Only the objects' metadata (PartialObjectMetadata, as client-go's metadata informers): the
   * API server leaves out spec, status and data — a Secret's values never reach the process.
   */
  metadataOnly?: boolean;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface WatchOptions {
  namespace?: string;
  /** Only the objects' metadata, as ListOptions.metadataOnly. */
  metadataOnly?: boolean;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
  signal?: AbortSignal;
}

export type PatchType = 'merge' | 'json' | 'strategic';
export type Subresource = 'status';

/** A failed API call, carrying the metav1.Status the server answered with. */
export class KubeApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details?: unknown;

  constructor(message: string, code: number, reason: string, details?: unknown) {
    super(message);
    this.name = 'KubeApiError';
    this.code = code;
    this.reason = reason;
    this.details = details;
  }
}

const hasCode = (e: unknown, code: number): boolean => e instanceof KubeApiError && e.code === code;
export const isNotFound = (e: unknown): boolean => hasCode(e, 404);
export const isConflict = (e: unknown): boolean =>
  hasCode(e, 409) && (e as KubeApiError).reason !== 'AlreadyExists';
export const isAlreadyExists = (e: unknown): boolean =>
  hasCode(e, 409) && (e as KubeApiError).reason === 'AlreadyExists';
export const isGone = (e: unknown): boolean => hasCode(e, 410);

interface Status {
  kind?: string;
  code?: number;
  reason?: string;
  message?: string;
  details?: unknown;
}

/** Turns a metav1.Status (an error response body, or a watch ERROR event) into a KubeApiError. */
export function statusError(context: string, httpCode: number, body: unknown): KubeApiError {
  const s: Status = typeof body === 'object' && body !== null ? body : {};
  const code = typeof s.code === 'number' ? s.code : httpCode;
  const reason = typeof s.reason === 'string' ? s.reason : (http.STATUS_CODES[code] ?? 'Unknown');
  const message = typeof s.message === 'string' ? s.message : reason;
  return new KubeApiError(`${context}: ${message}`, code, reason, s.details);
}

const contentTypes: Record<PatchType | 'apply', string> = {
  apply: 'application/apply-patch+yaml',
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
};

/** Split "group/version" (or "v1" for the core group). */
function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

const groupVersionPath = (apiVersion: string): string =>
  apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;

interface ApiResourceList {
  resources?: { name: string; kind: string; namespaced: boolean }[];
}

interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** Accept header (default application/json). */
  accept?: string;
  signal?: AbortSignal;
}

/** Accept headers asking for metadata only (with plain JSON as the fallback). */
const METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
const METADATA = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

/** How long a cached "this group-version does not have that kind" answer is trusted. */
const HAS_RESOURCE_TTL_MS = 30_000;
/** Non-watch requests give up after this long (a hung connection must not stall a worker). */
const REQUEST_TIMEOUT_MS = 60_000;

export class KubeClient {
  readonly #kc: ClusterAccess;
  readonly #server: URL;
  readonly #userAgent: string;
  /** The keep-alive agent, and the client certificate and key it presents. */
  #agent: { agent: http.Agent; cert: unknown; key: unknown } | undefined;
  /** group-version → kind → resource; a miss re-reads that group-version once. */
  readonly #discovery = new Map<string, { at: number; kinds: Map<string, ResourceInfo> }>();
  readonly #discovering = new Map<string, Promise<Map<string, ResourceInfo>>>();

  private constructor(kc: ClusterAccess, userAgent: string) {
    const cluster = kc.getCurrentCluster();
    if (cluster === null) throw new Error('kubeconfig has no current cluster');
    this.#kc = kc;
    this.#server = new URL(cluster.server);
    this.#userAgent = userAgent;
  }

  static fromKubeConfig(kc: ClusterAccess, opts?: { userAgent?: string }): KubeClient {
    return new KubeClient(kc, opts?.userAgent ?? 'frappe-operator');
  }

  /** $KUBECONFIG, else the in-cluster service account, else ~/.kube/config. */
  static fromDefault(env: Readonly<Record<string, string | undefined>> = process.env): KubeClient {
    return KubeClient.fromKubeConfig(KubeConfig.load({ env }));
  }

  /** Host (host:port) of the API server, as in the `host` label of rest_client_requests_total. */
  get host(): string {
    return this.#server.host;
  }

  // ---- discovery -------------------------------------------------------------------------

  /** Read one group-version's resources; concurrent callers share one request. */
  #discover(apiVersion: string): Promise<Map<string, ResourceInfo>> {
    const inFlight = this.#discovering.get(apiVersion);
    if (inFlight !== undefined) return inFlight;
    const { group, version } = splitApiVersion(apiVersion);
    const request = this.#json<ApiResourceList | undefined>(
      { method: 'GET', path: groupVersionPath(apiVersion) },
      true,
    )
      .then((list) => {
        const kinds = new Map<string, ResourceInfo>();
        for (const r of list?.resources ?? []) {
          // Subresources ("deployments/status") share the kind of their parent; skip them.
          if (!r.name.includes('/')) {
            kinds.set(r.kind, { group, version, plural: r.name, namespaced: r.namespaced });
          }
        }
        this.#discovery.set(apiVersion, { at: Date.now(), kinds });
        return kinds;
      })
      .finally(() => this.#discovering.delete(apiVersion));
    this.#discovering.set(apiVersion, request);
    return request;
  }

  /** Resolve apiVersion + kind to its REST resource; cached, re-discovered on a miss. */
  async resource(apiVersion: string, kind: string): Promise<ResourceInfo> {
    const info =
      this.#discovery.get(apiVersion)?.kinds.get(kind) ??
      (await this.#discover(apiVersion)).get(kind);
    if (info === undefined) {
      throw new KubeApiError(
        `the server has no resource for kind ${kind} in ${apiVersion}`,
        404,
        'NotFound',
      );
    }
    return info;
  }

  /** Is this kind served right now (CRD installed: KEDA, cert-manager, ...)? Cached briefly. */
  async hasResource(apiVersion: string, kind: string): Promise<boolean> {
    const cached = this.#discovery.get(apiVersion);
    const kinds =
      cached !== undefined && Date.now() - cached.at < HAS_RESOURCE_TTL_MS
        ? cached.kinds
        : await this.#discover(apiVersion);
    return kinds.has(kind);
  }

  async #path(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name?: string,
    subresource?: Subresource,
  ): Promise<string> {
    const r = await this.resource(apiVersion, kind);
    let path = groupVersionPath(apiVersion);
    if (r.namespaced && namespace !== undefined && namespace !== '') {
      path += `/namespaces/${encodeURIComponent(namespace)}`;
    }
    path += `/${r.plural}`;
    if (name !== undefined) path += `/${encodeURIComponent(name)}`;
    if (subresource !== undefined) path += `/${subresource}`;
    return path;
  }

  #objectPath(obj: KubeObject, subresource?: Subresource): Promise<string> {
    const name = obj.metadata.name;
    if (name === undefined) throw new Error(`${obj.kind} without metadata.name`);
    return this.#path(obj.apiVersion, obj.kind, obj.metadata.namespace, name, subresource);
  }

  // ---- verbs -----------------------------------------------------------------------------

  /** The object, or undefined when it does not exist. */
  async get<T extends KubeObject>(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
  ): Promise<T | undefined> {
    const path = await this.#path(apiVersion, kind, namespace, name);
    return this.#json<T | undefined>({ method: 'GET', path }, true);
  }

  // The caller names the kind it expects, as with client-go's typed List.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
  async list<T extends KubeObject>(
    apiVersion: string,
    kind: string,
    opts: ListOptions = {},
  ): Promise<{ items: T[]; metadata: { resourceVersion: string; continue?: string } }> {
    const { namespace, metadataOnly, ...query } = opts;
    const path = await this.#path(apiVersion, kind, namespace);
    const list = await this.#json<{
      items: Omit<T, 'apiVersion' | 'kind'>[] | null;
      metadata: { resourceVersion: string; continue?: string };
    }>({ method: 'GET', path, query, ...(metadataOnly === true ? { accept: METADATA_LIST } : {}) });
    // Items of a list carry no apiVersion/kind on the wire (metadata-only ones name
    // PartialObjectMetadata); put the kind asked for back so objects are uniform.
    const items = (list.items ?? []).map((i) => ({ ...i, apiVersion, kind }) as T);
    return { items, metadata: list.metadata };
  }

  /**
   * Stream watch events until the server ends the watch (timeoutSeconds), the signal aborts it
   * (the iterator then throws an AbortError), or the connection breaks (it throws). A watch that
   * cannot start throws a KubeApiError (410 when the resourceVersion is too old — though the
   * server usually reports that as an ERROR event carrying a 410 Status instead).
   */
  async *watch<T extends KubeObject>(
    apiVersion: string,
    kind: string,
    opts: WatchOptions,
  ): AsyncIterable<WatchEvent<T>> {
    const path = await this.#path(apiVersion, kind, opts.namespace);
    const res = await this.#send({
      method: 'GET',
      path,
      signal: opts.signal,
      ...(opts.metadataOnly === true ? { accept: METADATA } : {}),
      query: {
        watch: true,
        resourceVersion: opts.resourceVersion,
        allowWatchBookmarks: opts.allowWatchBookmarks,
        timeoutSeconds: opts.timeoutSeconds,
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
      },
    });
    if (res.statusCode !== 200) {
      throw statusError(`watch ${path}`, res.statusCode ?? 0, parseJson(await readBody(res)));
    }
    const lines = readline.createInterface({ input: res, crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        if (line === '') continue;
        const event = JSON.parse(line) as WatchEvent<T>;
        // A metadata-only watch names PartialObjectMetadata: keep the kind asked for.
        if (opts.metadataOnly === true && event.type !== 'ERROR') {
          event.object = { ...event.object, apiVersion, kind };
        }
        yield event;
      }
    } finally {
      lines.close();
      res.destroy();
    }
  }

  async create<T extends KubeObject>(obj: T): Promise<T> {
    const path = await this.#path(obj.apiVersion, obj.kind, obj.metadata.namespace);
    return this.#json<T>({ method: 'POST', path, body: obj });
  }

  /** Server-side apply. The JSON body is valid YAML, hence the apply-patch+yaml content type. */
  async apply<T extends KubeObject>(
    obj: T,
    opts: { fieldManager: string; force?: boolean; subresource?: Subresource },
  ): Promise<T> {
    const path = await this.#objectPath(obj, opts.subresource);
    return this.#json<T>({
      method: 'PATCH',
      path,
      body: obj,
      contentType: contentTypes.apply,
      query: { fieldManager: opts.fieldManager, force: opts.force },
    });
  }

  async patch<T extends KubeObject>(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
    body: unknown,
    type: PatchType,
    opts: { subresource?: Subresource; fieldManager?: string } = {},
  ): Promise<T> {
    const path = await this.#path(apiVersion, kind, namespace, name, opts.subresource);
    return this.#json<T>({
      method: 'PATCH',
      path,
      body,
      contentType: contentTypes[type],
      query: { fieldManager: opts.fieldManager },
    });
  }

  /** PUT: fails with a conflict when metadata.resourceVersion is stale. */
  async update<T extends KubeObject>(obj: T, opts: { subresource?: Subresource } = {}): Promise<T> {
    const path = await this.#objectPath(obj, opts.subresource);
    return this.#json<T>({ method: 'PUT', path, body: obj });
  }

  /** True when a delete was accepted, false when the object was already gone. */
  async delete(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
    opts: {
      propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
      preconditions?: { uid?: string; resourceVersion?: string };
    } = {},
  ): Promise<boolean> {
    const path = await this.#path(apiVersion, kind, namespace, name);
    const body = { apiVersion: 'v1', kind: 'DeleteOptions', ...opts };
    const res = await this.#json<unknown>({ method: 'DELETE', path, body }, true);
    return res !== undefined;
  }

  /** POST to an arbitrary path, e.g. /apis/authentication.k8s.io/v1/tokenreviews. */
  createRaw(path: string, body: unknown): Promise<unknown> {
    return this.#json<unknown>({ method: 'POST', path, body });
  }

  // ---- transport -------------------------------------------------------------------------

  /** Send a request and parse the JSON answer; with `notFoundOk`, a 404 yields undefined. */
  async #json<T>(req: RequestSpec, notFoundOk: true): Promise<T | undefined>;
  async #json<T>(req: RequestSpec, notFoundOk?: false): Promise<T>;
  async #json<T>(req: RequestSpec, notFoundOk = false): Promise<T | undefined> {
    const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    const res = await this.#send({ ...req, signal });
    const body = parseJson(await readBody(res));
    const code = res.statusCode ?? 0;
    if (code >= 200 && code < 300) return body as T;
    if (code === 404 && notFoundOk) return undefined;
    throw statusError(`${req.method} ${req.path}`, code, body);
  }

  async #send(req: RequestSpec): Promise<http.IncomingMessage> {
    const url = new URL(this.#server.pathname.replace(/\/$/, '') + req.path, this.#server);
    for (const [k, v] of Object.entries(req.query ?? {})) {
      if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    }
    // The KubeConfig fills in TLS material and auth headers (re-reading rotated tokens).
    const auth: https.RequestOptions = {};
    await this.#kc.applyToHTTPSOptions(auth);
    const headers: http.OutgoingHttpHeaders = {
      ...(auth.headers as http.OutgoingHttpHeaders | undefined),
      accept: req.accept ?? 'application/json',
      'user-agent': this.#userAgent,
    };
    const payload =
      req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body), 'utf8');
    if (payload !== undefined) {
      headers['content-type'] = req.contentType ?? 'application/json';
      headers['content-length'] = payload.length;
    }
    const isHttps = url.protocol === 'https:';
    const options: https.RequestOptions = {
      method: req.method,
      headers,
      auth: auth.auth,
      agent: this.#agentFor(auth, isHttps),
      signal: req.signal,
    };
    return new Promise((resolve, reject) => {
      const r = (isHttps ? https : http).request(url, options, (res) => {
        reportRequestResult({
          code: String(res.statusCode ?? 0),
          method: req.method,
          host: this.host,
        });
        resolve(res);
      });
      r.on('error', (err) => {
        reportRequestResult({ code: '<error>', method: req.method, host: this.host });
        reject(err);
      });
      r.end(payload);
    });
  }

  /**
   * One keep-alive agent, built from the TLS material of the first request. When the client
   * certificate changes (an exec plugin's rotated one), a new agent replaces it and the old one's
   * connections are closed, as client-go closes its connections on certificate rotation.
   */
  #agentFor(opts: https.RequestOptions, isHttps: boolean): http.Agent {
    const current = this.#agent;
    if (
      current !== undefined &&
      sameKey(current.cert, opts.cert) &&
      sameKey(current.key, opts.key)
    ) {
      return current.agent;
    }
    current?.agent.destroy();
    const agent = isHttps
      ? new https.Agent({
          keepAlive: true,
          ca: opts.ca,
          cert: opts.cert,
          key: opts.key,
          pfx: opts.pfx,
          passphrase: opts.passphrase,
          servername: opts.servername,
          ...(opts.rejectUnauthorized === undefined
            ? {}
            : { rejectUnauthorized: opts.rejectUnauthorized }),
        })
      : new http.Agent({ keepAlive: true });
    this.#agent = { agent, cert: opts.cert, key: opts.key };
    return agent;
  }
}

/** Same PEM material? Compared by content: a KubeConfig may hand out fresh Buffers each time. */
function sameKey(a: unknown, b: unknown): boolean {
  return a === b || (Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b));
}

async function readBody(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Parse a response body; a non-JSON body (a proxy's HTML error page, say) becomes a message. */
function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    return { message: `non-JSON response (${(e as Error).message}): ${text.slice(0, 200)}` };
  }
}
