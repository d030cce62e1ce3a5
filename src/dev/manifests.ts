// The static configuration a test cluster is started with: the apiserver's admission and audit
// configuration, the kwok stages it loads from kwok's own kustomize tree (plus ours from
// src/dev/stages/), and the fake Nodes.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** PodSecurity defaults: baseline enforced, restricted warned/audited; namespaces may raise it. */
export const ADMISSION_CONFIG = `apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: PodSecurity
  configuration:
    apiVersion: pod-security.admission.config.k8s.io/v1
    kind: PodSecurityConfiguration
    defaults: {enforce: baseline, enforce-version: latest, warn: restricted, warn-version: latest, audit: restricted, audit-version: latest}
    exemptions: {usernames: [], runtimeClasses: [], namespaces: [kube-system]}
`;

/** Every write at Metadata level (who wrote what, when), nothing else: benchmarks count writes. */
export const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  verbs: [create, update, patch, delete, deletecollection]
- level: None
`;

/** Every request at Metadata level, reads and watches included (StartOptions.auditEveryRequest). */
export const AUDIT_EVERY_REQUEST_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
`;

export const STAGE_CRD = 'crd/bases/kwok.x-k8s.io_stages.yaml';

/** Files under kwok's kustomize/ applied at start (see TEST-CLUSTER.md §7). */
export async function kwokStageFiles(kustomize: string): Promise<string[]> {
  const volumeDir = join(kustomize, 'stage/volume/fast');
  const volume = (await readdir(volumeDir))
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .map((f) => join(volumeDir, f));
  return [
    'stage/node/fast/node-initialize.yaml',
    'stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml',
    'stage/pod/fast/pod-ready.yaml',
    'stage/pod/fast/pod-complete.yaml',
    'stage/pod/fast/pod-delete.yaml',
    'stage/pod/chaos/pod-container-running-failed.yaml',
  ]
    .map((f) => join(kustomize, f))
    .concat(volume);
}

/** Our own stages (src/dev/stages/*.yaml). */
export async function ownStageFiles(): Promise<string[]> {
  const dir = fileURLToPath(new URL('./stages/', import.meta.url));
  return (await readdir(dir)).filter((f) => f.endsWith('.yaml')).map((f) => join(dir, f));
}

export const NODE_NAMES = ['kwok-node-0', 'kwok-node-1'];

/** Untainted fake Nodes that kwok keeps Ready, so workloads need no toleration. */
export function nodesManifest(): string {
  const nodes = NODE_NAMES.map((name) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'kwok.x-k8s.io/node': 'fake' },
      labels: {
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/os': 'linux',
        'kubernetes.io/hostname': name,
        type: 'kwok',
      },
    },
    status: {
      allocatable: { cpu: '32', memory: '256Gi', pods: '110' },
      capacity: { cpu: '32', memory: '256Gi', pods: '110' },
    },
  }));
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items: nodes });
}
