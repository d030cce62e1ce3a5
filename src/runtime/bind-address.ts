// Bind addresses of the manager's flags (`--metrics-bind-address=:8443`,
// `--health-probe-bind-address=:8081`), in controller-runtime's format: `[host]:port`, where an
// empty host means every interface, `[::1]:8443` names an IPv6 host, port 0 picks a free port
// (tests), and the single value `0` disables the server. Also the listen/close pair both of the
// manager's servers use.
import type http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BindAddress {
  /** undefined: every interface. */
  host: string | undefined;
  port: number;
}

/** The address to listen on, or undefined when the server is disabled (`0`). */
export function parseBindAddress(flag: string, value: string): BindAddress | undefined {
  if (value === '0') return undefined;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || port > 65535) {
    throw new Error(`--${flag}=${value}: expected [host]:port (e.g. :8443), or 0 to disable`);
  }
  const host = m[1] ?? m[2];
  return { host: host === '' ? undefined : host, port };
}

/** Listen on `addr`; resolves with the bound address (the real port when 0 was asked for). */
export function listen(server: http.Server, addr: BindAddress): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(addr.port, addr.host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Stop accepting connections, let requests in flight finish, drop idle keep-alive sockets. */
export function close(server: http.Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve, reject) => {
    server.close((err) => {
      if (err === undefined) resolve();
      else reject(err);
    });
    server.closeIdleConnections();
  });
}
