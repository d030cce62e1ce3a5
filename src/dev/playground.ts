// The local playground, `frappe-operator dev` (`npm start`): the main job on a fresh machine in
// one command.
//
//   1. the control plane (binaries built on first use, with progress), as ./cluster.ts starts it;
//   2. our CRDs and the fixture CRDs the samples need (KEDA, MariaDB);
//   3. the operator as a child process — `src/cli.ts run` with every controller of CONTROLLERS,
//      leader election on, as the install bundle's ServiceAccount with its RBAC, JSON logs to
//      <work dir>/logs/frappe-operator.log — run by ./supervisor.ts (own process group,
//      pid file, SIGTERM then SIGKILL);
//   4. namespace `playground` (restricted Pod Security) with config/samples/frappebench.yaml;
//   5. a progress line at every change of the bench's status (phase, conditions, replicas) until
//      it has settled — Ready, every component at its replicas (./progress.ts);
//   6. then FrappeSite `erp` on it — the external database provider, with a connection Secret
//      the playground generates, since no MariaDB Operator runs here — and a progress line at
//      every change of its status (phase, Ready's reason and message) until it is Ready;
//   7. how to use them: kubectl, the site's URL and how one would reach it, the guide's patches.
//      Progress lines go on after Ready: a `kubectl patch` from another shell shows up here;
//   8. on Ctrl-C (SIGINT, SIGTERM, SIGHUP): the operator, then the control plane, stopped by pid,
//      and the work dir deleted.
import { fileURLToPath } from 'node:url';
import { API_VERSION, KIND, type FrappeBench, type FrappeSite } from '../api/v1alpha1/index.ts';
import { CONTROLLER_NAME as BENCH_CONTROLLER } from '../controllers/bench/index.ts';
import { CONTROLLER_NAME as SITE_CONTROLLER } from '../controllers/site/index.ts';
import { randomPassword } from '../controllers/site/secrets.ts';
import { OPERATOR_NODE_OPTIONS } from '../deploy/names.ts';
import { KubeClient, type KubeObject } from '../kube/client.ts';
import { Informer, type Stored } from '../kube/informer.ts';
import { KubeConfig } from '../kube/kubeconfig.ts';
import { stderrLogger } from '../kube/logger.ts';
import { startCluster, type Cluster } from './cluster.ts';
import { loadPatch, PATCHES, type PatchFixture } from './guide/guide.ts';
import { describeBy, waitForAll } from './informer-wait.ts';
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
import { benchLine, benchSettled, siteLine, siteReady } from './progress.ts';
import { Supervisor } from './supervisor.ts';
import { K8S_VERSION } from './versions.ts';

const NAMESPACE = 'playground';
const OPERATOR = 'frappe-operator';
const CLI = fileURLToPath(new URL('../cli.ts', import.meta.url));
/** The example site: its name, the Host it serves, its database's host and connection Secret. */
const SITE = 'erp';
const SITE_HOST = 'erp.localhost';
const DB_HOST = `mariadb.${NAMESPACE}.svc.cluster.local`;
const DB_SECRET = 'erp-db';
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
  const informers: { stop(): Promise<void> }[] = [];
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
  informers: { stop(): Promise<void> }[],
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
  const follow = <T extends KubeObject>(
    kind: string,
    key: string,
    line: (obj: T) => string,
    done: (obj: T | undefined) => boolean,
  ): Promise<number> => {
    const informer = new Informer<T>(client, {
      apiVersion: API_VERSION,
      kind,
      namespace: NAMESPACE,
      logger: stderrLogger,
    });
    informers.push(informer);
    return untilDone(informer, key, line, done, () => operator.failure(), say);
  };
  const benchSince = await follow<FrappeBench>(KIND.FrappeBench, name, benchLine, benchSettled);
  say(
    `Ready: FrappeBench ${NAMESPACE}/${name}, every component at its replicas, after ` +
      formatSeconds(Date.now() - benchSince),
  );

  if (!controllers.includes(SITE_CONTROLLER)) {
    say('no FrappeSite controller registered: no example site');
    process.stdout.write(await usage(cluster, name, undefined, logPath, operator, health));
    return;
  }
  await kubectl(cluster, ['apply', '--server-side', '-f', '-'], {
    namespace: NAMESPACE,
    input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: exampleSite(name) }),
  });
  say(
    `applied FrappeSite ${NAMESPACE}/${SITE} (siteName ${SITE_HOST}) on ${name}: the external ` +
      `database provider at ${DB_HOST}, credentials in Secret ${DB_SECRET} (generated here). ` +
      "kwok runs no containers: the site-init Job's pod is marked complete without running " +
      '`bench new-site`, and nothing connects to that host, so no MariaDB is needed',
  );
  const siteSince = await follow<FrappeSite>(KIND.FrappeSite, SITE, siteLine, siteReady);
  say(`Ready: FrappeSite ${NAMESPACE}/${SITE} after ${formatSeconds(Date.now() - siteSince)}`);
  const site = await client.get<FrappeSite>(API_VERSION, KIND.FrappeSite, NAMESPACE, SITE);
  process.stdout.write(
    await usage(cluster, name, site?.status?.siteURL ?? '', logPath, operator, health),
  );
}

