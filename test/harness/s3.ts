// A real S3 server for a test file: Versity Gateway (src/dev/s3-gateway.ts) on 127.0.0.1 with a
// free port and a temp dir, an SDK client of the test's own, a credentials directory laid out as
// the agent's mounted Secret, and buckets on demand. test/run.ts builds the binary before the
// tests; when it could not, startTestS3() fails with the reason (never a skip).
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { startS3Gateway, type S3Gateway } from '../../src/dev/s3-gateway.ts';
import { VERSITY_GATEWAY } from '../../src/dev/build.ts';
import { assertToolBuilt } from './tools.ts';
import { kubectl } from './kubectl.ts';

export interface TestS3 {
  gateway: S3Gateway;
  endpoint: string;
  region: string;
  /** An SDK client with the root credentials, path-style. */
  client: S3Client;
  /** A directory holding AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, like the mounted Secret. */
  credentialsDir: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The agent's store flags for this server, with the credentials directory. */
  agentFlags(credentialsDir?: string): string[];
  createBucket(name: string): Promise<void>;
  /** Creates Secret `name` in `namespace` with this server's keys, as a user's credentials Secret. */
  createCredentialsSecret(namespace: string, name: string): Promise<void>;
  /**
   * Adds a plain user (role `user`, owning nothing: every bucket of the root user is denied to
   * it) to the gateway's internal IAM, which reads its users.json on every request.
   */
  addUser(accessKeyId: string, secretAccessKey: string): Promise<void>;
  /** Stops the server (by pid) and removes its data. */
  stop(): Promise<void>;
}

export async function startTestS3(): Promise<TestS3> {
  assertToolBuilt(VERSITY_GATEWAY);
  const gateway = await startS3Gateway({
    log: (l) => process.stderr.write(`[test-s3] ${l}\n`),
  });
  const credentialsDir = join(gateway.workDir, 'agent-credentials');
  await writeCredentials(credentialsDir, {
    AWS_ACCESS_KEY_ID: gateway.accessKeyId,
    // A Secret made with `echo` ends in a newline: the agent must drop it.
    AWS_SECRET_ACCESS_KEY: `${gateway.secretAccessKey}\n`,
  });
  const client = new S3Client({
    region: gateway.region,
    endpoint: gateway.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: gateway.accessKeyId, secretAccessKey: gateway.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    gateway,
    endpoint: gateway.endpoint,
    region: gateway.region,
    client,
    credentialsDir,
    accessKeyId: gateway.accessKeyId,
    secretAccessKey: gateway.secretAccessKey,
    agentFlags: (dir = credentialsDir) => [
      `--endpoint=${gateway.endpoint}`,
      `--region=${gateway.region}`,
      '--force-path-style',
      `--credentials-dir=${dir}`,
    ],
    createBucket: async (name) => {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    createCredentialsSecret: async (namespace, name) => {
      await kubectl(['create', '-f', '-'], {
        namespace,
        input: JSON.stringify({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name },
          stringData: {
            AWS_ACCESS_KEY_ID: gateway.accessKeyId,
            AWS_SECRET_ACCESS_KEY: gateway.secretAccessKey,
          },
        }),
      });
    },
    addUser: async (access, secret) => {
      const file = join(gateway.workDir, 'iam', 'users.json');
      const conf = JSON.parse(await readFile(file, 'utf8')) as {
        accessAccounts?: Record<string, unknown> | null;
      };
      const accounts = { ...conf.accessAccounts };
      accounts[access] = { access, secret, role: 'user', userID: 0, groupID: 0, projectID: 0 };
      await writeFile(`${file}.tmp`, JSON.stringify({ ...conf, accessAccounts: accounts }));
      await rename(`${file}.tmp`, file);
    },
    stop: async () => {
      client.destroy();
      await gateway.stop();
    },
  };
}

/** Writes Secret-like files (mode 0400) into `dir`. */
export async function writeCredentials(dir: string, files: Record<string, string>): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (const [name, value] of Object.entries(files)) {
    const path = join(dir, name);
    await writeFile(path, value, { mode: 0o400 });
    await chmod(path, 0o400);
  }
}
