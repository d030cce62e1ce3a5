// A tiny in-process HTTP server standing in for the API server in unit tests: it serves
// discovery for a few kinds, records every request, and lets each test answer the rest.
// Real API-server behaviour is covered by the integration tests; this is for the paths a real
// server cannot be made to take on demand (silent streams, scripted failures).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeClient } from '../../../src/kube/client.ts';
import { KubeConfig } from '../../../src/kube/kubeconfig.ts';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  contentType: string | undefined;
  body: unknown;
}

/** Answer the request (and return true), or return false for a 404. */
export type Handler = (
  req: RecordedRequest,
  res: http.ServerResponse,
) => boolean | Promise<boolean>;

const discovery: Record<string, { name: string; kind: string; namespaced: boolean }[]> = {
  '/api/v1': [
    { name: 'configmaps', kind: 'ConfigMap', namespaced: true },
    { name: 'namespaces', kind: 'Namespace', namespaced: false },
  ],
  '/apis/events.k8s.io/v1': [{ name: 'events', kind: 'Event', namespaced: true }],
};

export interface FakeApiServer {
  client: KubeClient;
  /** Every request but discovery. */
  requests: RecordedRequest[];
  /** Discovery requests, by path. */
  discovery: string[];
  close(): Promise<void>;
}

export async function fakeApiServer(handler: Handler): Promise<FakeApiServer> {
  const requests: RecordedRequest[] = [];
  const discoveryRequests: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const text = Buffer.concat(chunks).toString('utf8');
      const rec: RecordedRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        contentType: req.headers['content-type'],
        body: text === '' ? undefined : (JSON.parse(text) as unknown),
      };
      const resources = discovery[rec.path];
      if (resources !== undefined) {
        discoveryRequests.push(rec.path);
        res.end(JSON.stringify({ resources }));
        return;
      }
      requests.push(rec);
      void Promise.resolve(handler(rec, res)).then((handled) => {
        if (handled) return;
        res.statusCode = 404;
        res.end(JSON.stringify({ kind: 'Status', code: 404, reason: 'NotFound', message: 'nope' }));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const kc = KubeConfig.fromObject({
    clusters: [{ name: 'fake', cluster: { server: `http://127.0.0.1:${port}` } }],
    users: [{ name: 'fake', user: { token: 'fake' } }],
    contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake' } }],
    'current-context': 'fake',
  });
  return {
    client: KubeClient.fromKubeConfig(kc),
    requests,
    discovery: discoveryRequests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** Send `obj` as JSON with status `code`. */
export function reply(res: http.ServerResponse, obj: unknown, code = 200): true {
  res.statusCode = code;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(obj));
  return true;
}
