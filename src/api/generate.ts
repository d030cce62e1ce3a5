// `npm run generate`: writes the CRDs (config/crd/bases/vyogo.tech_<plural>.yaml), the API
// reference (docs/api-reference.md) and the defaulting schemas (src/api/v1alpha1/defaulting.json)
// from the schemas in src/api/v1alpha1, and the install bundle
// (config/rbac, config/manager, config/install.yaml) and the monitoring files (config/prometheus,
// config/grafana, the chart's files/) and the generated parts of the Helm chart (Chart.yaml, crds/)
// from src/deploy. `generatedFiles()` is
// also what the unit test compares with the committed files.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crdPath, crdYaml, openAPIV3Schema } from './crd.ts';
import { defaultingSchema } from './defaults.ts';
import { bundleFiles } from '../deploy/bundle.ts';
import { chartFiles } from '../deploy/chart.ts';
import { monitoringFiles } from '../deploy/monitoring.ts';
import { apiReference } from './docs.ts';
import { KINDS } from './v1alpha1/index.ts';

/** Repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const DEFAULTING_PATH = 'src/api/v1alpha1/defaulting.json';

/** The defaulting schema of every kind (v1alpha1/defaulting.ts reads it). */
function defaultingJson(kinds: typeof KINDS): string {
  const schemas = Object.fromEntries(
    kinds.map((k) => [k.kind, defaultingSchema(openAPIV3Schema(k)) ?? {}]),
  );
  return `${JSON.stringify(schemas, null, 2)}\n`;
}

/** Every generated file: path relative to the repository root → content. */
export function generatedFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const kind of KINDS) files.set(crdPath(kind), crdYaml(kind));
  files.set('docs/api-reference.md', apiReference(KINDS));
  files.set(DEFAULTING_PATH, defaultingJson(KINDS));
  for (const [path, content] of bundleFiles()) files.set(path, content);
  for (const [path, content] of monitoringFiles()) files.set(path, content);
  for (const [path, content] of chartFiles()) files.set(path, content);
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
