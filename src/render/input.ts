// The input of `frappe-operator render`: YAML files (or stdin) of one or more documents, `kind:
// List` flattened, each object in `--namespace` unless it names one. Our four kinds are validated
// with the schemas of src/api (defaults applied, as the API server would) and stored as the
// reconcilers see them (name, namespace and uid set, status dropped: status is the operator's);
// everything else is kept for what the reconcilers would read (Secrets, MariaDB objects).
import { parseAllDocuments } from 'yaml';
import {
  validateFrappeBench,
  validateFrappeSite,
  validateSiteBackup,
  validateSiteJob,
  type ValidationResult,
} from '../api/v1alpha1/index.ts';
import { API_VERSION, GROUP } from '../api/v1alpha1/names.ts';
import type { KubeObject } from '../kube/client.ts';
import type { Stored } from '../kube/informer.ts';
import { RenderError, UID_PLACEHOLDER, type RenderInput } from './render.ts';

/** One source's text: a file name, or `-` for stdin. */
export interface Source {
  name: string;
  text: string;
}

const VALIDATORS: Record<string, (obj: unknown) => ValidationResult<unknown>> = {
  FrappeBench: validateFrappeBench,
  FrappeSite: validateFrappeSite,
  SiteBackup: validateSiteBackup,
  SiteJob: validateSiteJob,
};

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The objects of one source, `kind: List` flattened; YAML errors as RenderError lines. */
function objectsOf(source: Source): { obj: unknown; where: string }[] {
  const out: { obj: unknown; where: string }[] = [];
  const docs = parseAllDocuments(source.text);
  const list = Array.isArray(docs) ? docs : [docs];
  const problems: string[] = [];
  list.forEach((doc, i) => {
    const where = `${source.name} (document ${String(i + 1)})`;
    const error = doc.errors[0];
    if (error !== undefined) {
      problems.push(`${where}: not valid YAML: ${error.message.split('\n')[0] ?? ''}`);
      return;
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    if (isRecord(value) && value.kind === 'List' && Array.isArray(value.items)) {
      for (const item of value.items) out.push({ obj: item, where });
    } else {
      out.push({ obj: value, where });
    }
  });
  if (problems.length > 0) throw new RenderError(problems);
  return out;
}

/** The input of every source; every problem of every object in one RenderError. */
export function parseInput(sources: readonly Source[], namespace: string): RenderInput {
  const input: RenderInput = { benches: [], sites: [], backups: [], siteJobs: [], others: [] };
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const source of sources) {
    let objects: { obj: unknown; where: string }[];
    try {
      objects = objectsOf(source);
    } catch (err) {
      if (!(err instanceof RenderError)) throw err;
      problems.push(...err.lines);
      continue;
    }
    for (const { obj, where } of objects) {
      const problem = add(input, obj, namespace, seen);
      if (problem !== undefined) problems.push(...problem.map((p) => `${where}: ${p}`));
    }
  }
  if (problems.length > 0) throw new RenderError(problems);
  return input;
}

/** Adds `obj` to `input`; what is wrong with it, if anything. */
function add(
  input: RenderInput,
  obj: unknown,
  namespace: string,
  seen: Set<string>,
): string[] | undefined {
  if (!isRecord(obj) || typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') {
    return ['not a Kubernetes object: apiVersion and kind are required'];
  }
  const { apiVersion, kind } = obj;
  const metadata = isRecord(obj.metadata) ? obj.metadata : {};
  const name = metadata.name;
  if (typeof name !== 'string' || name === '') {
    return [`${kind}: metadata.name is required`];
  }
  const ns = typeof metadata.namespace === 'string' ? metadata.namespace : namespace;
  const key = `${apiVersion} ${kind} ${ns}/${name}`;
  if (seen.has(key)) return [`${kind} ${ns}/${name} appears twice in the input`];
  seen.add(key);
  const placed = { ...obj, metadata: { ...metadata, namespace: ns } } as KubeObject;
  if (apiVersion.split('/')[0] !== GROUP) {
    input.others.push(placed);
    return undefined;
  }
  const validate = VALIDATORS[kind];
  if (apiVersion !== API_VERSION || validate === undefined) {
    return [
      `${apiVersion} ${kind} is not a kind of the operator: expected ${API_VERSION} FrappeBench, FrappeSite, SiteBackup or SiteJob`,
    ];
  }
  const result = validate(placed);
  if (!result.ok) return result.errors.map((e) => `${kind} "${name}" is invalid: ${e}`);
  const valid = result.value as KubeObject & { status?: unknown };
  const stored = {
    ...valid,
    metadata: {
      ...valid.metadata,
      name,
      namespace: ns,
      uid: valid.metadata.uid ?? UID_PLACEHOLDER,
      resourceVersion: valid.metadata.resourceVersion ?? '',
    },
  };
  delete stored.status;
  const list = {
    FrappeBench: input.benches,
    FrappeSite: input.sites,
    SiteBackup: input.backups,
    SiteJob: input.siteJobs,
  }[kind] as Stored<KubeObject>[] | undefined;
  list?.push(stored);
  return undefined;
}
