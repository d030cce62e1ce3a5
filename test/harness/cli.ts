// The harness's commands (the local playground is `frappe-operator dev`, src/dev/playground.ts):
//   build    build the control plane's binaries, the backup tests' S3 server (Versity
//            Gateway) and the chart tests' helm ahead of time (with progress);
//   cluster  the bare control plane (src/dev/cluster.ts): print how to reach it, also for the
//            integration tests, and keep it running until Ctrl-C (or SIGTERM), then stop it
//            cleanly;
//   image    build the operator's container image with podman (test/harness/image.ts): the
//            Dockerfile's base images made locally and cached, then `podman build --pull=never`.
import { ensureBinaries, ensureGoTool, TEST_TOOLS } from '../../src/dev/build.ts';
import { startCluster } from '../../src/dev/cluster.ts';
import { clusterEnv } from './env.ts';
import { buildOperatorImage, requireImageTools } from './image.ts';

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
      `export ${Object.entries(clusterEnv(cluster))
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
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
      for (const tool of TEST_TOOLS)
        say(`${tool.name} ready (${await ensureGoTool(tool, { log: say })})`);
      return;
    }
    case 'cluster':
      await bareCluster();
      return;
    case 'image': {
      await requireImageTools();
      const image = await buildOperatorImage((l) => {
        process.stderr.write(`[image] ${l}\n`);
      });
      process.stdout.write(`${image.tag} ${image.id}\n`);
      return;
    }
    default:
      throw new Error(
        `usage: node test/harness/cli.ts build|cluster|image (got ${cmd ?? 'nothing'})`,
      );
  }
}

main(process.argv[2]).catch((e: unknown) => {
  say(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
