// Credentials from a Secret's keys, as both the agent (mounted files) and the operator's
// retention (the Secret object) read them: a trailing newline dropped, an empty key missing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { credentialsFrom } from '../../../src/agent/credentials.ts';

const from = (keys: Record<string, string>) =>
  credentialsFrom(
    (key) => Promise.resolve(keys[key]),
    (key, empty) => `${key} ${empty ? 'empty' : 'absent'}`,
  );

test('reads the two keys and the optional session token, without a trailing newline', async () => {
  assert.deepEqual(await from({ AWS_ACCESS_KEY_ID: 'AKIA1', AWS_SECRET_ACCESS_KEY: 's3cr3t\n' }), {
    accessKeyId: 'AKIA1',
    secretAccessKey: 's3cr3t',
  });
  assert.deepEqual(
    await from({ AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b', AWS_SESSION_TOKEN: 't\r\n' }),
    { accessKeyId: 'a', secretAccessKey: 'b', sessionToken: 't' },
  );
  assert.deepEqual(
    await from({ AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b', AWS_SESSION_TOKEN: '\n' }),
    { accessKeyId: 'a', secretAccessKey: 'b' },
  );
});

test('a required key absent or empty is CredentialsNotFound, saying which', async () => {
  await assert.rejects(from({ AWS_SECRET_ACCESS_KEY: 'b' }), {
    name: 'AgentError',
    reason: 'CredentialsNotFound',
    message: 'AWS_ACCESS_KEY_ID absent',
  });
  await assert.rejects(from({ AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: ' \n' }), {
    reason: 'CredentialsNotFound',
    message: 'AWS_SECRET_ACCESS_KEY empty',
  });
});
