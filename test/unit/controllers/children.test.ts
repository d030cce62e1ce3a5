// One property suite for the children of every controller (children.ts): each registered
// generator's objects are checked for restricted Pod Security, requests and limits, the standard
// labels, owner references and secret values outside Secret data. The last test shows that the
// suite catches a builder that leaks a secret.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Deployment } from '../../../src/controllers/shared/objects.ts';
import { benchGenerator } from './bench/generator.ts';
import { childViolations, type ChildrenGenerator, type GeneratedChildren } from './children.ts';
import { siteGenerator } from './site/generator.ts';

/** Every controller's children generator. */
const GENERATORS: (ChildrenGenerator & { inputs: fc.Arbitrary<GeneratedChildren> })[] = [
  benchGenerator,
  siteGenerator,
];

for (const gen of GENERATORS) {
  test(`${gen.controller}: every child has the properties of every operator object`, () => {
    fc.assert(
      fc.property(gen.inputs, (g) => {
        assert.deepEqual(childViolations(gen, g), []);
      }),
      { numRuns: 300 },
    );
  });
}

test('the suite catches a builder that puts a secret value into an env literal', () => {
  const leaky = (g: GeneratedChildren): GeneratedChildren => ({
    ...g,
    children: g.children.map((obj) => {
      if (obj.kind !== 'Deployment') return obj;
      const d = obj as Deployment;
      const pod = d.spec.template.spec;
      if (pod === undefined) return obj;
      const [first, ...rest] = pod.containers;
      if (first === undefined) return obj;
      const env = [...(first.env ?? []), { name: 'REDIS_PASSWORD', value: g.secrets[0] ?? '' }];
      return {
        ...d,
        spec: {
          ...d.spec,
          template: {
            ...d.spec.template,
            spec: { ...pod, containers: [{ ...first, env }, ...rest] },
          },
        },
      };
    }),
  });
  fc.assert(
    fc.property(benchGenerator.inputs, (g) => {
      const violations = childViolations(benchGenerator, leaky(g));
      assert.ok(
        violations.some((v) =>
          /Deployment .*: a secret value at \.spec\.template\.spec\.containers\[0\]\.env\[\d+\]\.value/.test(
            v,
          ),
        ),
        `leak not reported: ${violations.join('; ')}`,
      );
    }),
    { numRuns: 20 },
  );
});

test("the suite catches a site Job annotated with a generated Secret's value", () => {
  const leaky = (g: GeneratedChildren): GeneratedChildren => ({
    ...g,
    children: g.children.map((obj) =>
      obj.kind === 'Job'
        ? {
            ...obj,
            metadata: {
              ...obj.metadata,
              annotations: { ...obj.metadata.annotations, note: `pw=${g.secrets[0] ?? ''}` },
            },
          }
        : obj,
    ),
  });
  fc.assert(
    fc.property(siteGenerator.inputs, (g) => {
      const violations = childViolations(siteGenerator, leaky(g));
      assert.ok(
        violations.some((v) => /Job .*: a secret value at \.metadata\.annotations\.note/.test(v)),
        `leak not reported: ${violations.join('; ')}`,
      );
    }),
    { numRuns: 20 },
  );
});

test('the suite catches a Frappe container whose HOME is the image’s /home/frappe', () => {
  const homeInImage = (g: GeneratedChildren): GeneratedChildren => ({
    ...g,
    children: g.children.map((obj) => {
      if (obj.kind !== 'Deployment') return obj;
      const d = obj as Deployment;
      const pod = d.spec.template.spec;
      if (pod === undefined) return obj;
      const containers = pod.containers.map((c) => ({
        ...c,
        env: (c.env ?? []).map((e) => (e.name === 'HOME' ? { ...e, value: '/home/frappe' } : e)),
      }));
      return {
        ...d,
        spec: { ...d.spec, template: { ...d.spec.template, spec: { ...pod, containers } } },
      };
    }),
  });
  fc.assert(
    fc.property(benchGenerator.inputs, (g) => {
      const violations = childViolations(benchGenerator, homeInImage(g));
      assert.ok(
        violations.some((v) =>
          /Deployment .*-gunicorn\/gunicorn: HOME \/home\/frappe is in the image's home/.test(v),
        ),
        `not reported: ${violations.join('; ')}`,
      );
    }),
    { numRuns: 10 },
  );
});
