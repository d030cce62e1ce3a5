// Readiness probes for the control plane's components: an HTTP(S) GET with a short timeout, and
// a polling wait that fails fast when a component died and, on timeout, quotes its log.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Supervisor } from './supervisor.ts';

export interface HttpResult {
  status: number;
  body: string;
}

/** GET `url`; `ca` verifies the server, `insecure` skips it (self-signed kcm/scheduler certs). */
export function httpGet(url: string, opts: { ca?: string; insecure?: boolean } = {}) {
  return new Promise<HttpResult>((resolve, reject) => {
    const u = new URL(url);
    const req =
      u.protocol === 'https:'
        ? httpsRequest(u, {
            ...(opts.ca === undefined ? {} : { ca: opts.ca }),
            rejectUnauthorized: opts.insecure !== true,
            timeout: 2000,
          })
        : httpRequest(u, { timeout: 2000 });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.end();
  });
}

/**
 * Polls `check` (which throws while not ready) until it passes. Fails at once if any supervised
 * process exited on its own, and after `timeoutMs` with the last error and the last 40 lines of
 * `component`'s log.
 */
export async function waitUntil(
  sup: Supervisor,
  component: string,
  what: string,
  timeoutMs: number,
  check: () => Promise<void>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string;
  for (;;) {
    const died = sup.failure();
    if (died !== undefined) throw died;
    try {
      await check();
      return;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${component}: ${what} not reached within ${timeoutMs / 1000} s (last: ${last}); ` +
          `last lines of ${sup.logPath(component)}:\n${sup.tail(component)}`,
      );
    }
    await sleep(200);
  }
}
