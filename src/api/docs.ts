// API reference generator: renders docs/api-reference.md from the generated structural schemas of
// the kinds (field, type, default, validation with the exact admission messages, description),
// so the reference can never disagree with the CRDs.
import { openAPIV3Schema } from './crd.ts';
import type { StructuralSchema } from './crd.ts';
import type { KindDefinition } from './schema.ts';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function code(text: string): string {
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``;
}

function typeName(node: StructuralSchema): string {
  if (node['x-kubernetes-int-or-string'] === true) return 'int-or-string';
  if (node['x-kubernetes-preserve-unknown-fields'] === true) return 'object (free-form)';
  switch (node.type) {
    case 'array':
      return `[]${node.items === undefined ? 'unknown' : typeName(node.items)}`;
    case 'object':
      return node.additionalProperties === undefined
        ? 'object'
        : `map[string]${typeName(node.additionalProperties)}`;
    case 'integer':
      return node.format ?? 'integer';
    case undefined:
      return 'unknown';
    default:
      return node.format === undefined ? node.type : `${node.type} (${node.format})`;
  }
}

function constraints(node: StructuralSchema): string[] {
  const out: string[] = [];
  if (node.enum !== undefined)
    out.push(`One of ${node.enum.map((v) => code(String(v))).join(', ')}.`);
  if (node.minimum !== undefined && node.maximum !== undefined) {
    out.push(`${node.minimum}–${node.maximum}.`);
  } else if (node.minimum !== undefined) out.push(`≥ ${node.minimum}.`);
  else if (node.maximum !== undefined) out.push(`≤ ${node.maximum}.`);
  if (node.pattern !== undefined) out.push(`Matches ${code(node.pattern)}.`);
  if (node.maxLength !== undefined) out.push(`At most ${node.maxLength} characters.`);
  if (node.minItems !== undefined) out.push(`At least ${node.minItems} items.`);
  if (node.maxItems !== undefined) out.push(`At most ${node.maxItems} items.`);
  if (node.maxProperties !== undefined) out.push(`At most ${node.maxProperties} entries.`);
  if (node['x-kubernetes-list-type'] === 'map') {
    out.push(`Keyed by ${(node['x-kubernetes-list-map-keys'] ?? []).join(', ')}.`);
  }
  if (node['x-kubernetes-list-type'] === 'set') out.push('No duplicates.');
  for (const rule of node['x-kubernetes-validations'] ?? []) {
    out.push(`${rule.rule.includes('oldSelf') ? 'On update: ' : ''}“${rule.message}”`);
  }
  return out;
}

interface Row {
  path: string;
  node: StructuralSchema;
  required: boolean;
}

/** Whether a map value or list item gets rows of its own (objects, or values with rules). */
function documented(node: StructuralSchema | undefined): node is StructuralSchema {
  return node?.properties !== undefined || node?.['x-kubernetes-validations'] !== undefined;
}

/** Flattens a schema into rows: `a.b`, `list[].c`, `map.<key>.d`. */
function rows(node: StructuralSchema, path: string, required: boolean): Row[] {
  const out: Row[] = path === '' ? [] : [{ path, node, required }];
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const childPath = path === '' ? key : `${path}.${key}`;
    out.push(...rows(child, childPath, node.required?.includes(key) ?? false));
  }
  if (documented(node.additionalProperties)) {
    out.push(...rows(node.additionalProperties, `${path}.<key>`, false));
  }
  if (documented(node.items)) out.push(...rows(node.items, `${path}[]`, false));
  return out;
}

function table(node: StructuralSchema): string {
  const lines = ['| Field | Type | Default | Validation | Description |', '|---|---|---|---|---|'];
  for (const row of rows(node, '', false)) {
    const def =
      row.node.default === undefined
        ? row.required
          ? 'required'
          : ''
        : code(JSON.stringify(row.node.default));
    lines.push(
      `| ${code(row.path)} | ${cell(typeName(row.node))} | ${cell(def)} | ${cell(constraints(row.node).join(' '))} | ${cell(row.node.description ?? '')} |`,
    );
  }
  return lines.join('\n');
}

function kindSection(definition: KindDefinition): string {
  const schema = openAPIV3Schema(definition);
  const spec = schema.properties?.spec;
  const status = schema.properties?.status;
  const columns = definition.printerColumns.map(
    (c) =>
      `| ${c.name} | ${code(c.jsonPath)} | ${c.type} | ${c.priority === 1 ? '`-o wide`' : 'default'} |`,
  );
  const objectRules = (schema['x-kubernetes-validations'] ?? []).map((r) => `* “${r.message}”`);
  return [
    `## ${definition.kind}`,
    '',
    definition.description,
    '',
    '| | |',
    '|---|---|',
    `| API version | ${code(`${definition.group}/${definition.version}`)} |`,
    `| Resource | ${code(definition.plural)} (singular ${code(definition.singular)}), namespaced, status subresource |`,
    `| Short names | ${definition.shortNames.map(code).join(', ')} |`,
    `| Categories | ${definition.categories.map(code).join(', ')} |`,
    '',
    '**Printer columns**',
    '',
    '| Column | JSONPath | Type | Shown |',
    '|---|---|---|---|',
    ...columns,
    ...(objectRules.length > 0 ? ['', '**Object rules**', '', ...objectRules] : []),
    '',
    `### ${definition.kind} spec`,
    '',
    spec?.description ?? '',
    '',
    ...(spec?.['x-kubernetes-validations'] ?? []).map(
      (r) => `* ${r.rule.includes('oldSelf') ? 'On update: ' : ''}“${r.message}”`,
    ),
    ...(spec?.['x-kubernetes-validations'] === undefined ? [] : ['']),
    spec === undefined ? '' : table(spec),
    '',
    `### ${definition.kind} status`,
    '',
    status === undefined ? '' : table(status),
    '',
  ].join('\n');
}

/** The whole API reference (Markdown). */
export function apiReference(kinds: readonly KindDefinition[]): string {
  const first = kinds[0];
  const apiVersion = first === undefined ? '' : `${first.group}/${first.version}`;
  return [
    `# API reference — ${apiVersion}`,
    '',
    '<!-- Generated by `npm run generate` from src/api; do not edit. -->',
    '',
    'Fields, types, schema defaults (written by the API server), and the validation each field gets',
    'at admission, with the exact message `kubectl` prints. Defaults computed by the operator at',
    'runtime are named in the descriptions. Quoted messages come from CEL rules; rules marked',
    '"On update" compare the new object with the stored one.',
    '',
    ...kinds.map(
      (k) => `* [${k.kind}](#${k.kind.toLowerCase()}) (${k.shortNames.map(code).join(', ')})`,
    ),
    '',
    ...kinds.map(kindSection),
  ].join('\n');
}
