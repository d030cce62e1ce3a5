// The committed CRDs and API reference are what `npm run generate` produces from src/api today,
// and every generated YAML file reads the same to YAML 1.1 readers (kubectl and the API server,
// through sigs.k8s.io/yaml) as to YAML 1.2 ones: a string such as `off` written unquoted would
// reach the API server as a boolean.
import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { ROOT, generatedFiles } from '../../../src/api/generate.ts';

const documents = (text: string, version: '1.1' | '1.2'): unknown[] =>
  parseAllDocuments(text, { version }).map((d) => d.toJS() as unknown);

describe('generated files', () => {
  for (const [path, expected] of generatedFiles()) {
    it(`${path} is up to date`, async () => {
      const committed = await readFile(join(ROOT, path), 'utf8').catch(() => undefined);
      assert.ok(
        committed === expected,
        `${path} is ${committed === undefined ? 'missing' : 'stale'}: run npm run generate`,
      );
    });
    if (path.endsWith('.yaml')) {
      it(`${path} reads the same as YAML 1.1 and 1.2`, () => {
        assert.deepEqual(documents(expected, '1.1'), documents(expected, '1.2'));
      });
    }
  }
});
