// Bind addresses of the manager's flags (`--metrics-bind-address=:8443`,
// `--health-probe-bind-address=:8081`), in controller-runtime's format: `[host]:port`, where an
// empty host means every interface, `[::1]:8443` names an IPv6 host, port 0 picks a free port
// (tests), and the single value `0` disables the server.

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

export function formatBindAddress(a: { host: string | undefined; port: number }): string {
  if (a.host === undefined) return `:${a.port}`;
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
