// `npm run cluster:build` / `npm run cluster`: build the test control plane ahead of time, or
// start it as a playground (prints KUBECONFIG, runs until Ctrl-C, then stops cleanly).
import { ensureBinaries } from './build.ts';

async function main(cmd: string | undefined): Promise<void> {
  switch (cmd) {
    case 'build': {
      const b = await ensureBinaries();
      process.stdout.write(`test control plane binaries ready: ${b.kubeApiserver} …\n`);
      return;
    }
    default:
      throw new Error(`usage: node test/harness/cli.ts build|start (got ${cmd ?? 'nothing'})`);
  }
}

main(process.argv[2]).catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
