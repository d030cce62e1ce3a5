// Schema building blocks shared by every API version: TypeBox helpers that carry the Kubernetes
// OpenAPI extensions (int-or-string, preserve-unknown-fields, CEL rules), the kind-definition shape
// that crd.ts, docs.ts and validate.ts consume, and CEL string helpers.
//
// One schema serves three consumers. TypeBox's compiled checker validates the OpenAPI part at
// runtime; crd.ts converts the same schema into a structural CRD schema; docs.ts documents it.
// `MESSAGE` marks a node whose pattern or enum must be enforced by CEL with a fixed message (so the
// API server returns exactly the message of API.md §6 instead of its standard one): crd.ts turns
// the constraint into a CEL rule, and the runtime validator reports the same message.
import { FormatRegistry, Type } from '@sinclair/typebox';
import type { SchemaOptions, Static, TSchema, TString } from '@sinclair/typebox';

/** Schema keyword (ours, stripped from CRDs) holding the message of a CEL-enforced pattern/enum. */
export const MESSAGE = 'x-frappe-message';

/** One `x-kubernetes-validations` entry. */
export interface CelRule {
  rule: string;
  message: string;
  fieldPath?: string;
  reason?:
    'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

/** A printer column of a CRD version (`additionalPrinterColumns`). */
export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  priority?: number;
  format?: string;
}

/** Everything needed to emit one CRD and document it. */
export interface KindDefinition<T extends TSchema = TSchema> {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: readonly string[];
  categories: readonly string[];
  description: string;
  schema: T;
  printerColumns: readonly PrinterColumn[];
}

/** Options accepted by the helpers: any TypeBox option plus CEL rules. */
export type Options = SchemaOptions & { 'x-kubernetes-validations'?: readonly CelRule[] };

/** A CEL raw-string literal for a regular expression (RE2 syntax, no single quotes). */
export function celRegex(pattern: string): string {
  if (pattern.includes("'")) throw new Error(`pattern must not contain a single quote: ${pattern}`);
  return `r'${pattern}'`;
}

/**
 * CEL: the int-or-string expression holds an integer. Written `type(x) in [int]`, not
 * `type(x) == int`: the cost estimator prices `==` by the size of `x`, which for int-or-string is
 * the whole request (3 MiB), and `in` by the length of the list.
 */
export function celIsInt(expr: string): string {
  return `(type(${expr}) in [int])`;
}

/**
 * CEL for the quantity of an int-or-string expression. `string(x)` is avoided on purpose: the CEL
 * cost estimator cannot bound the size of a converted value and would reject the rule.
 */
export function celQuantity(expr: string): string {
  return `(${celIsInt(expr)} ? quantity('0').add(${expr}) : quantity(${expr}))`;
}

/** CEL that is true when an int-or-string expression is an integer or a valid quantity string. */
export function celIsQuantity(expr: string): string {
  return `(${celIsInt(expr)} || isQuantity(${expr}))`;
}

/** CEL: every step of the dotted `path` under `root` is set, e.g. `has(self.a) && has(self.a.b)`. */
export function celHas(path: string, root = 'self'): string {
  const steps = path.split('.');
  return steps.map((_, i) => `has(${root}.${steps.slice(0, i + 1).join('.')})`).join(' && ');
}

/**
 * CEL transition rule: the optional field at `path` is unchanged, presence included. Written with
 * has() rather than optionals (`self.?a == oldSelf.?a`): the CEL cost estimator cannot bound the
 * size of an optional value and rejects such rules.
 */
export function celUnchanged(path: string): string {
  const now = celHas(path, 'self');
  return `(${now}) == (${celHas(path, 'oldSelf')}) && (!(${now}) || self.${path} == oldSelf.${path})`;
}

/** A CEL list literal of strings. */
export function celList(values: readonly string[]): string {
  return `[${values.map((v) => `'${v}'`).join(', ')}]`;
}

/** A string enum (OpenAPI `enum`, standard API server message). */
export function StringEnum<const T extends readonly string[]>(values: T, options: Options) {
  return Type.Unsafe<T[number]>(
    Type.Union(
      values.map((v) => Type.Literal(v)),
      options,
    ),
  );
}

/** A string enum enforced by CEL with a fixed message instead of OpenAPI `enum`. */
export function MessageEnum<const T extends readonly string[]>(
  values: T,
  message: string,
  options: Options,
) {
  return StringEnum(values, { maxLength: 64, ...options, [MESSAGE]: message });
}

/** A string that must match `pattern`, enforced by CEL `matches` with `message`. */
export function PatternString(
  pattern: string,
  message: string,
  options: Options & { maxLength: number },
): TString {
  return Type.String({ ...options, pattern, [MESSAGE]: message });
}

/** int-or-string (`x-kubernetes-int-or-string`); `stringPattern` constrains the string form. */
export function IntOrString(options: Options & { maxLength: number; stringPattern?: string }) {
  const { maxLength, stringPattern, ...rest } = options;
  return Type.Union(
    [
      Type.Integer(),
      Type.String(
        stringPattern === undefined ? { maxLength } : { maxLength, pattern: stringPattern },
      ),
    ],
    { ...rest, 'x-kubernetes-int-or-string': true },
  );
}

/** A map with free string keys (`additionalProperties`). */
export function MapOf<V extends TSchema>(value: V, options: Options & { maxProperties: number }) {
  return Type.Unsafe<Record<string, Static<V>>>(Type.Record(Type.String(), value, options));
}

/**
 * A map whose keys must be one of `keys`. The CRD has a plain map (unknown keys must be rejected,
 * not pruned); the caller adds the CEL rule naming the allowed keys. TypeBox checks the keys too.
 */
export function KeyedMap<const K extends readonly string[], V extends TSchema>(
  keys: K,
  value: V,
  options: Options & { maxProperties: number },
) {
  const keyPattern = `^(${keys.map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`;
  return Type.Unsafe<Partial<Record<K[number], Static<V>>>>(
    Type.Record(Type.String({ pattern: keyPattern }), value, {
      ...options,
      additionalProperties: false,
    }),
  );
}

/** An object kept as written (`x-kubernetes-preserve-unknown-fields`), e.g. core Affinity. */
export function PreserveUnknown(options: Options) {
  return Type.Unsafe<Record<string, unknown>>(
    Type.Record(Type.String(), Type.Unknown(), {
      ...options,
      'x-kubernetes-preserve-unknown-fields': true,
    }),
  );
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

// TypeBox rejects strings with an unregistered format; register the formats our schemas use.
FormatRegistry.Set('date-time', (value) => RFC3339.test(value) && !Number.isNaN(Date.parse(value)));
