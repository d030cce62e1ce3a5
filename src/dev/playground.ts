// The local playground, `frappe-operator dev` (`npm start`): the main job on a fresh machine in
// one command.
//
//   1. the control plane (binaries built on first use, with progress), as ./cluster.ts starts it;
//   2. our CRDs and the fixture CRDs the samples need (KEDA, MariaDB);
//   3. the operator as a child process — `src/cli.ts run` with every controller of CONTROLLERS,
//      leader election on, as the install bundle's ServiceAccount with its RBAC, JSON logs to
//      <work dir>/logs/frappe-operator.log — run by ./supervisor.ts (own process group,
//      pid file, SIGTERM then SIGKILL);
//   4. namespace `playground` (restricted Pod Security) with config/samples/frappebench.yaml, and
//      config/samples/frappesite.yaml once the operator runs a FrappeSite controller;
//   5. a progress line at every change of the bench's status (phase, conditions, replicas) until
//      it has settled — Ready, every component at its replicas (./progress.ts) —
//      and after (a `kubectl patch` from another shell shows up here), then how to use it;
//   6. on Ctrl-C (SIGINT, SIGTERM, SIGHUP): the operator, then the control plane, stopped by pid,
//      and the work dir deleted.
import { fileURLToPath } from 'node:url';
import { API_VERSION, KIND, type FrappeBench } from '../api/v1alpha1/index.ts';
import { CONTROLLER_NAME as BENCH_CONTROLLER } from '../controllers/bench/index.ts';
import { OPERATOR_NODE_OPTIONS } from '../deploy/names.ts';
import { KubeClient } from '../kube/client.ts';
import { Informer } from '../kube/informer.ts';
import { KubeConfig } from '../kube/kubeconfig.ts';
import { stderrLogger } from '../kube/logger.ts';
import { benchLine, benchSettled } from './progress.ts';
import { startCluster, type Cluster } from './cluster.ts';
import { loadPatch, PATCHES } from './guide/guide.ts';
import { waitForAll } from './informer-wait.ts';
import { kubectl } from './kubectl.ts';
import { waitForLog, type LogLine } from './operator-log.ts';
import {
  createOperatorIdentity,
  installCrds,
  OPERATOR_NAMESPACE,
  readSample,
  RESTRICTED_PSS,
  SAMPLES_DIR,
} from './operator-setup.ts';
import { Supervisor } from './supervisor.ts';
import { K8S_VERSION } from './versions.ts';

const NAMESPACE = 'playground';
const OPERATOR = 'frappe-operator';
const CLI = fileURLToPath(new URL('../cli.ts', import.meta.url));
/** A FrappeSite controller registers under this name, as the bench's is `frappebench`. */
const SITE_CONTROLLER = KIND.FrappeSite.toLowerCase();
const START_TIMEOUT_MS = 60_000;
const READY_TIMEOUT_MS = 10 * 60_000;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

type Say = (line: string) => void;

/**
 * Runs the playground until a signal has stopped everything; rejects (after stopping everything)
 * if it cannot start.
 */
export async function runPlayground(say: Say): Promise<void> {
  const cluster = await startCluster({ log: say });
  const operator = new Supervisor(cluster.workDir, say);
  const informers: Informer<FrappeBench>[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await Promise.all(informers.map((i) => i.stop()));
      await operator.stopAll();
      await cluster.stop();
    })();
    return stopping;
  };
  // cluster.ts stops the control plane on these signals too; the operator goes first here, and
  // its graceful shutdown (drain, release the Lease) takes well under the seconds the cluster
  // needs to reach kube-apiserver in its reverse-order stop.
  const received: { signal?: NodeJS.Signals } = {};
  const stoppedBySignal = Promise.withResolvers<undefined>();
  const onSignal = (sig: NodeJS.Signals): void => {
    received.signal = sig;
    say(`${sig}: stopping the operator and the control plane…`);
    void stop().then(() => {
      say('stopped');
      stoppedBySignal.resolve(undefined);
    });
  };
  const killOperator = (): void => {
    operator.killAllSync();
  };
  for (const s of SIGNALS) process.on(s, onSignal);
  process.on('exit', killOperator);
  try {
    await setUp(cluster, operator, informers, say);
  } catch (e) {
    await stop();
    // A signal while starting pulls everything from under setUp, which then fails; that is the
    // stop asked for, not an error.
    if (received.signal !== undefined) return;
    throw e;
  }
  await stoppedBySignal.promise;
}

