// The backup agent's pure parts: set timestamps, the manifest's checks, what S3's and the file
// system's errors become, and the termination message's size limit. (URLs: location.test.ts.)
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { explainFsError, explainS3Error } from '../../../src/agent/errors.ts';
import { terminationMessage, TERMINATION_LIMIT } from '../../../src/agent/index.ts';
import {
  isPlainFileName,
  parseManifest,
  serializeManifest,
  type Manifest,
} from '../../../src/agent/manifest.ts';
import { formatSetTimestamp, parseSetTimestamp } from '../../../src/agent/timestamp.ts';

describe('set timestamps', () => {
  test('format and parse round-trip, to the second, in UTC', () => {
    const d = new Date('2026-01-02T02:03:04.567Z');
    assert.equal(formatSetTimestamp(d), '20260102T020304Z');
    assert.equal(parseSetTimestamp('20260102T020304Z')?.toISOString(), '2026-01-02T02:03:04.000Z');
  });

  test('other names are not set timestamps', () => {
    for (const name of [
      '20261302T000000Z',
      '20260132T000000Z',
      '20260102T250000Z',
      '20260102T020304',
      'latest',
      '',
    ]) {
      assert.equal(parseSetTimestamp(name), undefined, name);
    }
  });
});

const MANIFEST: Manifest = {
  version: 1,
  namespace: 'production',
  site: 'prod-site',
  siteName: 'erp.example.com',
  sitebackup: 'daily-backup',
  startTime: '2026-01-02T02:00:00.000Z',
  completionTime: '2026-01-02T02:01:00.000Z',
  image: 'frappe/erpnext:v15.38.0',
  frappeVersion: '15.38.0',
  apps: ['frappe', 'erpnext'],
  files: [
    {
      name: '20260102_020000-erp_example_com-database.sql.gz',
      sizeBytes: 12,
      sha256: 'a'.repeat(64),
    },
  ],
};

describe('manifest.json', () => {
  test('round-trips', () => {
    assert.deepEqual(parseManifest(serializeManifest(MANIFEST)), MANIFEST);
  });

  test('rejects what a download could not trust', () => {
    const bad = (patch: Record<string, unknown>) => JSON.stringify({ ...MANIFEST, ...patch });
    const file = MANIFEST.files[0];
    const cases: [string, string][] = [
      ['not json', 'not JSON'],
      [bad({ version: 2 }), 'version 2'],
      [bad({ namespace: undefined }), 'namespace is missing'],
      [bad({ apps: 'erpnext' }), 'apps'],
      [bad({ files: [{ ...file, name: '../../etc/passwd' }] }), 'not a plain file name'],
      [bad({ files: [{ ...file, name: 'manifest.json' }] }), 'not a plain file name'],
      [bad({ files: [{ ...file, sizeBytes: -1 }] }), 'sizeBytes'],
      [bad({ files: [{ ...file, sha256: 'ABC' }] }), 'sha256'],
      [bad({ files: [file, file] }), 'twice'],
    ];
    for (const [text, why] of cases) {
      assert.throws(() => parseManifest(text), new RegExp(why), text);
    }
  });

  test('plain file names', () => {
    assert.ok(isPlainFileName('20260102_020000-erp_example_com-files.tar'));
    for (const n of ['', '.', '..', 'a/b', 'a\\b', 'manifest.json'])
      assert.ok(!isPlainFileName(n), n);
  });
});

