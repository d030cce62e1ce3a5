// Runtime validation of our kinds: applies the schema defaults the way the API server does
// (structural defaulting of the generated CRD schema), then checks the OpenAPI part of the schema
// with TypeBox's compiled checker. CEL rules (x-kubernetes-validations) run only in the API
// server; errors of CEL-enforced patterns and enums carry the same message as the API server's.
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { TypeCheck } from '@sinclair/typebox/compiler';
import type { Static, TSchema } from '@sinclair/typebox';
import { openAPIV3Schema } from './crd.ts';
import type { StructuralSchema } from './crd.ts';
import { applyDefaults } from './defaults.ts';
import { MESSAGE } from './schema.ts';
import type { KindDefinition } from './schema.ts';

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: string[] };

/** `/spec/apps/0/name` → `spec.apps[0].name`. */
function fieldPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc === '' ? p : `${acc}.${p}`), '');
}

/** A validator for one kind: defaults, then the compiled TypeBox check. */
export function createValidator<T extends TSchema>(
  definition: KindDefinition<T>,
): (obj: unknown) => ValidationResult<Static<T>> {
  let compiled: { structural: StructuralSchema; check: TypeCheck<T> } | undefined;
  return (obj) => {
    compiled ??= {
      structural: openAPIV3Schema(definition),
      check: TypeCompiler.Compile(definition.schema),
    };
    const value: unknown = structuredClone(obj);
    applyDefaults(compiled.structural, value);
    if (compiled.check.Check(value)) return { ok: true, value };
    const errors = [...compiled.check.Errors(value)].map((e) => {
      const message = (e.schema as Record<string, unknown>)[MESSAGE];
      return `${fieldPath(e.path) || '<root>'}: ${typeof message === 'string' ? message : e.message}`;
    });
    return { ok: false, errors: [...new Set(errors)] };
  };
}
