// A TCP proxy in front of the test API server, so a test can break the connection between our
// client and the server on demand: `cut()` resets every open connection (a watch cut
// mid-stream); `pause()` also holds new connections until `resume()` (the server unreachable
// for a while, without touching the shared control plane). TLS passes through untouched: the
// server certificate is for 127.0.0.1, which is where the proxy listens.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../../../src/kube/client.ts';

export interface ApiProxy {
  /** A client whose every request goes through the proxy. */
  client: KubeClient;
  cut(): void;
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

export async function apiProxy(kc: KubeConfig): Promise<ApiProxy> {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error('kubeconfig without a current cluster');
  const target = new URL(cluster.server);
  const sockets = new Set<net.Socket>();
  let held: net.Socket[] = [];
  let paused = false;

  const connect = (down: net.Socket): void => {
    const up = net.connect(Number(target.port), target.hostname);
    sockets.add(down).add(up);
    const forget = (): void => {
      sockets.delete(down);
      sockets.delete(up);
      down.destroy();
      up.destroy();
    };
    down.on('close', forget).on('error', forget);
    up.on('close', forget).on('error', forget);
    down.pipe(up).pipe(down);
  };
  const server = net.createServer((down) => {
    if (paused) held.push(down);
    else connect(down);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const proxied = new KubeConfig();
  proxied.loadFromString(kc.exportConfig());
  const c = proxied.getCurrentCluster();
  if (c === null) throw new Error('kubeconfig copy without a current cluster');
  // KubeConfig's clusters are read-only objects; replace the current one with the proxy's URL.
  proxied.clusters = proxied.clusters.map((x) =>
    x.name === c.name ? { ...x, server: `https://127.0.0.1:${String(port)}` } : x,
  );

  const cut = (): void => {
    for (const s of sockets) s.resetAndDestroy();
  };
  return {
    client: KubeClient.fromKubeConfig(proxied),
    cut,
    pause: () => {
      paused = true;
      cut();
    },
    resume: () => {
      paused = false;
      const waiting = held;
      held = [];
      for (const s of waiting) connect(s);
    },
    close: async () => {
      cut();
      for (const s of held) s.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  };
}
