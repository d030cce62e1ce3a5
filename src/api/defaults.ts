// Structural defaulting as the API server does it, without the schema library: fill absent fields
// that have a schema default, recursing into defaulted values too. The running operator defaults
// the objects it reads from the cache once (so builders never restate a default) from the
// defaulting schemas `npm run generate` extracts into v1alpha1/defaulting.json — the CRD schemas
// pruned to the paths that lead to a default — so it never loads the schemas themselves.
import type { StructuralSchema } from './crd.ts';

/** The part of a structural schema defaulting reads. */
export interface DefaultingSchema {
  default?: unknown;
  properties?: Record<string, DefaultingSchema>;
  additionalProperties?: DefaultingSchema;
  items?: DefaultingSchema;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Fills absent fields of `value` that have a schema default, recursively. Mutates `value`. */
export function applyDefaults(schema: DefaultingSchema, value: unknown): void {
  if (Array.isArray(value)) {
    if (schema.items !== undefined) for (const item of value) applyDefaults(schema.items, item);
    return;
  }
  if (!isObject(value)) return;
  for (const [key, property] of Object.entries(schema.properties ?? {})) {
    if (value[key] === undefined && property.default !== undefined) {
      value[key] = structuredClone(property.default);
    }
  }
  for (const [key, child] of Object.entries(value)) {
    const property = schema.properties?.[key] ?? schema.additionalProperties;
    if (property !== undefined) applyDefaults(property, child);
  }
}

/** `schema` reduced to what defaulting reads; undefined when nothing below it has a default. */
export function defaultingSchema(schema: StructuralSchema): DefaultingSchema | undefined {
  const properties = Object.fromEntries(
    Object.entries(schema.properties ?? {}).flatMap(([k, v]) => {
      const d = defaultingSchema(v);
      return d === undefined ? [] : [[k, d]];
    }),
  );
  const additional =
    schema.additionalProperties === undefined
      ? undefined
      : defaultingSchema(schema.additionalProperties);
  const items = schema.items === undefined ? undefined : defaultingSchema(schema.items);
  const out: DefaultingSchema = {
    ...(schema.default === undefined ? {} : { default: schema.default }),
    ...(Object.keys(properties).length === 0 ? {} : { properties }),
    ...(additional === undefined ? {} : { additionalProperties: additional }),
    ...(items === undefined ? {} : { items }),
  };
  return Object.keys(out).length === 0 ? undefined : out;
}

export interface Defaulter<T> {
  /** A copy of `obj` with the schema defaults filled in, as the API server stores it. */
  apply(obj: T): T;
  /**
   * `value` (or `{}` when absent) with the defaults of the schema at `path` filled in — a copy.
   * `path` names properties; `*` steps into the values of a map or the items of a list. For
   * optional objects the API server leaves absent, whose fields still have defaults.
   */
  fill<V extends object>(value: V | undefined, ...path: string[]): V;
}

/** The defaults of one kind, from its defaulting schema. */
export function createDefaulter<T>(kind: string, schema: DefaultingSchema): Defaulter<T> {
  return {
    apply(obj) {
      const value = structuredClone(obj);
      applyDefaults(schema, value);
      return value;
    },
    fill<V extends object>(value: V | undefined, ...path: string[]): V {
      let at: DefaultingSchema | undefined = schema;
      for (const p of path) {
        // A path without defaults below it was pruned: there is nothing to fill there.
        at = p === '*' ? (at.additionalProperties ?? at.items) : at.properties?.[p];
        if (at === undefined) throw new Error(`${kind}: no defaults at ${path.join('.')}`);
      }
      const filled = structuredClone(value ?? ({} as V));
      applyDefaults(at, filled);
      return filled;
    },
  };
}
