// CustomResourceDefinitions on a local cluster: ours (config/crd/bases) and the minimal
// third-party ones of src/dev/crds/ (KEDA, MariaDB Operator, monitoring, cert-manager) that the
// samples and the tests need, applied with server-side apply under one field manager — so
// concurrent appliers of the same content (tests running in parallel) are a no-op — and awaited
// until Established.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { KINDS } from '../api/v1alpha1/index.ts';
import { eventually } from './eventually.ts';
import { kubectl, type KubectlTarget } from './kubectl.ts';

const FIXTURE_CRDS = fileURLToPath(new URL('./crds/', import.meta.url));
const OUR_CRDS = fileURLToPath(new URL('../../config/crd/bases/', import.meta.url));
const APPLY = ['apply', '--server-side', '--force-conflicts', '--field-manager=frappe-dev'];

/** Applies our four CRDs and waits until they are Established. */
export async function applyOurCrds(target: KubectlTarget): Promise<void> {
  await kubectl(target, [...APPLY, '-f', OUR_CRDS]);
  await waitForCrdsEstablished(
    target,
    KINDS.map((k) => `${k.plural}.${k.group}`),
    60_000,
  );
}

/** Applies src/dev/crds/<name>.yaml for each name (e.g. 'keda'); waits until all are Established. */
export async function applyFixtureCrds(target: KubectlTarget, names: string[]): Promise<void> {
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
    await kubectl(target, [...APPLY, '-f', path]);
  }
  await waitForCrdsEstablished(target, crdNames);
}

/**
 * Waits until every named CRD (e.g. `scaledobjects.keda.sh`) is Established. Unlike
 * `kubectl wait --for=condition=Established`, tolerates a CRD whose status is not written yet.
 */
export async function waitForCrdsEstablished(
  target: KubectlTarget,
  names: string[],
  timeout = 30_000,
): Promise<void> {
  for (const name of names) {
    await eventually(
      async () => {
        const r = await kubectl(target, [
          'get',
          `customresourcedefinition/${name}`,
          '-o',
          'jsonpath={.status.conditions[?(@.type=="Established")].status}',
        ]);
        if (r.stdout !== 'True') throw new Error(`Established=${r.stdout || 'unknown'}`);
      },
      { timeout, message: `CRD ${name} not Established` },
    );
  }
}
