// The agent's URLs (src/agent/location.ts): s3://BUCKET/KEY and pvc://CLAIM/PATH, directories
// ending in /, and the mistakes a flag can hold.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AgentError } from '../../../src/agent/errors.ts';
import {
  asDirectory,
  baseName,
  child,
  formatLocation,
  isDirectory,
  parseLocation,
  parseS3Url,
} from '../../../src/agent/location.ts';

const invalid = (flag: string) => (e: unknown) =>
  e instanceof AgentError && e.reason === 'InvalidArguments' && e.message.includes(flag);

describe('s3:// URLs', () => {
  test('bucket and key; directories end in /', () => {
    assert.deepEqual(parseS3Url('s3://frappe-backups/prod/ns/site/', '--x'), {
      scheme: 's3',
      root: 'frappe-backups',
      key: 'prod/ns/site/',
    });
    assert.deepEqual(parseLocation('s3://b.example/k.sql.gz', '--x'), {
      scheme: 's3',
      root: 'b.example',
      key: 'k.sql.gz',
    });
    assert.deepEqual(asDirectory({ scheme: 's3', root: 'bb1', key: 'a/b' }), {
      scheme: 's3',
      root: 'bb1',
      key: 'a/b/',
    });
    assert.deepEqual(asDirectory({ scheme: 's3', root: 'bb1', key: '' }), {
      scheme: 's3',
      root: 'bb1',
      key: '',
    });
    assert.equal(baseName('a/b/c.tar'), 'c.tar');
  });

  test('a bad URL is InvalidArguments naming the flag', () => {
    for (const url of ['http://b/k', 's3://B/k', 's3://b/k', 's3://bucket//k', 's3:/bucket/k']) {
      assert.throws(() => parseLocation(url, '--source'), invalid('--source'), url);
    }
  });
});

describe('pvc:// URLs', () => {
  test('claim and path; the same directory rules as S3', () => {
    const dir = parseLocation('pvc://acme-sites/backups/production/acme/', '--destination');
    assert.deepEqual(dir, { scheme: 'pvc', root: 'acme-sites', key: 'backups/production/acme/' });
    assert.ok(isDirectory(dir));
    assert.equal(formatLocation(dir), 'pvc://acme-sites/backups/production/acme/');
    const set = child(dir, '20260102T020000Z/');
    assert.equal(formatLocation(child(set, 'x.tar')), `${formatLocation(set)}x.tar`);
    assert.deepEqual(parseLocation('pvc://a/x.sql.gz', '--source'), {
      scheme: 'pvc',
      root: 'a',
      key: 'x.sql.gz',
    });
    // The claim's root, with or without its slash; a dotted claim name.
    assert.deepEqual(parseLocation('pvc://backup.vol-1', '--x'), {
      scheme: 'pvc',
      root: 'backup.vol-1',
      key: '',
    });
    assert.equal(parseLocation('pvc://c/', '--x').key, '');
    assert.deepEqual(
      asDirectory(parseLocation('pvc://c/backups/ns/site', '--x')).key,
      'backups/ns/site/',
    );
    // A dot inside a name is just a name.
    assert.equal(parseLocation('pvc://c/a/..b/.c', '--x').key, 'a/..b/.c');
  });

  test('no path can leave the claim, and the claim must be a claim name', () => {
    for (const url of [
      'pvc://c/../etc/',
      'pvc://c/a/../../b',
      'pvc://c/./a',
      'pvc://c/a/./',
      'pvc://c//a',
      'pvc://c/a//b',
      'pvc://c/a\0b',
      'pvc://Claim/a',
      'pvc://-c/a',
      'pvc://c-/a',
      'pvc://c_d/a',
      'pvc:///a',
      `pvc://${'a'.repeat(254)}/x`,
      'pvc:/c/a',
      'file:///c/a',
    ]) {
      assert.throws(() => parseLocation(url, '--destination'), invalid('--destination'), url);
    }
    assert.doesNotThrow(() => parseLocation(`pvc://${'a'.repeat(253)}/x`, '--x'));
  });
});
