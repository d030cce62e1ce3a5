// Schema → CustomResourceDefinition. Converts a TypeBox kind schema into a structural OpenAPI v3
// schema the API server accepts: TypeBox symbols and `$id` dropped, string unions as `enum`,
// TypeBox records as `additionalProperties` maps, int-or-string and preserve-unknown nodes in the
// forms Kubernetes requires, and `x-frappe-message` constraints turned into CEL rules. Anything the
// converter does not understand is an error, so a generated CRD never carries a stray keyword.
import { Kind } from '@sinclair/typebox';
import type { TSchema } from '@sinclair/typebox';
import { stringify } from 'yaml';
import { MESSAGE, celList, celRegex } from './schema.ts';
import type { CelRule, KindDefinition } from './schema.ts';

/** A node of a structural schema (apiextensions.k8s.io/v1 JSONSchemaProps, the subset we emit). */
export interface StructuralSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  default?: unknown;
  properties?: Record<string, StructuralSchema>;
  required?: string[];
  additionalProperties?: StructuralSchema;
  items?: StructuralSchema;
  anyOf?: StructuralSchema[];
  enum?: unknown[];
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-preserve-unknown-fields'?: true;
  'x-kubernetes-validations'?: CelRule[];
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
}

/** Key order of emitted nodes, so the YAML reads type first and children last. */
const ORDER = [
  'type',
  'description',
  'default',
  'enum',
  'format',
  'pattern',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'x-kubernetes-int-or-string',
  'anyOf',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-validations',
  'required',
  'properties',
  'additionalProperties',
  'items',
] as const satisfies readonly (keyof StructuralSchema)[];

/** Keywords the converter derives from a node's TypeBox kind; the rest are copied. */
const DERIVED: readonly string[] = [
  'type',
  'enum',
  'anyOf',
  'x-kubernetes-int-or-string',
  'x-kubernetes-preserve-unknown-fields',
  'required',
  'properties',
  'additionalProperties',
  'items',
];

/** Keywords copied unchanged from a TypeBox node to the structural node. */
const COPIED = ORDER.filter((key) => !DERIVED.includes(key));

function ordered(node: StructuralSchema): StructuralSchema {
  const unknown = Object.keys(node).filter((k) => !(ORDER as readonly string[]).includes(k));
  if (unknown.length > 0) throw new Error(`no output order for ${unknown.join(', ')}`);
  const out: StructuralSchema = {};
  for (const key of ORDER) if (node[key] !== undefined) Object.assign(out, { [key]: node[key] });
  return out;
}

/** Structural keywords each TypeBox kind may carry besides COPIED ones. */
const SHAPE: Record<string, readonly string[]> = {
  Object: ['type', 'properties', 'required', 'additionalProperties'],
  Record: [
    'type',
    'patternProperties',
    'additionalProperties',
    'x-kubernetes-preserve-unknown-fields',
  ],
  Array: ['type', 'items'],
  String: ['type'],
  Integer: ['type'],
  Boolean: ['type'],
  Literal: ['type', 'const'],
  Union: ['anyOf', 'x-kubernetes-int-or-string'],
  Unknown: [],
};

type Node = Readonly<Record<string, unknown>> & { readonly [Kind]: string };

function fail(path: string, problem: string): never {
  throw new Error(`${path || '<root>'}: ${problem}`);
}

function literalValues(node: Node, path: string): string[] {
  const members = node[Kind] === 'Literal' ? [node] : (node.anyOf as Node[]);
  return members.map((m) => {
    if (m[Kind] !== 'Literal' || typeof m.const !== 'string') {
      fail(path, 'unions must be of string literals, or int-or-string');
    }
    return m.const;
  });
}

