// The manager's health probes, as controller-runtime serves them on
// `--health-probe-bind-address` (default :8081), plain HTTP for the kubelet:
//
//   /healthz  200 while the process is alive and every liveness check passes
//   /readyz   200 only when every readiness check passes — the manager registers "informers
//             synced", so a replica reports ready once its caches have listed everything
//
// Failures answer 500 with one line per check (`[+]name ok` / `[-]name failed: reason`), the
// format of the Kubernetes components; `?verbose` shows the lines on success too.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { close, listen, type BindAddress } from './bind-address.ts';
import { noopLogger, type Logger } from '../kube/logger.ts';

/** A check: undefined when healthy, else why not. */
export type HealthCheck = () => string | undefined;

type Probe = 'healthz' | 'readyz';

export class HealthServer {
  readonly #address: BindAddress;
  readonly #log: Logger;
  readonly #checks: Record<Probe, Map<string, HealthCheck>> = {
    healthz: new Map([['ping', () => undefined]]),
    readyz: new Map([['ping', () => undefined]]),
  };
  readonly #server: http.Server;

  constructor(opts: { address: BindAddress; logger?: Logger }) {
    this.#address = opts.address;
    this.#log = (opts.logger ?? noopLogger).child({ server: 'health' });
    this.#server = http.createServer((req, res) => {
      this.#handle(req, res);
    });
  }

  addHealthzCheck(name: string, check: HealthCheck): void {
    this.#checks.healthz.set(name, check);
  }

  addReadyzCheck(name: string, check: HealthCheck): void {
    this.#checks.readyz.set(name, check);
  }

  async start(): Promise<AddressInfo> {
    const bound = await listen(this.#server, this.#address);
    this.#log.info({ address: bound }, 'serving health probes');
    return bound;
  }

  stop(): Promise<void> {
    return close(this.#server);
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://probe');
    const probe = url.pathname.slice(1);
    if (probe !== 'healthz' && probe !== 'readyz') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
      return;
    }
    const lines: string[] = [];
    let failed = false;
    for (const [name, check] of this.#checks[probe]) {
      let reason: string | undefined;
      try {
        reason = check();
      } catch (e) {
        reason = `check threw: ${(e as Error).message}`;
      }
      if (reason === undefined) {
        lines.push(`[+]${name} ok`);
      } else {
        failed = true;
        lines.push(`[-]${name} failed: ${reason}`);
      }
    }
    if (failed) {
      this.#log.debug({ probe, checks: lines }, 'probe failed');
      res
        .writeHead(500, { 'content-type': 'text/plain' })
        .end(`${lines.join('\n')}\n${probe} check failed\n`);
    } else {
      res
        .writeHead(200, { 'content-type': 'text/plain' })
        .end(
          url.searchParams.has('verbose') ? `${lines.join('\n')}\n${probe} check passed\n` : 'ok',
        );
    }
  }
}
