// The guide fixtures are the Operations Guide unchanged: every manifest and patch body of our kinds
// in docs/operations-guide.txt has a fixture, each manifest fixture equals its guide block except
// for indentation, each patch fixture has the guide's JSON tokens, and the runtime validators
// accept them all.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  MANIFESTS,
  PATCHES,
  guideBlock,
  guidePatch,
  jsonTokens,
  loadManifest,
  readFixture,
  readGuideLines,
} from '../../../src/dev/guide/guide.ts';
import {
  validateFrappeBench,
  validateFrappeSite,
  validateSiteBackup,
  validateSiteJob,
} from '../../../src/api/v1alpha1/index.ts';

const VALIDATORS = {
  FrappeBench: validateFrappeBench,
  FrappeSite: validateFrappeSite,
  SiteBackup: validateSiteBackup,
  SiteJob: validateSiteJob,
} as const;

const OUR_PATCH = /^kubectl patch (frappebench|frappesite|sitebackup|sitejob) /;

function dedent(lines: readonly string[]): string[] {
  return lines.map((l) => l.trimStart());
}

function fixtureLines(text: string): string[] {
  return text.replace(/\n$/, '').split('\n');
}

describe('guide fixtures', () => {
  for (const fixture of MANIFESTS) {
    it(`${fixture.file} is the guide's block, indentation aside`, async () => {
      const guide = await readGuideLines();
      const fixtureText = await readFixture(fixture.file);
      assert.deepEqual(dedent(fixtureLines(fixtureText)), dedent(guideBlock(guide, fixture).lines));
    });

    it(`${fixture.file} is accepted by validate${fixture.kind}`, async () => {
      const result = VALIDATORS[fixture.kind](await loadManifest(fixture));
      assert.deepEqual(result.ok ? [] : result.errors, []);
    });
  }

  for (const fixture of PATCHES) {
    it(`${fixture.file} has the guide's JSON tokens and target`, async () => {
      const { command, body } = guidePatch(await readGuideLines(), fixture);
      assert.ok(
        command.startsWith(`kubectl patch ${fixture.resource} ${fixture.name} `),
        `guide command ${command}`,
      );
      assert.ok(command.includes('--type=merge'), `guide command ${command}`);
      assert.deepEqual(jsonTokens(await readFixture(fixture.file)), jsonTokens(body));
    });
  }

  it('every manifest of our kinds in the guide has a fixture', async () => {
    const guide = await readGuideLines();
    const covered = new Set(
      MANIFESTS.flatMap((f) => {
        const block = guideBlock(guide, f);
        return block.lines.map((_, i) => block.start + i);
      }),
    );
    const ours = guide.flatMap((line, i) => {
      const next = guide[i + 1] ?? '';
      const manifest =
        line === 'apiVersion: vyogo.tech/v1alpha1' ||
        (line === 'spec:' && /^(componentAutoscaling|siteReconcileConcurrency):/.test(next));
      return manifest ? [i] : [];
    });
    assert.equal(ours.length, MANIFESTS.length);
    for (const i of ours) assert.ok(covered.has(i), `guide line ${i + 1} has no fixture`);
  });

  it('every kubectl patch of our kinds in the guide has a fixture', async () => {
    const guide = await readGuideLines();
    const patched = guide.flatMap((line, i) => (OUR_PATCH.test(line) ? [i] : []));
    const covered = PATCHES.map((f) => guidePatch(guide, f).line);
    assert.deepEqual(
      [...covered].sort((a, b) => a - b),
      patched,
    );
  });
});
