// ESLint flat config: typescript-eslint's strict type-checked rules over all TypeScript sources,
// plus the project's layering rule (below).
import path from 'node:path';
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

const ROOT = import.meta.dirname;

/**
 * Which code may not import which, by the imported file's path from the repository root (so any
 * spelling of a relative import is caught). Each entry: files under `from` must not import files
 * whose path starts with one of `forbid`.
 */
const LAYERS = [
  {
    from: 'src/',
    forbid: ['test/', 'benchmarks/', 'bench/'],
    why: 'product code never depends on tests or benchmarks',
  },
  {
    from: 'src/kube/',
    forbid: ['src/runtime/', 'src/controllers/'],
    why: 'the API client sits below the controller runtime and the controllers',
  },
  {
    from: 'src/agent/',
    forbid: [
      'src/controllers/',
      'src/runtime/',
      'src/kube/',
      'src/config/',
      'src/api/',
      'src/deploy/',
      'src/dev/',
    ],
    why: 'the backup agent runs in Job pods from the operator image: it talks to S3 or a mounted volume only, never to the Kubernetes API, and loads none of the operator',
  },
  {
    from: 'src/render/',
    forbid: ['src/dev/', 'src/agent/', 'src/kube/kubeconfig.ts', 'src/runtime/manager.ts'],
    why: '`frappe-operator render` and `crds` run offline from the operator image: no cluster, no kubeconfig, no manager, and no dev code (not all of it works from the image)',
  },
  {
    from: 'src/runtime/',
    forbid: ['src/controllers/', 'src/config/', 'src/api/', 'src/dev/'],
    why: 'the controller runtime is generic: it knows no product kind, configuration or document',
  },
];

/**
 * The running operator (controllers, configuration, client) never loads the API schemas (the
 * schema library costs memory in every replica): it value-imports only the plain modules of
 * v1alpha1 — names, defaulting, resources — and takes the types with `import type`.
 */
const OPERATOR_CODE = ['src/controllers/', 'src/config/', 'src/kube/'];
const PLAIN_API = ['names.ts', 'defaulting.ts', 'resources.ts'].map((f) => `src/api/v1alpha1/${f}`);

/** Why a value import of `target` by `file` loads the schemas, or undefined. */
function schemaLoad(file, target) {
  if (!OPERATOR_CODE.some((d) => file.startsWith(d))) return undefined;
  if (!target.startsWith('src/api/') || PLAIN_API.includes(target)) return undefined;
  return 'the running operator never loads the API schemas: value-import names.ts, defaulting.ts or resources.ts of src/api/v1alpha1, and use `import type` for the types';
}

/** src/controllers/<x>/… → x; the entry points of a controller that others must not import. */
const CONTROLLER_DIR = /^src\/controllers\/([^/]+)\//;
const CONTROLLER_ENTRY = /^src\/controllers\/([^/]+)\/(reconcile|index)\.ts$/;

/** The import's target, relative to the repository root; undefined for package imports. */
function importedPath(filename, specifier) {
  if (!specifier.startsWith('.')) return undefined;
  return path
    .relative(ROOT, path.resolve(path.dirname(filename), specifier))
    .split(path.sep)
    .join('/');
}

/** Why `file` may not import `target` (both relative to the root), or undefined if it may. */
function layeringViolation(file, target) {
  for (const layer of LAYERS) {
    if (file.startsWith(layer.from) && layer.forbid.some((f) => target.startsWith(f))) {
      return layer.why;
    }
  }
  const own = CONTROLLER_DIR.exec(file)?.[1];
  const other = CONTROLLER_ENTRY.exec(target)?.[1];
  if (own !== undefined && other !== undefined && other !== own && other !== 'shared') {
    return `a controller never imports another controller's reconciler (${other}); shared code belongs in src/controllers/shared/, src/runtime/ or src/kube/`;
  }
  return undefined;
}

const layering = {
  meta: {
    type: 'problem',
    docs: { description: 'enforce the layering of src/ (see docs/DEVELOPING.md)' },
    messages: { layering: "'{{specifier}}' ({{target}}) is off limits here: {{why}}." },
    schema: [],
  },
  create(context) {
    const file = path.relative(ROOT, context.filename).split(path.sep).join('/');
    const check = (source, typeOnly = false) => {
      if (source?.type !== 'Literal' || typeof source.value !== 'string') return;
      const target = importedPath(context.filename, source.value);
      if (target === undefined) return;
      const why =
        layeringViolation(file, target) ?? (typeOnly ? undefined : schemaLoad(file, target));
      if (why !== undefined) {
        context.report({
          node: source,
          messageId: 'layering',
          data: { specifier: source.value, target, why },
        });
      }
    };
    return {
      ImportDeclaration: (node) =>
        check(
          node.source,
          node.importKind === 'type' ||
            (node.specifiers.length > 0 && node.specifiers.every((s) => s.importKind === 'type')),
        ),
      ExportNamedDeclaration: (node) => check(node.source, node.exportKind === 'type'),
      ExportAllDeclaration: (node) => check(node.source),
      ImportExpression: (node) => check(node.source),
    };
  },
};

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'eslint.config.js'] },
  eslint.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { frappe: { rules: { layering } } },
    rules: {
      'frappe/layering': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // node:test's describe/it/… return promises the runner itself awaits and reports; floating
      // them is the documented usage, so they need no `void`.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: [
                'describe',
                'it',
                'test',
                'suite',
                'before',
                'after',
                'beforeEach',
                'afterEach',
              ],
            },
          ],
        },
      ],
    },
  },
);
