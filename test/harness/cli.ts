// The harness's commands:
//   build    build the test control plane's binaries ahead of time (with progress);
//   start    the local playground (test/harness/playground.ts): control plane, operator, sample
//            bench, progress until Ready, how to use it; Ctrl-C stops everything;
//   cluster  the bare control plane: print how to reach it and keep it running until Ctrl-C (or
//            SIGTERM), then stop it cleanly.
import { join } from 'node:path';
import { ensureBinaries } from './build.ts';
import { startCluster } from './cluster.ts';
import { ENV } from './env.ts';
import { runPlayground } from './playground.ts';

function say(line: string): void {
  process.stderr.write(`[test-cluster] ${line}\n`);
}

async function bareCluster(): Promise<void> {
  const cluster = await startCluster({ log: say });
  const stop = (sig: NodeJS.Signals) => {
    say(`${sig}: stopping…`);
    void cluster.stop().then(() => {
      say('stopped');
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.stdout.write(
    [
      '',
      `export KUBECONFIG=${cluster.kubeconfigPath}`,
      `export PATH=${cluster.binDir}:$PATH   # kubectl of the same version`,
      '',
      '# to run integration tests against this cluster from another shell:',
      `export ${ENV.kubeconfig}=${cluster.kubeconfigPath} ${ENV.server}=${cluster.server} ${ENV.kubectl}=${join(cluster.binDir, 'kubectl')}`,
      '',
      `# logs: ${cluster.logsDir}/   audit log: ${cluster.auditLogPath}`,
      '# Ctrl-C stops the cluster and deletes its work dir.',
      '',
    ].join('\n'),
  );
}

async function main(cmd: string | undefined): Promise<void> {
  switch (cmd) {
    case 'build': {
      const b = await ensureBinaries({ log: say });
      say(`binaries ready (kube-apiserver: ${b.kubeApiserver})`);
      return;
    }
    case 'start':
      await runPlayground((line) => process.stderr.write(`[playground] ${line}\n`));
      return;
    case 'cluster':
      await bareCluster();
      return;
    default:
      throw new Error(
        `usage: node test/harness/cli.ts build|start|cluster (got ${cmd ?? 'nothing'})`,
      );
  }
}

main(process.argv[2]).catch((e: unknown) => {
  say(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
