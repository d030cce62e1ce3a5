// Shared steps of the API integration tests: apply an object into a test namespace, read objects
// back, compare a stored object with what was sent, and tell when our CRDs were replaced.
import { strict as assert } from 'node:assert';
import { isDeepStrictEqual } from 'node:util';
import { kubectl } from '../../harness/kubectl.ts';
import { customResourceDefinition } from '../../../src/api/crd.ts';
import { KINDS } from '../../../src/api/v1alpha1/index.ts';
import type { KindName } from '../../../src/api/v1alpha1/index.ts';

/**
 * Why an invalid object may have been accepted: CRDs are cluster-wide, so a test applying another
 * version of our CRDs replaces config/crd/bases for every test of the run. Returns a description
 * of the difference, or undefined when the installed schema is the generated one.
 */
export async function installedCrdDiffers(kind: KindName): Promise<string | undefined> {
  const definition = KINDS.find((k) => k.kind === kind);
  if (definition === undefined) return `unknown kind ${kind}`;
  const name = `${definition.plural}.${definition.group}`;
  const live = JSON.parse((await kubectl(['get', 'crd', name, '-o', 'json'])).stdout) as {
    spec: { versions: { schema: unknown }[] };
  };
  const expected = customResourceDefinition(definition) as typeof live;
  return isDeepStrictEqual(live.spec.versions[0]?.schema, expected.spec.versions[0]?.schema)
    ? undefined
    : `the installed CRD ${name} is not config/crd/bases (another test applied a different one)`;
}

/**
 * The object without metadata.namespace: the guide's manifests say `namespace: production`, and
 * each test applies them into its own namespace with `-n <namespace>` instead (kubectl refuses a
 * manifest whose namespace differs from -n, so the field is removed in memory, nothing else).
 */
export function withoutNamespace(obj: Record<string, unknown>): Record<string, unknown> {
  const metadata = { ...(obj.metadata as Record<string, unknown>) };
  delete metadata.namespace;
  return { ...obj, metadata };
}

/** `kubectl <verb> -n namespace -f -` with the object (namespace removed); returns the result. */
export async function submit(
  verb: 'apply' | 'create',
  obj: Record<string, unknown>,
  namespace: string,
  allowFailure = false,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return kubectl([verb, '-f', '-'], {
    namespace,
    input: JSON.stringify(withoutNamespace(obj)),
    allowFailure,
  });
}

/** The stored object, as JSON. */
export async function getObject(
  resource: string,
  name: string,
  namespace: string,
): Promise<Record<string, unknown>> {
  const res = await kubectl(['get', resource, name, '-o', 'json'], { namespace });
  return JSON.parse(res.stdout) as Record<string, unknown>;
}

/**
 * Asserts that every field of `expected` is in `actual` with the same value, recursively; lists
 * must have the same length, element by element (the API server may add defaulted fields).
 */
export function assertContains(actual: unknown, expected: unknown, path = ''): void {
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${path} is not a list in ${JSON.stringify(actual)}`);
    assert.equal(actual.length, expected.length, `${path} length`);
    expected.forEach((item, i) => {
      assertContains(actual[i], item, `${path}[${i}]`);
    });
    return;
  }
  if (typeof expected === 'object' && expected !== null) {
    assert.ok(
      typeof actual === 'object' && actual !== null && !Array.isArray(actual),
      `${path || '<root>'} is not an object in ${JSON.stringify(actual)}`,
    );
    for (const [key, value] of Object.entries(expected)) {
      assertContains((actual as Record<string, unknown>)[key], value, `${path}.${key}`);
    }
    return;
  }
  assert.deepEqual(actual, expected, `${path} differs`);
}
