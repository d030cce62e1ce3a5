// Structural-schema lint of the generated CRDs: every node is typed (or int-or-string /
// preserve-unknown in the forms the API server accepts), only keywords Kubernetes knows appear,
// quantities are int-or-string checked by isQuantity, maps use additionalProperties, preserve-
// unknown appears only where intended, every field is described, what CEL reads is bounded, and
// transition rules sit where the API server evaluates them.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { customResourceDefinition } from '../../../src/api/crd.ts';
import type { StructuralSchema } from '../../../src/api/crd.ts';
import { KINDS } from '../../../src/api/v1alpha1/index.ts';

/**
 * What the API server accepts in a CRD schema node: the fields of apiextensions.k8s.io/v1
 * JSONSchemaProps (k8s.io/apiextensions-apiserver, types_jsonschema.go, in its order) but those
 * its validation forbids (id, $ref, patternProperties, dependencies, additionalItems,
 * definitions).
 */
const ACCEPTED_KEYS = new Set(
  (
    '$schema description type format title default maximum exclusiveMaximum minimum ' +
    'exclusiveMinimum maxLength minLength pattern maxItems minItems uniqueItems multipleOf enum ' +
    'maxProperties minProperties required items allOf oneOf anyOf not properties ' +
    'additionalProperties externalDocs example nullable x-kubernetes-preserve-unknown-fields ' +
    'x-kubernetes-embedded-resource x-kubernetes-int-or-string x-kubernetes-list-map-keys ' +
    'x-kubernetes-list-type x-kubernetes-map-type x-kubernetes-validations'
  ).split(' '),
);

/** The only places whose content Kubernetes keeps unvalidated. */
const PRESERVE_UNKNOWN = new Set([
  'FrappeBench.spec.podConfig.affinity',
  'FrappeBench.spec.podConfig.topologySpreadConstraints[]',
]);

/** int-or-string fields that are not quantities. */
const INT_OR_STRING_NOT_QUANTITY = new Set([
  'FrappeBench.spec.podDisruptionBudget.maxUnavailable',
  'FrappeBench.spec.dbConfig.port',
  'FrappeSite.spec.dbConfig.port',
]);

interface Visit {
  path: string;
  node: StructuralSchema;
  /** Whether the node is always present when its parent is (required or defaulted). */
  present: boolean;
  /** Whether the node is inside an array item or a map value. */
  repeated: boolean;
}

function walk(node: StructuralSchema, path: string, present: boolean, repeated: boolean): Visit[] {
  const out: Visit[] = [{ path, node, present, repeated }];
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const always = (node.required?.includes(key) ?? false) || child.default !== undefined;
    out.push(...walk(child, `${path}.${key}`, always, repeated));
  }
  if (node.additionalProperties !== undefined) {
    out.push(...walk(node.additionalProperties, `${path}[*]`, false, true));
  }
  if (node.items !== undefined) out.push(...walk(node.items, `${path}[]`, false, true));
  return out;
}

function schemaOf(kind: (typeof KINDS)[number]): StructuralSchema {
  const crd = customResourceDefinition(kind) as {
    spec: { versions: { schema: { openAPIV3Schema: StructuralSchema } }[] };
  };
  const schema = crd.spec.versions[0]?.schema.openAPIV3Schema;
  assert.ok(schema !== undefined);
  return schema;
}

