// The restore Job's `download` init container, run for real (test/harness/run-container.ts): the
// site's restore Job is built by the FrappeSite controller's own builder (restoreRequest) for a
// site restoring from a set on the test's S3 server, created on the real control plane, read back
// as the API server stored it, and its `download` container — `frappe-operator backup-agent
// download …` with the flags the controller wrote, the credentials Secret mounted as files, the
// `restore` emptyDir — run as a local process. The files must arrive in the emptyDir the
// `restore` container mounts, with their checksums verified against the set's manifest; a
// corrupted object must fail the container with ChecksumMismatch. This proves the Job's wiring:
// flag names, Secret keys, mount paths, args.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { PodSpec } from '../../../src/controllers/shared/k8s.ts';
import type { Job } from '../../../src/controllers/shared/objects.ts';
import { restoreRequest } from '../../../src/controllers/site/jobs.ts';
import { runAgent } from '../../harness/agent.ts';
import { kubectl } from '../../harness/kubectl.ts';
import { createTestNamespace, deleteNamespace } from '../../harness/namespace.ts';
import { PodRun } from '../../harness/run-container.ts';
import { startTestS3, type TestS3 } from '../../harness/s3.ts';
import { endpointOf, planOf, podOf, site } from '../../unit/controllers/site/fixtures.ts';
import {
  checksums,
  fabricateBackup,
  getObjectBytes,
  MiB,
  putObject,
  type FabricatedBackup,
} from './support.ts';

const BUCKET = 'frappe-backups';
const CREDENTIALS_SECRET = 'restore-s3-credentials';

let s3: TestS3;
let namespace: string;
let work: string;
let backup: FabricatedBackup;
let setUrl: string;

/** The restore Job of a site restoring from `backupUrl`, as the API server stored it. */
async function createdRestoreJob(backupUrl: string, siteName: string): Promise<Job> {
  const plan = planOf(
    site(
      {
        restoreFrom: {
          backup: backupUrl,
          credentialsSecret: CREDENTIALS_SECRET,
          endpoint: s3.endpoint,
          region: s3.region,
          forcePathStyle: true,
        },
      },
      { name: siteName, namespace },
    ),
  );
  const { job } = restoreRequest(
    plan,
    podOf(plan),
    endpointOf(plan),
    'ghcr.io/example/frappe-operator:test',
    '1',
  );
  // The owner is a FrappeSite that does not exist in this cluster: without the reference, the
  // garbage collector leaves the Job alone while the test reads it.
  const res = await kubectl(['create', '-f', '-', '-o', 'json'], {
    namespace,
    input: JSON.stringify({ ...job, metadata: { ...job.metadata, ownerReferences: undefined } }),
  });
  return JSON.parse(res.stdout) as Job;
}

function podSpecOf(job: Job): PodSpec {
  const spec = job.spec.template.spec;
  if (spec === undefined) throw new Error(`Job ${job.metadata.name}: no pod spec`);
  return spec;
}

before(async () => {
  s3 = await startTestS3();
  await s3.createBucket(BUCKET);
  namespace = await createTestNamespace('restore-download');
  work = await mkdtemp(join(tmpdir(), 'restore-download-'));
  // The private files tar goes in parts (multipart threshold 5 MiB).
  backup = await fabricateBackup(join(work, 'backup'), { privateFilesBytes: 6 * MiB });
  const up = await runAgent([
    'upload',
    `--source=${backup.dir}`,
    `--destination=s3://${BUCKET}/prod/${namespace}/acme/`,
    `--namespace=${namespace}`,
    '--site=acme',
    '--site-name=acme.example.com',
    '--sitebackup=daily-backup',
    '--multipart-threshold=5MiB',
    ...s3.agentFlags(),
  ]);
  assert.equal(up.exitCode, 0, up.stderr);
  setUrl = String(up.report?.['location']);
  // The credentials Secret the user names in restoreFrom.credentialsSecret.
  await s3.createCredentialsSecret(namespace, CREDENTIALS_SECRET);
});

after(async () => {
  await s3.stop();
  await deleteNamespace(namespace);
  await rm(work, { recursive: true, force: true });
});

describe("the restore Job's download container, run for real", () => {
  test('fetches the set into the restore emptyDir with every checksum verified', async () => {
    const job = await createdRestoreJob(setUrl, 'acme');
    const spec = podSpecOf(job);
    const pod = await PodRun.create(spec, {
      namespace,
      podName: `${job.metadata.name ?? 'restore'}-local`,
    });
    try {
      const run = await pod.runContainer('download');
      assert.equal(run.exitCode, 0, run.stderr);
      assert.deepEqual(run.report, {
        location: setUrl,
        sizeBytes: backup.sizeBytes,
        files: 4,
      });
      // The files are where the restore container will look: its mount of the same emptyDir.
      const restore = spec.containers.find((c) => c.name === 'restore');
      const restoreMount = restore?.volumeMounts?.find((m) => m.name === 'restore');
      const download = spec.initContainers?.find((c) => c.name === 'download');
      const downloadMount = download?.volumeMounts?.find((m) => m.name === 'restore');
      assert.ok(restoreMount !== undefined && downloadMount !== undefined);
      assert.equal(run.mounts[downloadMount.mountPath], await pod.emptyDir('restore'));
      assert.deepEqual(await checksums(await pod.emptyDir('restore')), backup.sha256);
      assert.match(run.stderr, /"verified":true/);
      // The credentials came from the mounted Secret, never from argv or env.
      const credentialsFlag = run.args.find((a) => a.startsWith('--credentials-dir='));
      assert.ok(credentialsFlag !== undefined, run.args.join(' '));
      assert.ok(
        Object.values(run.mounts).includes(credentialsFlag.slice('--credentials-dir='.length)),
      );
      for (const text of [...run.args, ...Object.values(run.env), run.stdout, run.stderr]) {
        assert.ok(!text.includes(s3.secretAccessKey), 'the secret key is in argv, env or output');
      }
    } finally {
      await pod.cleanup();
    }
  });

  test('a set with a corrupted object fails the container with ChecksumMismatch', async () => {
    // A copy of the set with one byte of the files tar changed behind the manifest's back.
    const copyKey = `corrupted/${namespace}/acme/20260101T020000Z/`;
    const srcKey = setUrl.slice(`s3://${BUCKET}/`.length);
    for (const name of [...Object.keys(backup.sha256), 'manifest.json']) {
      const bytes = await getObjectBytes(s3, BUCKET, `${srcKey}${name}`);
      if (name === backup.names.files) bytes[10] = (bytes[10] ?? 0) ^ 0x01;
      await putObject(s3, BUCKET, `${copyKey}${name}`, bytes);
    }
    const job = await createdRestoreJob(`s3://${BUCKET}/${copyKey}`, 'acme-corrupt');
    const pod = await PodRun.create(podSpecOf(job), { namespace, podName: 'acme-corrupt-local' });
    try {
      const run = await pod.runContainer('download');
      assert.equal(run.exitCode, 1, run.stderr);
      assert.equal(run.report?.['error'], 'ChecksumMismatch', run.terminationMessage);
      assert.match(String(run.report['message']), new RegExp(backup.names.files));
    } finally {
      await pod.cleanup();
    }
  });

  test('the bench-image restore container is not ours to run', async () => {
    const job = await createdRestoreJob(setUrl, 'acme-other');
    const pod = await PodRun.create(podSpecOf(job), { namespace, podName: 'acme-other-local' });
    try {
      await assert.rejects(
        pod.runContainer('restore'),
        /not frappe-operator: only the operator's own image/,
      );
    } finally {
      await pod.cleanup();
    }
  });
});
