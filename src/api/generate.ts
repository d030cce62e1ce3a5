// `npm run generate`: writes the CRDs (config/crd/bases/vyogo.tech_<plural>.yaml) and the API
// reference (docs/api-reference.md) from the schemas in src/api/v1alpha1, and the install bundle
// (config/rbac, config/manager, config/install.yaml) from src/deploy. `generatedFiles()` is
// also what the unit test compares with the committed files.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crdPath, crdYaml } from './crd.ts';
import { bundleFiles } from '../deploy/bundle.ts';
import { apiReference } from './docs.ts';
import { KINDS } from './v1alpha1/index.ts';

/** Repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Every generated file: path relative to the repository root → content. */
export function generatedFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const kind of KINDS) files.set(crdPath(kind), crdYaml(kind));
  files.set('docs/api-reference.md', apiReference(KINDS));
  for (const [path, content] of bundleFiles()) files.set(path, content);
  return files;
}

async function main(): Promise<void> {
  for (const [path, content] of generatedFiles()) {
    const target = join(ROOT, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content);
    console.log(`wrote ${path}`);
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}
