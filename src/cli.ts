// The `frappe-operator` command.
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
  let manager: Manager;
  try {
    manager = await buildManager(parseRunFlags(argv), controllers);
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

const USAGE = `usage: frappe-operator run [--metrics-bind-address=:8443] [--health-probe-bind-address=:8081]
                          [--leader-elect=true] [--metrics-cert-dir=DIR]
       frappe-operator dev    the local playground: a control plane on 127.0.0.1, the operator,
                              the sample bench; Ctrl-C stops everything (needs Go and a checkout)
       frappe-operator backup-agent upload|download|list|verify|prune [flags]
                              the backup agent of backup and restore Jobs (\`backup-agent help\`)`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return runCommand(rest, CONTROLLERS);
    case 'dev': {
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
    default:
      process.stderr.write(`${USAGE}\n`);
      return 2;
  }
}

if (import.meta.main) {
  // Exit explicitly: keep-alive sockets and timers must not keep a finished operator alive.
  process.exit(await main(process.argv.slice(2)));
}
