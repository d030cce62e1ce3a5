// Starts a real, container-free Kubernetes control plane for tests, benchmarks and the local
// playground (TEST-CLUSTER.md §4–§7): etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok (playing every kubelet) as plain processes on 127.0.0.1 with free
// ports, generated PKI and an admin kubeconfig, all under
// os.tmpdir()/frappe-operator-test/<id>/. It stops exactly the processes it started, by pid, on
// stop(), on SIGINT/SIGTERM/SIGHUP and (SIGKILL, synchronously) on process exit; the next start
// reaps what a SIGKILLed run left behind.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ensureBinaries, formatDuration, type Binaries } from './build.ts';
import { run } from './exec.ts';
import {
  ADMISSION_CONFIG,
  AUDIT_EVERY_REQUEST_POLICY,
  AUDIT_POLICY,
  NODE_NAMES,
  STAGE_CRD,
  kwokStageFiles,
  nodesManifest,
  ownStageFiles,
} from './manifests.ts';
import { generatePki, type Pki } from './pki.ts';
import { freePorts } from './ports.ts';
import { httpGet, waitUntil } from './probe.ts';
import { reapStaleWorkDirs } from './reaper.ts';
import { Supervisor } from './supervisor.ts';

export interface Cluster {
  kubeconfigPath: string;
  server: string;
  workDir: string;
  /** Holds kubectl (same version as the apiserver). */
  binDir: string;
  kubectlPath: string;
  /** The cluster CA's certificate (PEM), which every kubeconfig for the cluster trusts. */
  caCertPath: string;
  /** Each component's log: <logsDir>/<component>.log. */
  logsDir: string;
  /** The apiserver audit log: every create/update/patch/delete at Metadata level (JSON lines). */
  auditLogPath: string;
  /** etcd's client URL (plain HTTP on 127.0.0.1), for writing behind the apiserver's back. */
  etcdUrl: string;
  /**
   * Stops the apiserver (SIGTERM, then SIGKILL) and starts it again on the same port and etcd;
   * `whileStopped` runs in between.
   */
  restartApiServer(whileStopped?: () => Promise<void>): Promise<void>;
  /** Stops every process in reverse order and deletes the work dir; idempotent. */
  stop(): Promise<void>;
}

export interface StartOptions {
  log?: (line: string) => void;
  /**
   * Audit every request (reads and watches too) at Metadata level, not only writes: for a test
   * that compares the verbs a client used with its RBAC. Audit logs grow fast then.
   */
  auditEveryRequest?: boolean;
  /** Admission plugins to enable besides the defaults, e.g. OwnerReferencesPermissionEnforcement. */
  admissionPlugins?: string[];
}

export const WORK_ROOT = join(tmpdir(), 'frappe-operator-test');
const ATTEMPTS = 3;

/** Clusters of this process that are not stopped yet, for the signal and exit handlers. */
const live = new Set<{ stop(): Promise<void>; killSync(): void }>();

export async function startCluster(opts: StartOptions = {}): Promise<Cluster> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`[test-cluster] ${line}\n`));
  const bins = await ensureBinaries({ log });
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(bins, log, opts);
    } catch (e) {
      if (attempt < ATTEMPTS && e instanceof PortTakenError) {
        log(`${e.message}; retrying with new ports`);
        continue;
      }
      throw e;
    }
  }
}

class PortTakenError extends Error {}

