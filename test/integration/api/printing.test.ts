// What users see: `kubectl get` of the four kinds (plural, short names, the `frappe` category)
// prints the documented columns, `-o wide` adds the priority-1 columns, and `kubectl explain`
// teaches the fields from the schema descriptions.
import { strict as assert } from 'node:assert';
import { before, describe, it } from 'node:test';
import { applyOurCrds, createTestNamespace } from '../../harness/namespace.ts';
import { eventually } from '../../harness/eventually.ts';
import { kubectl } from '../../harness/kubectl.ts';
import { MANIFESTS, loadManifest } from '../../../src/dev/guide/guide.ts';
import { KINDS } from '../../../src/api/v1alpha1/index.ts';
import { submit } from './support.ts';

/** Documented columns (API.md §2), default and `-o wide`. */
const COLUMNS: Record<string, { normal: string[]; wide: string[] }> = {
  FrappeBench: {
    normal: ['NAME', 'PHASE', 'READY', 'VERSION', 'SITES', 'AGE'],
    wide: ['IMAGE'],
  },
  FrappeSite: {
    normal: ['NAME', 'PHASE', 'READY', 'BENCH', 'URL', 'AGE'],
    wide: ['SITE', 'DELETION'],
  },
  SiteBackup: {
    normal: ['NAME', 'SITE', 'SCHEDULE', 'LAST BACKUP', 'PHASE', 'AGE'],
    wide: ['DESTINATION'],
  },
  SiteJob: { normal: ['NAME', 'SITE', 'JOB TYPE', 'PHASE', 'AGE'], wide: ['JOB', 'COMPLETED'] },
};

/** Header lines of a `kubectl get` table output (one per kind), as column lists. */
function headers(stdout: string): string[][] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('NAME '))
    .map((line) => line.trim().split(/\s{2,}/));
}

/** One object of each kind from the guide, in a fresh namespace. */
async function guideObjects(): Promise<string> {
  const ns = await createTestNamespace('api-print');
  for (const file of [
    'compliance-bench.yaml',
    'recovered-site.yaml',
    'daily-backup.yaml',
    'migrate-prod-site.yaml',
  ]) {
    const fixture = MANIFESTS.find((m) => m.file === file);
    assert.ok(fixture !== undefined, file);
    await submit('apply', await loadManifest(fixture), ns);
  }
  return ns;
}

describe('kubectl get and explain', () => {
  before(() => applyOurCrds());

  it('prints the documented columns for the plural names, and -o wide adds the wide ones', async () => {
    const ns = await guideObjects();
    const plurals = KINDS.map((k) => k.plural).join(',');
    const normal = headers((await kubectl(['get', plurals], { namespace: ns })).stdout);
    const wide = headers((await kubectl(['get', plurals, '-o', 'wide'], { namespace: ns })).stdout);
    assert.deepEqual(
      normal,
      KINDS.map((k) => COLUMNS[k.kind]?.normal),
    );
    assert.deepEqual(
      wide,
      KINDS.map((k) => [...(COLUMNS[k.kind]?.normal ?? []), ...(COLUMNS[k.kind]?.wide ?? [])]),
    );
  });

  it('answers to the short names with the same columns', async () => {
    const ns = await guideObjects();
    for (const kind of KINDS) {
      for (const shortName of kind.shortNames) {
        const res = await kubectl(['get', shortName], { namespace: ns });
        assert.deepEqual(headers(res.stdout), [COLUMNS[kind.kind]?.normal], shortName);
      }
    }
  });

  it('lists all four kinds under the frappe category', async () => {
    const ns = await guideObjects();
    const res = await kubectl(['get', 'frappe', '-o', 'name'], { namespace: ns });
    const names = res.stdout.trim().split('\n').sort();
    assert.deepEqual(names, [
      'frappebench.vyogo.tech/compliance-bench',
      'frappesite.vyogo.tech/recovered-site',
      'sitebackup.vyogo.tech/daily-backup',
      'sitejob.vyogo.tech/migrate-prod-site',
    ]);
    const table = await kubectl(['get', 'frappe'], { namespace: ns });
    assert.equal(headers(table.stdout).length, KINDS.length);
  });

  it('explains frappebench.spec.componentAutoscaling from the schema descriptions', async () => {
    // kubectl wraps descriptions; compare with whitespace collapsed.
    const explain = async (field: string) =>
      (await kubectl(['explain', field])).stdout.replace(/\s+/g, ' ');
    // The OpenAPI document of a new CRD is published a moment after it is Established.
    const text = await eventually(
      async () => {
        const out = await explain('frappebench.spec.componentAutoscaling');
        assert.ok(out.includes('Scaling per component'), out);
        return out;
      },
      { timeout: 60_000, message: 'kubectl explain shows the componentAutoscaling description' },
    );
    assert.ok(text.includes('the scheduler always runs 1 replica'), text);
    const policy = await explain('frappebench.spec.siteMigration.policy');
    assert.ok(policy.includes('after an image change each site runs migrate'), policy);
  });
});
