// The `frappe-operator` command (docs/cli.md). Every subcommand takes `--help` / `-h` (usage on
// stdout, exit 0); an unknown subcommand or flag prints the usage on stderr and exits with 2,
// naming the offending word.
//
//   frappe-operator run [--metrics-bind-address=:8443] [--health-probe-bind-address=:8081]
//                       [--leader-elect=true] [--metrics-cert-dir=DIR]
//
// `run` reads the operator configuration (ConfigMap + FRAPPE_* env; any invalid value stops
// start-up with an error naming it), builds the manager with the controllers of CONTROLLERS,
// and runs until SIGTERM/SIGINT (graceful: exit 0; a second signal exits at once with 1) or
// until leadership is lost (exit 1 at once, as controller-runtime does). Flags use Go's syntax
// (`--flag=value`, `--flag value`, a bare `--leader-elect` meaning true), as kubebuilder's
// manifests pass them.
//
//   frappe-operator render -f FILE [-f FILE ...] [--namespace NS] [--config FILE] [--no-keda]
//   frappe-operator crds
//
// `render` prints, offline, the children the operator would create for the manifests it is
// given; `crds` prints our CustomResourceDefinitions (src/render/index.ts). Both are loaded only
// for those commands: they load the API schemas, which the operator itself never does.
//
//   frappe-operator dev
//
// `dev` is the local playground (src/dev, loaded only for it; it needs a source checkout and Go).
//
//   frappe-operator backup-agent upload|download|list|verify|prune [flags]
//
// `backup-agent` is what backup, SiteJob and restore Jobs run from the operator's image
// (src/agent/index.ts); it is loaded only for that command, so the operator itself never loads
// the agent or the S3 SDK.
import { parseArgs } from 'node:util';
import { parseBindAddress } from './runtime/bind-address.ts';
import { fetchOperatorConfigMapData, OperatorConfigHolder } from './config/holder.ts';
import { operatorNamespace } from './config/namespace.ts';
import { watchOperatorConfig } from './config/watch.ts';
import { setupBenchController } from './controllers/bench/index.ts';
import { setupSiteController } from './controllers/site/index.ts';
import { setupSiteBackupController } from './controllers/backup/index.ts';
import { setupSiteJobController } from './controllers/sitejob/index.ts';
import { KubeClient } from './kube/client.ts';
import { flagProblem, wantsHelp } from './flags.ts';
import { log } from './log.ts';
import { Manager, type ManagedController } from './runtime/manager.ts';

/** Builds one controller (its informers and watches) on the manager, following `config`. */
export type ControllerSetup = (manager: Manager, config: OperatorConfigHolder) => ManagedController;

/** The operator's controllers: the single place where a controller is registered. */
export const CONTROLLERS: readonly ControllerSetup[] = [
  (manager, config) => setupBenchController(manager, config),
  (manager, config) => setupSiteController(manager, config),
  (manager, config) => setupSiteJobController(manager, config),
  (manager, config) => setupSiteBackupController(manager, config),
];

export interface RunFlags {
  metricsBindAddress: string;
  healthProbeBindAddress: string;
  leaderElect: boolean;
  metricsCertDir: string | undefined;
}

export function parseRunFlags(argv: readonly string[]): RunFlags {
  // parseArgs has no `--bool=false`; take booleans as strings, a bare flag meaning true.
  const args = argv.map((a) => (a === '--leader-elect' ? '--leader-elect=true' : a));
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      'metrics-bind-address': { type: 'string', default: ':8443' },
      'health-probe-bind-address': { type: 'string', default: ':8081' },
      'leader-elect': { type: 'string', default: 'true' },
      'metrics-cert-dir': { type: 'string' },
    },
  });
  const leaderElect = values['leader-elect'];
  if (leaderElect !== 'true' && leaderElect !== 'false') {
    throw new Error(`--leader-elect=${leaderElect}: expected true or false`);
  }
  const certDir = values['metrics-cert-dir'];
  return {
    metricsBindAddress: values['metrics-bind-address'],
    healthProbeBindAddress: values['health-probe-bind-address'],
    leaderElect: leaderElect === 'true',
    metricsCertDir: certDir === '' ? undefined : certDir,
  };
}

