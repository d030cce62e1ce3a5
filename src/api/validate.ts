// Runtime validation of our kinds: applies the schema defaults the way the API server does
// (structural defaulting of the generated CRD schema), then checks the OpenAPI part of the schema
// with TypeBox's compiled checker. CEL rules (x-kubernetes-validations) run only in the API
// server; errors of CEL-enforced patterns and enums carry the same message as the API server's.
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { TypeCheck } from '@sinclair/typebox/compiler';
import type { Static, TSchema } from '@sinclair/typebox';
import { openAPIV3Schema } from './crd.ts';
import type { StructuralSchema } from './crd.ts';
import { MESSAGE } from './schema.ts';
import type { KindDefinition } from './schema.ts';

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: string[] };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Fills absent fields that have a schema default, recursing into defaulted values too, as the API
 * server's structural defaulting does. Mutates `value`.
 */
export function applyDefaults(schema: StructuralSchema, value: unknown): void {
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

/** `/spec/apps/0/name` → `spec.apps[0].name`. */
function fieldPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc === '' ? p : `${acc}.${p}`), '');
}

const structuralSchemas = new WeakMap<KindDefinition, StructuralSchema>();

/** The kind's structural schema, built once. */
function structuralOf(definition: KindDefinition): StructuralSchema {
  let schema = structuralSchemas.get(definition);
  if (schema === undefined) {
    schema = openAPIV3Schema(definition);
    structuralSchemas.set(definition, schema);
  }
  return schema;
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

/** The schema defaults of one kind, so that no default is written a second time in code. */
export function createDefaulter<T extends TSchema>(
  definition: KindDefinition<T>,
): Defaulter<Static<T>> {
  return {
    apply(obj) {
      const value = structuredClone(obj);
      applyDefaults(structuralOf(definition), value);
      return value;
    },
    fill<V extends object>(value: V | undefined, ...path: string[]): V {
      let schema: StructuralSchema | undefined = structuralOf(definition);
      for (const p of path) {
        schema = p === '*' ? (schema.additionalProperties ?? schema.items) : schema.properties?.[p];
        if (schema === undefined) {
          throw new Error(`${definition.kind}: no schema at ${path.join('.')}`);
        }
      }
      const filled = structuredClone(value ?? ({} as V));
      applyDefaults(schema, filled);
      return filled;
    },
  };
}

/** A validator for one kind: defaults, then the compiled TypeBox check. */
export function createValidator<T extends TSchema>(
  definition: KindDefinition<T>,
): (obj: unknown) => ValidationResult<Static<T>> {
  let check: TypeCheck<T> | undefined;
  return (obj) => {
    check ??= TypeCompiler.Compile(definition.schema);
    const value: unknown = structuredClone(obj);
    applyDefaults(structuralOf(definition), value);
    if (check.Check(value)) return { ok: true, value };
    const errors = [...check.Errors(value)].map((e) => {
      const message = (e.schema as Record<string, unknown>)[MESSAGE];
      return `${fieldPath(e.path) || '<root>'}: ${typeof message === 'string' ? message : e.message}`;
    });
    return { ok: false, errors: [...new Set(errors)] };
  };
}