for (const kind of KINDS) {
  describe(`${kind.kind} CRD schema`, () => {
    const visits = walk(schemaOf(kind), kind.kind, true, false);
    const fields = visits.filter((v) => !v.path.endsWith('[]') && !v.path.endsWith('[*]'));

    it('is structural: every node has a type, or is int-or-string or preserve-unknown', () => {
      for (const { path, node } of visits) {
        if (node['x-kubernetes-int-or-string'] === true) {
          assert.equal(node.type, undefined, path);
          assert.deepEqual(node.anyOf, [{ type: 'integer' }, { type: 'string' }], path);
          continue;
        }
        assert.ok(node.type !== undefined, `${path} has no type`);
        assert.equal(node.anyOf, undefined, `${path}: anyOf outside int-or-string`);
        if (node['x-kubernetes-preserve-unknown-fields'] === true) {
          assert.equal(node.type, 'object', path);
          assert.equal(node.properties, undefined, path);
        }
      }
    });

    it('uses only keywords the API server accepts', () => {
      for (const { path, node } of visits) {
        for (const key of Object.keys(node)) assert.ok(ACCEPTED_KEYS.has(key), `${path}: ${key}`);
      }
      const text = JSON.stringify(schemaOf(kind));
      for (const banned of ['$ref', '$id', 'patternProperties', '"const"', 'x-frappe']) {
        assert.ok(!text.includes(banned), `schema contains ${banned}`);
      }
    });

    it('keeps unknown fields only at the allow-listed paths', () => {
      const preserved = visits
        .filter((v) => v.node['x-kubernetes-preserve-unknown-fields'] === true)
        .map((v) => v.path);
      for (const path of preserved) assert.ok(PRESERVE_UNKNOWN.has(path), path);
    });

    it('makes maps with additionalProperties and never mixes them with properties', () => {
      for (const { path, node } of visits) {
        if (node.additionalProperties === undefined) continue;
        assert.equal(node.type, 'object', path);
        assert.equal(node.properties, undefined, path);
        assert.ok(
          node.maxProperties !== undefined || path.includes('.status'),
          `${path} unbounded`,
        );
      }
    });

    it('checks quantities as int-or-string with isQuantity', () => {
      for (const { path, node } of visits) {
        if (node['x-kubernetes-int-or-string'] !== true) continue;
        const normalized = path.replace(/\[\*\]|\[\]/g, '');
        if (INT_OR_STRING_NOT_QUANTITY.has(normalized)) continue;
        const rules = (node['x-kubernetes-validations'] ?? []).map((r) => r.rule).join(' ');
        assert.ok(rules.includes('isQuantity(self)'), `${path} is not checked as a quantity`);
      }
    });

    it('describes every field', () => {
      for (const { path, node } of fields) {
        if (path.startsWith(`${kind.kind}.metadata`)) continue;
        assert.ok((node.description ?? '').length > 0, `${path} has no description`);
      }
    });

    it('bounds every spec string, list and map (CEL cost)', () => {
      for (const { path, node } of visits) {
        if (!path.startsWith(`${kind.kind}.spec`)) continue;
        if (node.type === 'string') {
          assert.ok(node.maxLength !== undefined || node.enum !== undefined, `${path} maxLength`);
        }
        if (node.type === 'array') assert.ok(node.maxItems !== undefined, `${path} maxItems`);
      }
    });

    it('places transition rules where the API server evaluates them', () => {
      for (const { path, node, present, repeated } of visits) {
        for (const rule of node['x-kubernetes-validations'] ?? []) {
          assert.ok(rule.message.length > 0, `${path}: rule without message`);
          if (!rule.rule.includes('oldSelf')) continue;
          // A transition rule runs only when old and new both have the node: it must be on an
          // always-present node outside lists and maps (or the rule would be skipped silently).
          assert.ok(present && !repeated, `${path}: transition rule on an optional node`);
        }
      }
    });

    it('avoids CEL forms the cost estimator cannot bound', () => {
      // Each of these made the API server reject a CRD (estimated cost over budget): `==` on an
      // int-or-string is priced at the request size, string() and optionals have unknown size.
      const unbounded = [/type\([^)]*\)\s*[!=]=/, /\bstring\(/, /\.\?[\w.?]+\s*[!=]=\s*\w+\.\?/];
      for (const { path, node } of visits) {
        for (const { rule } of node['x-kubernetes-validations'] ?? []) {
          for (const form of unbounded) assert.ok(!form.test(rule), `${path}: ${rule}`);
        }
      }
    });

    it('keys list-maps by required fields', () => {
      for (const { path, node } of visits) {
        if (node['x-kubernetes-list-type'] !== 'map') continue;
        for (const key of node['x-kubernetes-list-map-keys'] ?? []) {
          assert.ok(node.items?.required?.includes(key), `${path}: list-map key ${key}`);
        }
      }
    });

    it('has defaults of the type of their field', () => {
      for (const { path, node } of visits) {
        if (node.default === undefined) continue;
        const actual = typeof node.default;
        if (node['x-kubernetes-int-or-string'] === true) {
          assert.ok(actual === 'string' || actual === 'number', path);
        } else if (node.type === 'integer') assert.ok(Number.isInteger(node.default), path);
        else if (node.type === 'object') assert.ok(actual === 'object', path);
        else assert.equal(actual, node.type, path);
        if (node.enum !== undefined) assert.ok(node.enum.includes(node.default), path);
      }
    });

    it('has conditions as metav1.Condition list-map keyed by type', () => {
      const conditions = visits.find((v) => v.path === `${kind.kind}.status.conditions`)?.node;
      assert.equal(conditions?.['x-kubernetes-list-type'], 'map');
      assert.deepEqual(conditions['x-kubernetes-list-map-keys'], ['type']);
      assert.deepEqual(Object.keys(conditions.items?.properties ?? {}).sort(), [
        'lastTransitionTime',
        'message',
        'observedGeneration',
        'reason',
        'status',
        'type',
      ]);
    });
  });
}
