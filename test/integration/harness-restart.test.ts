// The harness's own lifecycle on a private cluster (not the shared one of the run, which other
// tests use): the apiserver restarts on the same port and etcd with data intact, and stop()
// ends every process it started and deletes the work dir.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { startCluster } from '../../src/dev/cluster.ts';
import { eventually } from '../harness/eventually.ts';
import { run } from '../../src/dev/exec.ts';

it('restarts the apiserver keeping its data, and stops cleanly', async (t) => {
  const cluster = await startCluster({
    log: (l) => {
      t.diagnostic(l);
    },
  });
  t.after(() => cluster.stop());
  const kubectl = (...args: string[]) =>
    run(join(cluster.binDir, 'kubectl'), [`--kubeconfig=${cluster.kubeconfigPath}`, ...args]);

  await kubectl('create', 'configmap', 'survivor', '--from-literal=k=v');
  const pidsDir = join(cluster.workDir, 'pids');
  const pids = () =>
    readdirSync(pidsDir).map((f) => Number(readFileSync(join(pidsDir, f), 'utf8')));
  const started = pids();
  const apiPidFile = join(pidsDir, 'kube-apiserver.pid');
  const before = readFileSync(apiPidFile, 'utf8');

  await cluster.restartApiServer();
  assert.notEqual(readFileSync(apiPidFile, 'utf8'), before, 'a new apiserver process');
  started.push(...pids());
  const res = await eventually(() =>
    kubectl('get', 'configmap', 'survivor', '-o=jsonpath={.data.k}'),
  );
  assert.equal(res.stdout, 'v');
  // The audit log records writes (Metadata level) from both apiserver runs.
  const audit = readFileSync(cluster.auditLogPath, 'utf8').split('\n');
  assert.ok(
    audit.some((l) => l.includes('"verb":"create"') && l.includes('"resource":"configmaps"')),
    'audit log has the ConfigMap create',
  );

  await cluster.stop();
  await cluster.stop(); // idempotent
  assert.ok(!existsSync(cluster.workDir), 'work dir removed');
  for (const pid of started) {
    // Gone, or the pid was reused by an unrelated process (which does not name our work dir).
    const alive = existsSync(`/proc/${pid}`) && readCmdline(pid).includes(cluster.workDir);
    assert.ok(!alive, `pid ${pid} still running`);
  }
});

function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw e;
  }
}
