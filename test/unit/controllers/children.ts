// The properties every child object of every controller must have, checked by one suite
// (children.test.ts) over each controller's registered generator:
//   - every pod passes the restricted Pod Security Standard;
//   - every container and init container has cpu and memory requests and limits;
//   - every object carries the standard labels;
//   - every object has a controller owner reference, except where the API says none;
//   - no secret value appears anywhere but in a Secret's data — not in args, command, env
//     values, annotations, labels, ConfigMaps or anything else;
//   - every container of the bench image (one that mounts the sites volume) has HOME on an
//     emptyDir of its pod, outside the image's /home/frappe: writable under any UID.
// Each generator feeds distinctive secret values into every input that can carry one, so the
// last property can fail; children.test.ts shows that it does with a leaking builder.
import type { KubeObject } from '../../../src/kube/client.ts';
import type { Container, PodSpec } from '../../../src/controllers/shared/k8s.ts';
import { parseQuantity } from '../../../src/controllers/shared/quantity.ts';
import { restrictedViolations } from './pss.ts';

/** One set of generated inputs: what the builders produced, and the secrets fed to them. */
export interface GeneratedChildren {
  /** The owner (uid, name, namespace) every child must reference. */
  owner: KubeObject;
  children: KubeObject[];
  /** The secret values the inputs carried. */
  secrets: string[];
}

export interface ChildrenGenerator {
  controller: string;
  /** Objects that by the API carry no owner reference (e.g. the bench's sites PVC). */
  unowned(obj: KubeObject): boolean;
}

const STANDARD_LABELS = [
  'app',
  'component',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/component',
  'app.kubernetes.io/name',
  'app.kubernetes.io/part-of',
  'app.kubernetes.io/managed-by',
];

function podSpecOf(obj: KubeObject): PodSpec | undefined {
  const spec = (obj as { spec?: { template?: { spec?: PodSpec } } }).spec;
  return spec?.template?.spec;
}

const containersOf = (p: PodSpec): Container[] => [...(p.initContainers ?? []), ...p.containers];

/** Why `c` (a container of `pod`) has no writable HOME, if it runs the bench image; else none. */
function homeViolation(pod: PodSpec, c: Container): string | undefined {
  const sites = pod.volumes?.find((v) => v.persistentVolumeClaim !== undefined)?.name;
  if (sites === undefined || !(c.volumeMounts ?? []).some((m) => m.name === sites)) {
    return undefined;
  }
  const home = c.env?.find((e) => e.name === 'HOME')?.value;
  if (home === undefined) return 'no HOME';
  if (home === '/home/frappe' || home.startsWith('/home/frappe/')) {
    return `HOME ${home} is in the image's home, writable only for its own UID`;
  }
  const mount = (c.volumeMounts ?? []).find((m) => m.mountPath === home);
  const volume = pod.volumes?.find((v) => v.name === mount?.name);
  if (volume?.emptyDir === undefined) return `HOME ${home} is not an emptyDir mount`;
  return undefined;
}

/** The object without a Secret's data: the only place a secret value may be. */
function withoutSecretData(obj: KubeObject): unknown {
  if (obj.kind !== 'Secret') return obj;
  const rest: Record<string, unknown> = { ...obj };
  delete rest.data;
  delete rest.stringData;
  return rest;
}

/** Where `secret` appears in `obj` outside Secret data, as JSON paths. */
function secretPaths(value: unknown, secret: string, path: string): string[] {
  if (typeof value === 'string') return value.includes(secret) ? [path] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => secretPaths(v, secret, `${path}[${i}]`));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => [
      ...(k.includes(secret) ? [`${path}.${k} (key)`] : []),
      ...secretPaths(v, secret, `${path}.${k}`),
    ]);
  }
  return [];
}

/** Every property violated by `g`'s children, as readable messages; empty when all hold. */
export function childViolations(gen: ChildrenGenerator, g: GeneratedChildren): string[] {
  const out: string[] = [];
  for (const obj of g.children) {
    const where = `${gen.controller}: ${obj.kind} ${obj.metadata.name ?? ''}`;
    const pod = podSpecOf(obj);
    if (pod !== undefined) {
      for (const v of restrictedViolations(pod)) out.push(`${where}: restricted PSS: ${v}`);
      for (const c of containersOf(pod)) {
        for (const r of ['cpu', 'memory']) {
          const request = c.resources?.requests?.[r];
          const limit = c.resources?.limits?.[r];
          if (request === undefined || limit === undefined) {
            out.push(`${where}/${c.name}: no ${r} request or limit`);
          } else if (parseQuantity(request) > parseQuantity(limit)) {
            out.push(`${where}/${c.name}: ${r} request ${request} > limit ${limit}`);
          }
        }
        const home = homeViolation(pod, c);
        if (home !== undefined) out.push(`${where}/${c.name}: ${home}`);
      }
    }
    const templateLabels = (
      obj as { spec?: { template?: { metadata?: { labels?: Record<string, string> } } } }
    ).spec?.template?.metadata?.labels;
    const labelSets: [Record<string, string> | undefined, string][] = [
      [obj.metadata.labels, ''],
      ...(pod === undefined
        ? []
        : [[templateLabels, ' pod template'] as [Record<string, string> | undefined, string]]),
    ];
    for (const [labels, what] of labelSets) {
      const missing = STANDARD_LABELS.filter((l) => labels?.[l] === undefined);
      if (missing.length > 0) out.push(`${where}${what}: missing labels ${missing.join(', ')}`);
    }
    const refs = obj.metadata.ownerReferences ?? [];
    if (gen.unowned(obj)) {
      if (refs.length > 0) out.push(`${where}: must carry no owner reference`);
    } else if (
      refs.length !== 1 ||
      !refs.every(
        (r) =>
          r.uid === g.owner.metadata.uid && r.controller === true && r.blockOwnerDeletion === true,
      )
    ) {
      out.push(`${where}: needs exactly one controller owner reference to its owner`);
    }
    if ((obj.metadata.name ?? '').length > 63) out.push(`${where}: name longer than 63`);
    if (obj.metadata.namespace !== g.owner.metadata.namespace) {
      out.push(`${where}: not in its owner's namespace`);
    }
    for (const secret of g.secrets) {
      for (const p of secretPaths(withoutSecretData(obj), secret, '')) {
        out.push(`${where}: a secret value at ${p}`);
      }
    }
  }
  return out;
}