/**
 * Starts `informer` with a progress line (`+Ns line(obj)`) at every change of its objects — kept
 * after the wait, so a `kubectl patch` from another shell shows up here — and waits until its
 * object `name` is `done`; resolves with when it started.
 */
async function untilDone<T extends KubeObject>(
  informer: Informer<T>,
  name: string,
  line: (obj: T) => string,
  done: (obj: T | undefined) => boolean,
  failure: () => Error | undefined,
  say: Say,
): Promise<number> {
  const what = `${informer.kind} ${NAMESPACE}/${name}`;
  const since = Date.now();
  const last = new Map<string, string>();
  const report = (obj: Stored<T>, deleted = false): void => {
    const text = deleted ? `${what}: deleted` : line(obj);
    if (last.get(obj.metadata.name) === text) return;
    last.set(obj.metadata.name, text);
    say(`+${String(Math.round((Date.now() - since) / 1000))}s ${text}`);
  };
  informer.addEventHandler({
    add: (obj) => {
      report(obj);
    },
    update: (_old, obj) => {
      report(obj);
    },
    delete: (obj) => {
      report(obj, true);
    },
  });
  informer.start();
  await waitForAll({
    what: `${what} Ready`,
    keys: [name],
    informers: [informer],
    done: (n) => done(informer.get(NAMESPACE, n)),
    describe: describeBy((n) => informer.get(NAMESPACE, n), line),
    failure,
    timeoutMs: READY_TIMEOUT_MS,
  });
  return since;
}

/**
 * The example site on `bench`, and its database connection Secret (a generated password; no
 * `host` key: `dbConfig.host` says it). Applied server-side, so no last-applied annotation
 * keeps a copy of the password.
 */
function exampleSite(bench: string): KubeObject[] {
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: DB_SECRET },
    type: 'Opaque',
    stringData: { username: SITE, password: randomPassword(24) },
  };
  const site: FrappeSite = {
    apiVersion: API_VERSION,
    kind: KIND.FrappeSite,
    metadata: { name: SITE },
    spec: {
      benchRef: { name: bench },
      siteName: SITE_HOST,
      apps: ['erpnext'],
      dbConfig: { provider: 'external', connectionSecretRef: { name: DB_SECRET }, host: DB_HOST },
    },
  };
  return [secret, site];
}

function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** The guide's patches of `resource`, as commands on `name` in the playground. */
async function patchCommands(resource: PatchFixture['resource'], name: string): Promise<string[]> {
  return Promise.all(
    PATCHES.filter((p) => p.resource === resource).map(async (p) => {
      const body = JSON.stringify(JSON.parse(await loadPatch(p)));
      return `  kubectl patch ${resource} ${name} -n ${NAMESPACE} --type=merge -p '${body}'`;
    }),
  );
}

async function usage(
  cluster: Cluster,
  bench: string,
  siteURL: string | undefined,
  operatorLog: string,
  operator: Supervisor,
  health: LogLine,
): Promise<string> {
  const port = (health.address as { port?: number } | undefined)?.port;
  const site =
    siteURL === undefined
      ? []
      : [
          '',
          `  # the site: ${siteURL} (status.siteURL), Ingress ${SITE}-ingress → Service ${bench}-nginx:8080.`,
          '  # On a real cluster, reach it past the Ingress with the Host it serves:',
          `  kubectl port-forward svc/${bench}-nginx 8080:8080 -n ${NAMESPACE} &`,
          `  curl -H 'Host: ${SITE_HOST}' http://127.0.0.1:8080/`,
          '  # Here port-forward fails (kwok runs no kubelet and no containers): nothing answers.',
          `  kubectl get frappesite ${SITE} -n ${NAMESPACE} -o wide`,
          `  kubectl get jobs,ingress,secrets -n ${NAMESPACE} -l site=${SITE}`,
          '',
          "  # the Operations Guide's traffic drain (the Ingress goes; IngressReady=False Disabled,",
          '  # the site stays Ready), then traffic back:',
          ...(await patchCommands('frappesite', SITE)),
        ];
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
    '  # the same objects from the manifest alone, offline (what to review in a pull request):',
    `  ./bin/frappe-operator render -f config/samples/frappebench.yaml -n ${NAMESPACE}`,
    '',
    "  # the Operations Guide's patches (vertical scaling, version upgrade, apps):",
    ...(await patchCommands('frappebench', bench)),
    `  kubectl rollout status deployment/${bench}-gunicorn -n ${NAMESPACE}`,
    ...site,
    '',
    `operator: pid ${String(operator.pid(OPERATOR))}, JSON logs in ${operatorLog}` +
      (port === undefined ? '' : `, health http://127.0.0.1:${String(port)}/readyz`),
    `control plane: ${cluster.server}, logs in ${cluster.logsDir}/, audit log ${cluster.auditLogPath}`,
    `Ctrl-C stops the operator and the control plane and deletes ${cluster.workDir}.`,
    '',
  ].join('\n');
}
