// The committed CRDs and API reference are what `npm run generate` produces from src/api today.
import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT, generatedFiles } from '../../../src/api/generate.ts';

describe('generated files', () => {
  for (const [path, expected] of generatedFiles()) {
    it(`${path} is up to date`, async () => {
      const committed = await readFile(join(ROOT, path), 'utf8').catch(() => undefined);
      assert.ok(
        committed === expected,
        `${path} is ${committed === undefined ? 'missing' : 'stale'}: run npm run generate`,
      );
    });
  }
});
