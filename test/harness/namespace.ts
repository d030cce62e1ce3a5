// Per-test isolation: every integration test works in its own freshly created namespace, and
// installs our CRDs and the third-party CRD fixtures it needs (src/dev/crds.ts, idempotent, as
// tests run in parallel).
import { randomBytes } from 'node:crypto';
import * as devCrds from '../../src/dev/crds.ts';
import { eventually } from './eventually.ts';
import { kubectl, testKubectl } from './kubectl.ts';

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

/** applyFixtureCrds() of src/dev/crds.ts, on the run's cluster (e.g. ['keda', 'mariadb']). */
export function applyFixtureCrds(names: string[]): Promise<void> {
  return devCrds.applyFixtureCrds(testKubectl(), names);
}

/**
 * applyOurCrds() of src/dev/crds.ts. `kubeconfigPath` selects another cluster than the run's (a
 * test's private one).
 */
export function applyOurCrds(opts: { kubeconfigPath?: string } = {}): Promise<void> {
  return devCrds.applyOurCrds(testKubectl(opts.kubeconfigPath));
}

/**
 * waitForCrdsEstablished() of src/dev/crds.ts. `kubeconfigPath` selects another cluster than the
 * run's (a test's private one).
 */
export function waitForCrdsEstablished(
  names: string[],
  opts: { timeout?: number; kubeconfigPath?: string } = {},
): Promise<void> {
  return devCrds.waitForCrdsEstablished(testKubectl(opts.kubeconfigPath), names, opts.timeout);
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
