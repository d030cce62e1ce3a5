// The pure parts of the run-our-own-containers helper (test/harness/run-container.ts): how mount
// paths in args and env are rewritten to local directories, and Kubernetes' $(VAR) expansion.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expandVars, pathRewriter } from '../../harness/run-container.ts';

describe('pathRewriter', () => {
  const rewrite = pathRewriter({
    '/restore': '/tmp/x/emptydir/restore',
    '/var/run/secrets/frappe/s3': '/tmp/x/secret-s3',
    '/var/run/secrets/frappe/s3/nested': '/tmp/x/nested',
  });

  test('replaces a mount path that starts a value or follows =, at a path boundary', () => {
    assert.equal(rewrite('--destination=/restore'), '--destination=/tmp/x/emptydir/restore');
    assert.equal(rewrite('/restore/a.sql.gz'), '/tmp/x/emptydir/restore/a.sql.gz');
    assert.equal(
      rewrite('--credentials-dir=/var/run/secrets/frappe/s3'),
      '--credentials-dir=/tmp/x/secret-s3',
    );
  });

  test('the longest mount wins; other paths and prefixes of names stay', () => {
    assert.equal(rewrite('/var/run/secrets/frappe/s3/nested/f'), '/tmp/x/nested/f');
    assert.equal(rewrite('--source=/restored'), '--source=/restored');
    assert.equal(rewrite('--source=s3://b/restore/x'), '--source=s3://b/restore/x');
    assert.equal(rewrite('x/restore'), 'x/restore');
  });

  test('no mounts: identity', () => {
    assert.equal(pathRewriter({})('--destination=/restore'), '--destination=/restore');
  });
});

describe('expandVars', () => {
  test('defined variables are replaced, undefined ones kept, $$ escapes', () => {
    const env = { SITE: 'acme', DIR: '/backup' };
    assert.equal(
      expandVars('--site=$(SITE) --source=$(DIR)/x', env),
      '--site=acme --source=/backup/x',
    );
    assert.equal(expandVars('$(MISSING) $$(SITE) $$', env), '$(MISSING) $(SITE) $');
  });
});