async function setUp(
  cluster: Cluster,
  operator: Supervisor,
  informers: Informer<FrappeBench>[],
  say: Say,
): Promise<void> {
  await installCrds(cluster, ['keda', 'mariadb']);
  say('CRDs installed: FrappeBench, FrappeSite, SiteBackup, SiteJob; fixtures KEDA, MariaDB');

  const identity = await createOperatorIdentity(cluster);
  await operator.start(
    OPERATOR,
    process.execPath,
    [
      CLI,
      'run',
      '--leader-elect=true',
      '--metrics-bind-address=127.0.0.1:0',
      '--health-probe-bind-address=127.0.0.1:0',
    ],
    {
      ...process.env,
      KUBECONFIG: identity.kubeconfigPath,
      FRAPPE_OPERATOR_NAMESPACE: OPERATOR_NAMESPACE,
      NODE_OPTIONS: OPERATOR_NODE_OPTIONS,
    },
  );
  const logPath = operator.logPath(OPERATOR);
  const started = await waitForLog(operator, OPERATOR, 'controllers started', START_TIMEOUT_MS);
  const controllers = Array.isArray(started.controllers) ? started.controllers.map(String) : [];
  const health = await waitForLog(operator, OPERATOR, 'serving health probes', START_TIMEOUT_MS);
  say(
    `operator started (pid ${String(operator.pid(OPERATOR))}, ${identity.username}, leader of ` +
      `${OPERATOR_NAMESPACE}); controllers: ${controllers.join(', ') || 'none'}`,
  );
  if (!controllers.includes(BENCH_CONTROLLER)) {
    throw new Error(
      `the operator runs no ${BENCH_CONTROLLER} controller, so the sample bench would never be ` +
        'reconciled: register setupBenchController in CONTROLLERS (src/cli.ts)',
    );
  }

  await kubectl(cluster, ['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: NAMESPACE, labels: RESTRICTED_PSS },
    }),
  });
  const bench = await readSample('frappebench.yaml');
  const name = bench.metadata.name ?? '';
  await kubectl(cluster, ['apply', '-f', `${SAMPLES_DIR}frappebench.yaml`], {
    namespace: NAMESPACE,
  });
  say(`applied config/samples/frappebench.yaml: FrappeBench ${NAMESPACE}/${name}`);

  const client = KubeClient.fromKubeConfig(KubeConfig.fromFiles([cluster.kubeconfigPath]), {
    userAgent: 'frappe-playground',
  });
  const benches = new Informer<FrappeBench>(client, {
    apiVersion: API_VERSION,
    kind: KIND.FrappeBench,
    namespace: NAMESPACE,
    logger: stderrLogger,
  });
  informers.push(benches);
  benches.start();
  const since = Date.now();
  let last = '';
  const report = (): void => {
    const b = benches.get(NAMESPACE, name);
    const line = b === undefined ? `${name}: not seen yet` : benchLine(b);
    if (line === last) return;
    last = line;
    say(`+${String(Math.round((Date.now() - since) / 1000))}s ${line}`);
  };
  // Kept after Ready: a `kubectl patch` from another shell shows its progress here.
  benches.addEventHandler({ add: report, update: report, delete: report });
  await waitForAll({
    what: `FrappeBench ${NAMESPACE}/${name} Ready`,
    keys: [name],
    informers: [benches],
    done: (n) => benchSettled(benches.get(NAMESPACE, n)),
    describe: (n) => {
      const b = benches.get(NAMESPACE, n);
      return b === undefined ? 'not seen' : benchLine(b);
    },
    failure: () => operator.failure(),
    timeoutMs: READY_TIMEOUT_MS,
  });
  say(
    `Ready: FrappeBench ${NAMESPACE}/${name}, every component at its replicas, after ` +
      formatSeconds(Date.now() - since),
  );

  if (controllers.includes(SITE_CONTROLLER)) {
    await kubectl(cluster, ['apply', '-f', `${SAMPLES_DIR}frappesite.yaml`], {
      namespace: NAMESPACE,
    });
    say(`applied config/samples/frappesite.yaml (kubectl get frappesite -n ${NAMESPACE} -w)`);
  } else {
    say('no FrappeSite controller registered yet: config/samples/frappesite.yaml not applied');
  }
  process.stdout.write(await usage(cluster, name, logPath, operator, health));
}

function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

async function usage(
  cluster: Cluster,
  bench: string,
  operatorLog: string,
  operator: Supervisor,
  health: LogLine,
): Promise<string> {
  const port = (health.address as { port?: number } | undefined)?.port;
  const patches = await Promise.all(
    PATCHES.filter((p) => p.resource === 'frappebench').map(async (p) => {
      const body = JSON.stringify(JSON.parse(await loadPatch(p)));
      return `kubectl patch frappebench ${bench} -n ${NAMESPACE} --type=merge -p '${body}'`;
    }),
  );
  return [
    '',
    'The playground is running. From another shell:',
    '',
    `  export KUBECONFIG=${cluster.kubeconfigPath}`,
    `  export PATH=${cluster.binDir}:$PATH   # kubectl ${K8S_VERSION}, as the API server`,
    '',
    '  kubectl get frappe -A',
    `  kubectl get frappebench ${bench} -n ${NAMESPACE} -o jsonpath='{.status.componentScaling}'`,
    `  kubectl get deployments,hpa,scaledobjects,pods -n ${NAMESPACE}`,
    '',
    "  # the Operations Guide's patches (vertical scaling, version upgrade, apps):",
    ...patches.map((p) => `  ${p}`),
    `  kubectl rollout status deployment/${bench}-gunicorn -n ${NAMESPACE}`,
    '',
    `operator: pid ${String(operator.pid(OPERATOR))}, JSON logs in ${operatorLog}` +
      (port === undefined ? '' : `, health http://127.0.0.1:${String(port)}/readyz`),
    `control plane: ${cluster.server}, logs in ${cluster.logsDir}/, audit log ${cluster.auditLogPath}`,
    `Ctrl-C stops the operator and the control plane and deletes ${cluster.workDir}.`,
    '',
  ].join('\n');
}