/** Converts one TypeBox schema node (and its children) into a structural schema node. */
export function toStructural(schema: TSchema, path = ''): StructuralSchema {
  const node = schema as unknown as Node;
  const kind = node[Kind];
  const shape = SHAPE[kind] ?? fail(path, `unsupported TypeBox kind ${kind}`);
  for (const key of Object.keys(node)) {
    if (
      key !== MESSAGE &&
      key !== '$id' &&
      !shape.includes(key) &&
      !(COPIED as readonly string[]).includes(key)
    ) {
      fail(path, `unsupported keyword ${key}`);
    }
  }
  const out: StructuralSchema = {};
  for (const key of COPIED) {
    if (node[key] !== undefined) Object.assign(out, { [key]: structuredClone(node[key]) });
  }
  const rules: CelRule[] = [];
  const message = node[MESSAGE] as string | undefined;

  if (node['x-kubernetes-preserve-unknown-fields'] === true) {
    return ordered({ ...out, type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
  }
  switch (kind) {
    case 'Object': {
      out.type = 'object';
      const properties = node.properties as Record<string, TSchema>;
      out.properties = Object.fromEntries(
        Object.entries(properties).map(([k, v]) => [k, toStructural(v, `${path}.${k}`)]),
      );
      const required = node.required as string[] | undefined;
      if (required !== undefined && required.length > 0) out.required = [...required];
      if (node.additionalProperties !== undefined)
        fail(path, 'objects must not set additionalProperties');
      break;
    }
    case 'Record': {
      out.type = 'object';
      const [value] = Object.values(node.patternProperties as Record<string, TSchema>);
      if (value === undefined) fail(path, 'record without value schema');
      out.additionalProperties = toStructural(value, `${path}[*]`);
      if (node.additionalProperties !== undefined && node.additionalProperties !== false) {
        fail(path, 'records must not have a schema for additionalProperties');
      }
      break;
    }
    case 'Array':
      out.type = 'array';
      out.items = toStructural(node.items as TSchema, `${path}[]`);
      break;
    case 'String':
      out.type = 'string';
      if (message !== undefined && out.pattern !== undefined) {
        rules.push({ rule: `self.matches(${celRegex(out.pattern)})`, message });
        delete out.pattern;
      }
      break;
    case 'Integer':
      out.type = 'integer';
      break;
    case 'Boolean':
      out.type = 'boolean';
      break;
    case 'Literal':
    case 'Union': {
      if (node['x-kubernetes-int-or-string'] === true) {
        const members = node.anyOf as Node[];
        if (
          members.length !== 2 ||
          members[0]?.[Kind] !== 'Integer' ||
          members[1]?.[Kind] !== 'String'
        ) {
          fail(path, 'int-or-string must be Union([Integer, String])');
        }
        out['x-kubernetes-int-or-string'] = true;
        out.anyOf = [{ type: 'integer' }, { type: 'string' }];
        break;
      }
      const values = literalValues(node, path);
      out.type = 'string';
      if (message === undefined) out.enum = values;
      else rules.push({ rule: `self in ${celList(values)}`, message });
      break;
    }
    default:
      fail(path, `kind ${kind} cannot appear in a CRD schema`);
  }
  if (rules.length > 0) {
    out['x-kubernetes-validations'] = [...rules, ...(out['x-kubernetes-validations'] ?? [])];
  }
  return ordered(out);
}

/**
 * The openAPIV3Schema of a kind: apiVersion, kind and metadata as Kubernetes wants them at the
 * root (metadata.name rules become a root CEL rule), spec and status converted.
 */
export function openAPIV3Schema(definition: KindDefinition): StructuralSchema {
  const root = toStructural(definition.schema);
  const metadata = root.properties?.metadata;
  const rest = Object.fromEntries(
    Object.entries(root.properties ?? {}).filter(
      ([k]) => !['apiVersion', 'kind', 'metadata'].includes(k),
    ),
  );
  const rules: CelRule[] = [];
  const name = (metadata?.properties?.name?.['x-kubernetes-validations'] ?? []).map((r) => ({
    rule: r.rule.replace(/^self\./, 'self.metadata.name.'),
    message: r.message,
  }));
  const maxLength = metadata?.properties?.name?.maxLength;
  for (const rule of name) {
    rules.push(
      maxLength === undefined
        ? rule
        : {
            rule: `size(self.metadata.name) <= ${maxLength} && ${rule.rule}`,
            message: rule.message,
          },
    );
  }
  return {
    description: definition.description,
    type: 'object',
    required: root.required?.filter((r) => r in rest),
    properties: {
      apiVersion: {
        description: 'APIVersion defines the versioned schema of this representation of an object.',
        type: 'string',
      },
      kind: {
        description:
          'Kind is a string value representing the REST resource this object represents.',
        type: 'string',
      },
      // name and generateName typed and bounded (object names are at most 253 characters) so the
      // CEL cost estimate of the metadata.name rule uses that bound, not the request size.
      metadata: {
        type: 'object',
        properties: {
          name: { type: 'string', maxLength: 253 },
          generateName: { type: 'string', maxLength: 253 },
        },
      },
      ...rest,
    },
    ...(rules.length > 0 ? { 'x-kubernetes-validations': rules } : {}),
  };
}

/** The CustomResourceDefinition object of a kind. */
export function customResourceDefinition(definition: KindDefinition): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${definition.plural}.${definition.group}` },
    spec: {
      group: definition.group,
      names: {
        kind: definition.kind,
        listKind: definition.listKind,
        plural: definition.plural,
        singular: definition.singular,
        shortNames: [...definition.shortNames],
        categories: [...definition.categories],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: definition.version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: definition.printerColumns.map((c) => ({ ...c })),
          schema: { openAPIV3Schema: openAPIV3Schema(definition) },
        },
      ],
    },
  };
}

/** Path of a kind's generated CRD, relative to the repository root. */
export function crdPath(definition: KindDefinition): string {
  return `config/crd/bases/${definition.group}_${definition.plural}.yaml`;
}

const HEADER = '# Generated by `npm run generate` from src/api; do not edit.\n';

/**
 * Options of every YAML file we generate: YAML 1.2 output that YAML 1.1 readers (kubectl and the
 * API server, through sigs.k8s.io/yaml) read the same — strings such as `on`, `off`, `yes` or
 * `0755` are quoted, or they would read back as booleans and numbers.
 */
export const YAML_OUTPUT = { lineWidth: 0, compat: 'yaml-1.1' } as const;

/** The YAML text of a kind's CRD file. */
export function crdYaml(definition: KindDefinition): string {
  return HEADER + '---\n' + stringify(customResourceDefinition(definition), YAML_OUTPUT);
}