describe('S3 errors', () => {
  const store = { endpoint: 'http://127.0.0.1:9000', region: 'us-east-1' };
  const explain = (e: unknown) => explainS3Error(e, 'upload s3://b/k', 'b', store);

  test('S3 codes keep their name and say what to do', () => {
    const cases: [unknown, string, RegExp][] = [
      [{ name: 'InvalidAccessKeyId' }, 'InvalidAccessKeyId', /AWS_ACCESS_KEY_ID/],
      [{ name: 'SignatureDoesNotMatch' }, 'SignatureDoesNotMatch', /AWS_SECRET_ACCESS_KEY/],
      [
        { name: 'NoSuchBucket' },
        'NoSuchBucket',
        /bucket b does not exist on http:\/\/127\.0\.0\.1:9000/,
      ],
      [{ name: 'AccessDenied' }, 'AccessDenied', /s3:PutObject/],
      [{ name: 'Unknown', $metadata: { httpStatusCode: 403 } }, 'AccessDenied', /HTTP 403/],
      [{ name: 'NoSuchKey' }, 'NoSuchKey', /backup-agent list/],
      [{ name: 'NotFound', $metadata: { httpStatusCode: 404 } }, 'NoSuchKey', /no such object/],
      [{ name: 'IncompleteBody' }, 'Truncated', /fewer bytes/],
      [{ name: 'BadDigest' }, 'ChecksumMismatch', /checksum/],
      [
        { name: 'CredentialsProviderError', message: 'none' },
        'CredentialsNotFound',
        /workload identity/,
      ],
      [
        Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
        'EndpointUnreachable',
        /cannot reach/,
      ],
      [
        { name: 'SlowDown', message: 'slow', $metadata: { httpStatusCode: 503 } },
        'SlowDown',
        /HTTP 503 SlowDown: slow/,
      ],
    ];
    for (const [err, reason, message] of cases) {
      const got = explain(err);
      assert.equal(got.reason, reason, JSON.stringify(err));
      assert.match(got.message, message);
      assert.match(got.message, /^upload s3:\/\/b\/k: /);
    }
  });

  test('AWS itself is named with its region', () => {
    const got = explainS3Error({ name: 'NoSuchBucket' }, 'list', 'b', {
      endpoint: undefined,
      region: 'eu-west-1',
    });
    assert.match(got.message, /AWS S3 \(region eu-west-1\)/);
  });
});

describe('file system errors', () => {
  const place = {
    description: 'claim acme-sites (mounted at /backups)',
    whenFull: 'grow the PersistentVolumeClaim acme-sites',
  };
  const errno = (code: string) =>
    Object.assign(new Error(`${code}: something, open '/backups/x'`), { code });
  const explain = (code: string) =>
    explainFsError(errno(code), 'upload pvc://acme-sites/x', '/backups/x', place);

  test('each errno becomes a reason and says what to do', () => {
    const cases: [string, string, RegExp][] = [
      ['EACCES', 'AccessDenied', /permission denied \(EACCES\) on \/backups\/x .*uid \d+.*fsGroup/],
      ['EPERM', 'AccessDenied', /permission denied \(EPERM\)/],
      ['EROFS', 'AccessDenied', /read-only \(EROFS\): mount it read-write/],
      [
        'ENOSPC',
        'StorageFull',
        /claim acme-sites \(mounted at \/backups\) is full \(ENOSPC\): grow/,
      ],
      ['EDQUOT', 'StorageFull', /is full \(EDQUOT\)/],
      ['EIO', 'StorageError', /I\/O error \(EIO\)/],
      ['ELOOP', 'StorageError', /\/backups\/x in claim acme-sites .*ELOOP/],
    ];
    for (const [code, reason, message] of cases) {
      const got = explain(code);
      assert.equal(got.reason, reason, code);
      assert.match(got.message, message);
      assert.match(got.message, /^upload pvc:\/\/acme-sites\/x: /);
    }
  });

  test('an AgentError passes through', () => {
    const e = explainFsError(errno('ENOSPC'), 'a', '/x', place);
    assert.equal(explainFsError(e, 'b', '/y', place), e);
  });
});

describe('termination message', () => {
  test('a report that fits is kept whole', () => {
    const report = { location: 's3://b/p/20260102T020000Z/', sizeBytes: 42 };
    assert.equal(terminationMessage(report), JSON.stringify(report));
  });

  test('lists go first, then the message is cut to fit 4096 bytes', () => {
    const deleted = Array.from({ length: 200 }, (_, i) => ({ location: `s3://b/p/${i}/` }));
    const slim = JSON.parse(terminationMessage({ location: 'x', pruned: 200, deleted })) as Record<
      string,
      unknown
    >;
    assert.deepEqual(slim, { location: 'x', pruned: 200, truncated: true });
    const long = terminationMessage({ error: 'ChecksumMismatch', message: 'é'.repeat(5000) });
    assert.ok(Buffer.byteLength(long) <= TERMINATION_LIMIT, `${Buffer.byteLength(long)} bytes`);
    const parsed = JSON.parse(long) as Record<string, unknown>;
    assert.equal(parsed['error'], 'ChecksumMismatch');
    assert.match(String(parsed['message']), /^é+…$/);
  });
});