async function startOnce(
  bins: Binaries,
  log: (line: string) => void,
  opts: StartOptions,
): Promise<Cluster> {
  const started = Date.now();
  await mkdir(WORK_ROOT, { recursive: true });
  const workDir = await mkdtemp(join(WORK_ROOT, 'c-'));
  await writeFile(join(workDir, 'owner.pid'), `${process.pid}\n`);
  await reapStaleWorkDirs(WORK_ROOT, workDir, log);
  for (const d of ['pki', 'etcd', 'logs', 'pids', 'kwok-home', 'kubectl-cache']) {
    await mkdir(join(workDir, d), { recursive: true, mode: 0o700 });
  }
  const [etcdPort, peerPort, apiPort, kcmPort, schedPort] = await freePorts(5);
  if (
    etcdPort === undefined ||
    peerPort === undefined ||
    apiPort === undefined ||
    kcmPort === undefined ||
    schedPort === undefined
  ) {
    throw new Error('freePorts returned too few ports');
  }
  const server = `https://127.0.0.1:${apiPort}`;
  const logsDir = join(workDir, 'logs');
  const auditLogPath = join(logsDir, 'audit.log');
  const sup = new Supervisor(workDir, log);

  let stopping: Promise<void> | undefined;
  const handle = {
    stop(): Promise<void> {
      stopping ??= (async () => {
        await sup.stopAll();
        await rm(workDir, { recursive: true, force: true });
        live.delete(handle);
        syncHandlers();
      })();
      return stopping;
    },
    killSync(): void {
      sup.killAllSync();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
  live.add(handle);
  syncHandlers();

  try {
    const pki = await generatePki(join(workDir, 'pki'), server);
    const ca = await readFile(pki.caCert, 'utf8');
    const kubectl = (args: string[], input?: string) =>
      run(
        bins.kubectl,
        [
          `--kubeconfig=${pki.adminKubeconfig}`,
          `--cache-dir=${join(workDir, 'kubectl-cache')}`,
          ...args,
        ],
        input === undefined ? {} : { input },
      );

    // 1. etcd
    await sup.start('etcd', bins.etcd, etcdArgs(workDir, etcdPort, peerPort));
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    await waitUntil(sup, 'etcd', '/health', 30_000, async () => {
      const r = await httpGet(`${etcdUrl}/health`);
      if (!r.body.includes('"health":"true"')) throw new Error(`/health: ${r.status} ${r.body}`);
    });

    // 2. kube-apiserver
    await writeFile(join(workDir, 'admission.yaml'), ADMISSION_CONFIG);
    await writeFile(
      join(workDir, 'audit-policy.yaml'),
      opts.auditEveryRequest === true ? AUDIT_EVERY_REQUEST_POLICY : AUDIT_POLICY,
    );
    const apiArgs = [
      ...apiserverArgs(workDir, pki, etcdPort, apiPort, auditLogPath),
      ...(opts.admissionPlugins === undefined || opts.admissionPlugins.length === 0
        ? []
        : [`--enable-admission-plugins=${opts.admissionPlugins.join(',')}`]),
    ];
    const startApiserver = async () => {
      await sup.start('kube-apiserver', bins.kubeApiserver, apiArgs);
      await waitUntil(sup, 'kube-apiserver', '/readyz', 60_000, async () => {
        const r = await httpGet(`${server}/readyz`, { ca });
        if (r.status !== 200) throw new Error(`/readyz: ${r.status} ${r.body.slice(-300)}`);
      });
    };
    await startApiserver();
    log(`kube-apiserver ready at ${server} (${seconds(started)})`);

    // 3. kcm and scheduler (they need nothing else), while the kwok objects go in.
    await sup.start('kube-controller-manager', bins.kubeControllerManager, kcmArgs(pki, kcmPort));
    await sup.start('kube-scheduler', bins.kubeScheduler, controllerProcessArgs(pki, schedPort));
    await kubectl(['apply', '--server-side', '-f', join(bins.kwokKustomize, STAGE_CRD)]);
    // Not `kubectl wait`: it fails at once while a new CRD has no status.conditions yet.
    await waitUntil(sup, 'kube-apiserver', 'Stage CRD Established', 30_000, async () => {
      const r = await kubectl([
        'get',
        'customresourcedefinition/stages.kwok.x-k8s.io',
        '-o',
        'jsonpath={.status.conditions[?(@.type=="Established")].status}',
      ]);
      if (r.stdout !== 'True') throw new Error(`Established=${r.stdout || 'unknown'}`);
    });
    const objects = [...(await kwokStageFiles(bins.kwokKustomize)), ...(await ownStageFiles())];
    await kubectl(
      ['apply', '--server-side', ...objects.flatMap((f) => ['-f', f]), '-f', '-'],
      nodesManifest(),
    );

    // 4. kwok, then everything ready.
    await sup.start('kwok', bins.kwok, kwokArgs(pki), {
      ...process.env,
      KWOK_WORKDIR: join(workDir, 'kwok-home'),
    });
    const healthz = (component: string, port: number) =>
      waitUntil(sup, component, '/healthz', 60_000, async () => {
        const r = await httpGet(`https://127.0.0.1:${port}/healthz`, { insecure: true });
        if (r.status !== 200) throw new Error(`/healthz: ${r.status} ${r.body.slice(-300)}`);
      });
    await Promise.all([
      healthz('kube-controller-manager', kcmPort),
      healthz('kube-scheduler', schedPort),
      waitUntil(sup, 'kwok', `nodes ${NODE_NAMES.join(', ')} Ready`, 60_000, async () => {
        const r = await kubectl([
          'get',
          'nodes',
          '-o',
          'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
        ]);
        const ready = r.stdout.split('\n').filter((l) => l.endsWith('=True'));
        if (ready.length < NODE_NAMES.length)
          throw new Error(`nodes: ${r.stdout.trim() || 'none'}`);
      }),
      waitUntil(
        sup,
        'kube-controller-manager',
        'ServiceAccount default/default',
        60_000,
        async () => {
          await kubectl(['get', 'serviceaccount', 'default', '--namespace=default', '-o', 'name']);
        },
      ),
    ]);
    log(`test cluster up in ${seconds(started)} (work dir ${workDir})`);

    return {
      kubeconfigPath: pki.adminKubeconfig,
      server,
      workDir,
      binDir: dirname(bins.kubectl),
      kubectlPath: bins.kubectl,
      caCertPath: pki.caCert,
      logsDir,
      auditLogPath,
      etcdUrl,
      restartApiServer: async (whileStopped) => {
        await sup.stop('kube-apiserver');
        await whileStopped?.();
        await startApiserver();
      },
      stop: () => handle.stop(),
    };
  } catch (e) {
    const portTaken = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].some(
      (c) => sup.tail(c, 200).includes('address already in use'),
    );
    await handle.stop();
    if (portTaken)
      throw new PortTakenError('a picked port was taken by another process', { cause: e });
    throw e;
  }
}

function seconds(since: number): string {
  return formatDuration(Math.round((Date.now() - since) / 1000));
}

function etcdArgs(workDir: string, port: number, peer: number): string[] {
  return [
    '--name=node0',
    `--data-dir=${join(workDir, 'etcd')}`,
    `--listen-client-urls=http://127.0.0.1:${port}`,
    `--advertise-client-urls=http://127.0.0.1:${port}`,
    `--listen-peer-urls=http://127.0.0.1:${peer}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
    `--initial-cluster=node0=http://127.0.0.1:${peer}`,
    '--unsafe-no-fsync=true',
    '--auto-compaction-retention=1',
    '--quota-backend-bytes=8589934592',
  ];
}

function apiserverArgs(
  workDir: string,
  pki: Pki,
  etcdPort: number,
  apiPort: number,
  auditLogPath: string,
): string[] {
  return [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${apiPort}`,
    '--endpoint-reconciler-type=none',
    `--tls-cert-file=${pki.apiserverCert}`,
    `--tls-private-key-file=${pki.apiserverKey}`,
    `--client-ca-file=${pki.caCert}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${pki.saPub}`,
    `--service-account-signing-key-file=${pki.saKey}`,
    '--service-cluster-ip-range=10.96.0.0/16',
    '--authorization-mode=Node,RBAC',
    '--allow-privileged=true',
    `--admission-control-config-file=${join(workDir, 'admission.yaml')}`,
    `--audit-policy-file=${join(workDir, 'audit-policy.yaml')}`,
    `--audit-log-path=${auditLogPath}`,
    `--requestheader-client-ca-file=${pki.frontProxyCaCert}`,
    '--requestheader-allowed-names=front-proxy-client',
    '--requestheader-username-headers=X-Remote-User',
    '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    `--proxy-client-cert-file=${pki.frontProxyClientCert}`,
    `--proxy-client-key-file=${pki.frontProxyClientKey}`,
    // On SIGTERM, drain in-flight requests, then give open watches 2 s instead of the default 60 s
    // (--request-timeout) to close: restartApiServer() and stop() take seconds, not a minute.
    '--shutdown-send-retry-after=true',
    '--v=1',
  ];
}

/**
 * What kcm and the scheduler share: the admin identity, HTTPS on 127.0.0.1:`port`, one replica
 * (no leader election) and a client rate limit that never slows a test down.
 */
function controllerProcessArgs(pki: Pki, port: number): string[] {
  return [
    `--kubeconfig=${pki.adminKubeconfig}`,
    `--authentication-kubeconfig=${pki.adminKubeconfig}`,
    `--authorization-kubeconfig=${pki.adminKubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    '--leader-elect=false',
    '--kube-api-qps=5000',
    '--kube-api-burst=10000',
    '--v=1',
  ];
}

function kcmArgs(pki: Pki, port: number): string[] {
  return [
    ...controllerProcessArgs(pki, port),
    '--controllers=*',
    '--use-service-account-credentials=true',
    `--service-account-private-key-file=${pki.saKey}`,
    `--root-ca-file=${pki.caCert}`,
    `--cluster-signing-cert-file=${pki.caCert}`,
    `--cluster-signing-key-file=${pki.caKey}`,
    '--horizontal-pod-autoscaler-sync-period=2s',
  ];
}

function kwokArgs(pki: Pki): string[] {
  return [
    `--kubeconfig=${pki.adminKubeconfig}`,
    '--manage-all-nodes=true',
    '--enable-crds=Stage',
    '--cidr=10.244.0.0/16',
    '--node-ip=127.0.0.1',
    '--node-lease-duration-seconds=40',
  ];
}

// Signal and exit handling, installed only while this process has live clusters: a signal stops
// them (then, if nobody else handles that signal, re-raises it for the default action); process
// exit, where nothing asynchronous can run, SIGKILLs their processes and removes their dirs.
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let handlersInstalled = false;

function onExit(): void {
  for (const c of live) c.killSync();
}

function onSignal(sig: NodeJS.Signals): void {
  void Promise.allSettled([...live].map((c) => c.stop())).then(() => {
    if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
  });
}

function syncHandlers(): void {
  if (live.size > 0 && !handlersInstalled) {
    process.on('exit', onExit);
    for (const s of SIGNALS) process.on(s, onSignal);
    handlersInstalled = true;
  } else if (live.size === 0 && handlersInstalled) {
    process.off('exit', onExit);
    for (const s of SIGNALS) process.off(s, onSignal);
    handlersInstalled = false;
  }
}
