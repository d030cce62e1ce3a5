// Free TCP ports on 127.0.0.1 for the control plane's listeners: bind port 0, read the port the
// kernel chose, close. Another process may grab it before the component binds it; cluster.ts
// retries the whole start with fresh ports when a component reports `address already in use`.
import { createServer } from 'node:net';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => {
        if (addr === null || typeof addr === 'string') reject(new Error('no TCP address'));
        else resolve(addr.port);
      });
    });
  });
}

/** `n` distinct free ports (all held open until every one is chosen, so they differ). */
export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}
