// helm (src/dev/build.ts ensureHelmBinary: built once into the cache, by test/run.ts before the
// tests start) against the test cluster of this run, with its own home: no repository, plugin
// or registry setting of the machine's user leaks in, and nothing is written to their home.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HELM } from '../../src/dev/build.ts';
import { run, type RunResult } from '../../src/dev/exec.ts';
import { testCluster } from './env.ts';
import { testTool } from './tools.ts';

export interface TestHelm {
  /** The binary. */
  path: string;
  /**
   * Runs `helm args` with the run's admin kubeconfig; rejects with helm's stderr on a non-zero
   * exit unless `allowFailure`.
   */
  run(args: string[], opts?: { allowFailure?: boolean }): Promise<RunResult>;
  /** Removes helm's home. */
  close(): Promise<void>;
}

export async function testHelm(): Promise<TestHelm> {
  const cluster = testCluster();
  const path = await testTool(HELM);
  const home = await mkdtemp(join(tmpdir(), 'frappe-helm-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
    KUBECONFIG: cluster.kubeconfigPath,
  };
  return {
    path,
    async run(args, opts = {}) {
      const res = await run(path, args, { env, allowFailure: true });
      if (res.code !== 0 && opts.allowFailure !== true) {
        throw new Error(`helm ${args.join(' ')} failed (exit ${res.code}): ${res.stderr.trim()}`);
      }
      return res;
    },
    close: () => rm(home, { recursive: true, force: true }),
  };
}
