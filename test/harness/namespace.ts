// Per-test isolation: every integration test works in its own freshly created namespace, and
// installs our CRDs and the third-party CRD fixtures it needs (idempotently, as tests run in
// parallel).
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { KINDS } from '../../src/api/v1alpha1/index.ts';
import { eventually } from './eventually.ts';
import { kubectl } from './kubectl.ts';

const FIXTURE_CRDS = fileURLToPath(new URL('../fixtures/crds/', import.meta.url));
const OUR_CRDS = fileURLToPath(new URL('../../config/crd/bases/', import.meta.url));

/**
 * Creates a namespace named `${prefix}-${random}` (the prefix is trimmed so the name fits 63
 * characters), with the given labels, and waits until its default ServiceAccount exists (pods are
 * rejected before that). Deleted with the cluster at the end of the run, or by deleteNamespace().
 * `kubeconfigPath` selects another cluster than the run's (a test's private one).
 */
export async function createTestNamespace(
  prefix: string,
  labels: Record<string, string> = {},
  opts: { kubeconfigPath?: string } = {},
): Promise<string> {
  const suffix = randomBytes(4).toString('hex');
  const base = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, 63 - suffix.length - 1)
    .replace(/^-+|-+$/g, '');
  const name = base === '' ? `t-${suffix}` : `${base}-${suffix}`;
  const manifest = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'frappe.io/test': 'true', ...labels } },
  };
  await kubectl(['create', '-f', '-'], { ...opts, input: JSON.stringify(manifest) });
  await eventually(
    () => kubectl(['get', 'serviceaccount', 'default', '-o', 'name'], { ...opts, namespace: name }),
    {
      timeout: 30_000,
      message: `ServiceAccount ${name}/default was not created (is kube-controller-manager running?)`,
    },
  );
  return name;
}

/** Starts deleting a namespace; does not wait for its finalizers. */
export async function deleteNamespace(name: string): Promise<void> {
  await kubectl(['delete', 'namespace', name, '--wait=false', '--ignore-not-found']);
}

/**
 * Applies test/fixtures/crds/<name>.yaml for each name (e.g. 'keda', 'mariadb') with server-side
 * apply, so concurrent tests applying the same file don't conflict, and waits until every CRD in
 * them is Established.
 */
export async function applyFixtureCrds(names: string[]): Promise<void> {
  const crdNames: string[] = [];
  for (const name of names) {
    const path = `${FIXTURE_CRDS}${name}.yaml`;
    const text = await readFile(path, 'utf8').catch((e: unknown) => {
      throw new Error(`no CRD fixture ${name}: cannot read ${path}`, { cause: e });
    });
    for (const doc of parseAllDocuments(text)) {
      const obj = doc.toJS() as { metadata?: { name?: unknown } } | null;
      if (typeof obj?.metadata?.name === 'string') crdNames.push(obj.metadata.name);
    }
    await kubectl([
      'apply',
      '--server-side',
      '--force-conflicts',
      '--field-manager=frappe-tests',
      '-f',
      path,
    ]);
  }
  await waitForCrdsEstablished(crdNames);
}

/**
 * Applies our CRDs (config/crd/bases) with server-side apply — tests running in parallel apply
 * the same content with the same field manager, a no-op — and waits until they are Established.
 * `kubeconfigPath` selects another cluster than the run's (a test's private one).
 */
export async function applyOurCrds(opts: { kubeconfigPath?: string } = {}): Promise<void> {
  await kubectl(
    ['apply', '--server-side', '--force-conflicts', '--field-manager=frappe-tests', '-f', OUR_CRDS],
    opts,
  );
  await waitForCrdsEstablished(
    KINDS.map((k) => `${k.plural}.${k.group}`),
    { ...opts, timeout: 60_000 },
  );
}

/**
 * Waits until every named CRD (e.g. `scaledobjects.keda.sh`) is Established. Unlike
 * `kubectl wait --for=condition=Established`, tolerates a CRD whose status is not written yet.
 * `kubeconfigPath` selects another cluster than the run's (a test's private one).
 */
export async function waitForCrdsEstablished(
  names: string[],
  opts: { timeout?: number; kubeconfigPath?: string } = {},
): Promise<void> {
  const { timeout = 30_000, kubeconfigPath } = opts;
  for (const name of names) {
    await eventually(
      async () => {
        const r = await kubectl(
          [
            'get',
            `customresourcedefinition/${name}`,
            '-o',
            'jsonpath={.status.conditions[?(@.type=="Established")].status}',
          ],
          kubeconfigPath === undefined ? {} : { kubeconfigPath },
        );
        if (r.stdout !== 'True') throw new Error(`Established=${r.stdout || 'unknown'}`);
      },
      { timeout, message: `CRD ${name} not Established` },
    );
  }
}

/**
 * A CustomResourceDefinition of a test's own: kind Widget (`widgets.<group>`), version v1,
 * namespaced, with a status subresource and the given schema. A group of the test's own keeps
 * it apart from other tests' Widgets.
 */
export function widgetCrd(group: string, openAPIV3Schema: Record<string, unknown>) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `widgets.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { kind: 'Widget', listKind: 'WidgetList', plural: 'widgets', singular: 'widget' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: { openAPIV3Schema },
        },
      ],
    },
  };
}