/** Read the configuration (fatal when invalid) and assemble the manager with `controllers`. */
export async function buildManager(
  flags: RunFlags,
  controllers: readonly ControllerSetup[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<Manager> {
  const namespace = operatorNamespace(env);
  const client = KubeClient.fromDefault(env);
  const { holder, unknownKeys } = OperatorConfigHolder.fromStartup({
    configMapData: await fetchOperatorConfigMapData(client, namespace),
    env,
  });
  log.level = holder.config.logLevel;
  if (unknownKeys.length > 0) {
    log.warn({ settings: unknownKeys }, 'unknown operator configuration keys ignored');
  }
  const watched = holder.config.watchNamespaces;
  if (watched.length > 0) log.info({ namespaces: watched }, 'watching these namespaces only');
  const manager = new Manager({
    client,
    namespace,
    namespaces: watched,
    leaderElection: flags.leaderElect ? {} : false,
    healthProbeAddress: parseBindAddress('health-probe-bind-address', flags.healthProbeBindAddress),
    metricsAddress: parseBindAddress('metrics-bind-address', flags.metricsBindAddress),
    metricsCertDir: flags.metricsCertDir,
    metricsAuthorization: holder.config.metricsAuth === 'tokenreview',
    logger: log,
  });
  const { cache, events } = manager;
  watchOperatorConfig(holder, { cache, events, logger: log, namespace });
  for (const setup of controllers) manager.addController(setup(manager, holder));
  return manager;
}

/** `frappe-operator run`: resolves with the process exit code. */
export async function runCommand(
  argv: readonly string[],
  controllers: readonly ControllerSetup[],
): Promise<number> {
  let flags: RunFlags;
  try {
    flags = parseRunFlags(argv);
  } catch (e) {
    process.stderr.write(`frappe-operator run: ${flagProblem(e)}\n\n${RUN_USAGE}\n`);
    return 2;
  }
  let manager: Manager;
  try {
    manager = await buildManager(flags, controllers);
    await manager.start();
  } catch (e) {
    log.error({ err: e }, 'start-up failed');
    return 1;
  }
  log.info({ identity: manager.identity, namespace: manager.namespace }, 'manager started');

  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    signalled = true;
    log.info({ signal }, 'signal received: shutting down');
    // The outcome (including a shutdown timeout) is reported through wait().
    void manager.stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await manager.wait();
    return 0;
  } catch (e) {
    log.error({ err: e }, 'manager failed');
    return 1;
  }
}

export const RUN_USAGE = `usage: frappe-operator run [--metrics-bind-address=ADDR] [--health-probe-bind-address=ADDR]
                           [--leader-elect=true|false] [--metrics-cert-dir=DIR]

Runs the operator: the controllers of FrappeBench, FrappeSite, SiteBackup and SiteJob, with the
configuration of ConfigMap frappe-operator-config and FRAPPE_* env (docs/cli.md).

  --metrics-bind-address=ADDR        metrics endpoint (HTTPS); "0" disables it (default :8443)
  --health-probe-bind-address=ADDR   /healthz and /readyz; "0" disables it (default :8081)
  --leader-elect=true|false          leader election, for several replicas (default true)
  --metrics-cert-dir=DIR             tls.crt and tls.key of the metrics endpoint (default: a
                                     self-signed certificate)
  -h, --help                         this help

Exit codes: 0 stopped by SIGTERM/SIGINT; 1 start-up failed or leadership lost; 2 usage error.`;

const DEV_USAGE = `usage: frappe-operator dev

The local playground: a control plane on 127.0.0.1 (etcd, kube-apiserver, controller-manager,
scheduler, kwok), the operator, the sample bench and a site; Ctrl-C stops everything. Needs Go and
a source checkout (\`npm start\`).

  -h, --help   this help`;

const USAGE = `usage: frappe-operator run [--metrics-bind-address=:8443] [--health-probe-bind-address=:8081]
                          [--leader-elect=true] [--metrics-cert-dir=DIR]
                              the operator (the manager of the install bundle)
       frappe-operator render -f FILE [-f FILE ...] [--namespace NS] [--config FILE] [--no-keda]
                              print, offline, the objects the operator creates for the manifests
       frappe-operator crds   print the CRDs (frappe-operator crds | kubectl apply --server-side -f -)
       frappe-operator dev    the local playground: a control plane on 127.0.0.1, the operator,
                              the sample bench; Ctrl-C stops everything (needs Go and a checkout)
       frappe-operator backup-agent upload|download|list|verify|prune [flags]
                              the backup agent of backup and restore Jobs
       frappe-operator help   this list; frappe-operator COMMAND --help: a command's flags`;

function usageError(command: string, problem: string, usage: string): number {
  process.stderr.write(
    `frappe-operator${command === '' ? '' : ` ${command}`}: ${problem}\n\n${usage}\n`,
  );
  return 2;
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      if (wantsHelp(rest)) {
        process.stdout.write(`${RUN_USAGE}\n`);
        return 0;
      }
      return runCommand(rest, CONTROLLERS);
    case 'render': {
      // Imported only here: render and crds load the API schemas, the operator never does.
      const { renderCommand } = await import('./render/index.ts');
      return renderCommand(rest);
    }
    case 'crds': {
      const { crdsCommand } = await import('./render/index.ts');
      return crdsCommand(rest);
    }
    case 'dev': {
      if (wantsHelp(rest)) {
        process.stdout.write(`${DEV_USAGE}\n`);
        return 0;
      }
      const [word] = rest;
      if (word !== undefined) {
        const problem = word.startsWith('-')
          ? `unknown flag ${word}`
          : `unexpected argument ${word}`;
        return usageError('dev', problem, DEV_USAGE);
      }
      // Imported only here: the operator itself never loads the local control plane's code.
      const { runPlayground } = await import('./dev/playground.ts');
      const say = (line: string): boolean => process.stderr.write(`[playground] ${line}\n`);
      try {
        await runPlayground(say);
        return 0;
      } catch (e) {
        say(e instanceof Error ? e.message : String(e));
        return 1;
      }
    }
    case 'backup-agent': {
      // Imported only here: the operator never loads the agent or the S3 SDK.
      const { backupAgent } = await import('./agent/index.ts');
      return backupAgent(rest);
    }
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    case undefined:
      return usageError('', 'no command', USAGE);
    default:
      return usageError(
        '',
        `${command.startsWith('-') ? 'unknown flag' : 'unknown command'} ${command}`,
        USAGE,
      );
  }
}

if (import.meta.main) {
  // Exit explicitly: keep-alive sockets and timers must not keep a finished operator alive.
  process.exit(await main(process.argv.slice(2)));
}
