// The Operations Guide against the real API server: every manifest of our kinds in the guide is
// accepted as written, and every `kubectl patch` body of our kinds is accepted on an object
// created from the guide's manifests and shows in the stored object.
import { before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { applyOurCrds, createTestNamespace } from '../../harness/namespace.ts';
import { kubectl } from '../../harness/kubectl.ts';
import { MANIFESTS, PATCHES, loadManifest, loadPatch } from '../../../src/dev/guide/guide.ts';
import type { ManifestFixture } from '../../../src/dev/guide/guide.ts';
import { assertContains, getObject, submit } from './support.ts';

function fixture(file: string): ManifestFixture {
  const found = MANIFESTS.find((m) => m.file === file);
  if (found === undefined) throw new Error(`no guide fixture ${file}`);
  return found;
}

function nameOf(obj: Record<string, unknown>): string {
  return String((obj.metadata as { name: unknown }).name);
}

describe('Operations Guide manifests and patches', () => {
  before(() => applyOurCrds());

  for (const manifest of MANIFESTS) {
    it(`accepts ${manifest.file} as written`, async () => {
      const ns = await createTestNamespace('api-guide');
      const obj = await loadManifest(manifest);
      // The guide creates the manual backup with `kubectl create`, everything else with apply.
      await submit(manifest.file === 'manual-backup.yaml' ? 'create' : 'apply', obj, ns);
      const stored = await getObject(manifest.kind.toLowerCase(), nameOf(obj), ns);
      assertContains(stored.spec, obj.spec);
    });
  }

  for (const patch of PATCHES) {
    it(`accepts the guide's patch ${patch.file} and stores it`, async () => {
      const ns = await createTestNamespace('api-patch');
      const target = await loadManifest(fixture(patch.target));
      await submit('apply', target, ns);
      const body = await loadPatch(patch);
      // `<site>` in the guide stands for a FrappeSite name: the guide's recovered-site here.
      const name = patch.name === '<site>' ? nameOf(target) : patch.name;
      await kubectl(['patch', patch.resource, name, '--type=merge', '-p', body], { namespace: ns });
      const stored = await getObject(patch.resource, name, ns);
      assertContains(stored, parse(body) as unknown);
    });
  }
});
