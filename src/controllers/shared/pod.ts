// The parts every pod of a bench shares (API.md §3.1): image pull settings, security contexts,
// `podConfig` placement, `automountServiceAccountToken: false`, and for Frappe pods the sites
// volume (PVC `<bench>-sites`, subPath `frappe-sites`), the logs emptyDir, a writable HOME and
// env USER/HOME.
// Bench Deployments, Redis, bench-init and the site, backup and job controllers' Jobs all build
// their pods through `podSpec` and `podTemplateMeta`, so these rules live in one place.
import type {
  Affinity,
  Container,
  EnvVar,
  LocalObjectReference,
  PodAffinityTerm,
  PodSpec,
  Toleration,
  TopologySpreadConstraint,
  Volume,
  VolumeMount,
} from './k8s.ts';
import type { Labels } from './labels.ts';
import { childName } from './naming.ts';
import type { SecurityContexts } from './security.ts';

export const BENCH_DIR = '/home/frappe/frappe-bench';
export const SITES_DIR = `${BENCH_DIR}/sites`;
export const LOGS_DIR = `${BENCH_DIR}/logs`;
export const ASSETS_DIR = `${SITES_DIR}/assets`;
/**
 * HOME of every Frappe container: an emptyDir, so it is writable under any UID. The images'
 * /home/frappe is writable only for UID 1000 in older images (frappe_docker
 * images/production/Containerfile before 2026-04: `useradd frappe`, home 0755 frappe:frappe;
 * since then `chgrp -R 0 /home/frappe && chmod -R g=u`, writable for group 0 only), and it holds
 * what the containers run — node under ~/.nvm (ENV NVM_DIR, PATH) and the bench (WORKDIR) — so
 * nothing is mounted over it. What writes under HOME at run time: fontconfig's cache
 * (~/.cache/fontconfig, PDFs through wkhtmltopdf and weasyprint), Chromium's profile and cache
 * (~/.config, ~/.cache; the PDF generator of version 16, chromium-headless-shell in the image),
 * and whatever a `kubectl exec` shell writes (history). bench (`pip3 install frappe-bench` as
 * root, /usr/local/bin) and node find nothing of theirs under HOME: both are on the image's PATH,
 * and bench only compares paths with `~` (bench/utils find_parent_bench).
 */
export const HOME_DIR = '/tmp/frappe-home';
/** Directory on the sites PVC holding the sites (the reference's layout). */
export const SITES_SUBPATH = 'frappe-sites';

/** A bench's `podConfig`: labels, annotations and placement of every pod. */
export interface PodConfig {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  nodeSelector?: Record<string, string>;
  affinity?: Affinity;
  tolerations?: Toleration[];
  topologySpreadConstraints?: TopologySpreadConstraint[];
  priorityClassName?: string;
  serviceAccountName?: string;
}

export type PullPolicy = 'Always' | 'IfNotPresent' | 'Never';

/** Everything the pods of one bench (and of its sites' Jobs) have in common. */
export interface PodSettings {
  bench: string;
  /** The Frappe image Frappe containers run. */
  image: string;
  imagePullPolicy: PullPolicy;
  imagePullSecrets: LocalObjectReference[];
  podConfig: PodConfig;
  security: SecurityContexts;
  /** `storageAccessMode: ReadWriteOnce`: pods mounting the sites volume share one node. */
  sameNode: boolean;
}

/** The bench's sites PersistentVolumeClaim. */
export const sitesClaimName = (bench: string): string => childName(bench, 'sites');

const SITES_VOLUME = 'sites';
const LOGS_VOLUME = 'logs';
const HOME_VOLUME = 'home';

export const frappeEnv = (): EnvVar[] => [
  { name: 'USER', value: 'frappe' },
  { name: 'HOME', value: HOME_DIR },
];

/** A container of another image (Redis, exporter): pull policy and security context set. */
export function plainContainer(s: PodSettings, c: Container): Container {
  return { ...c, imagePullPolicy: s.imagePullPolicy, securityContext: s.security.container };
}

/**
 * A container of the bench image with the sites, logs and HOME mounts, env USER/HOME, and the
 * bench directory as its working directory (the images' WORKDIR, where `bench` must run; set
 * here so that an image built with another WORKDIR still works).
 */
export function frappeContainer(s: PodSettings, c: Omit<Container, 'image'>): Container {
  const mounts: VolumeMount[] = [
    { name: SITES_VOLUME, mountPath: SITES_DIR, subPath: SITES_SUBPATH },
    { name: LOGS_VOLUME, mountPath: LOGS_DIR },
    { name: HOME_VOLUME, mountPath: HOME_DIR },
  ];
  return plainContainer(s, {
    workingDir: BENCH_DIR,
    ...c,
    image: s.image,
    env: [...frappeEnv(), ...(c.env ?? [])],
    volumeMounts: [...mounts, ...(c.volumeMounts ?? [])],
  });
}

/** Pod affinity keeping every pod that mounts the sites volume on one node. */
function sameNodeTerm(bench: string): PodAffinityTerm {
  return {
    labelSelector: {
      matchLabels: { app: 'frappe', bench },
      matchExpressions: [
        { key: 'component', operator: 'NotIn', values: ['redis-cache', 'redis-queue'] },
      ],
    },
    topologyKey: 'kubernetes.io/hostname',
  };
}

function affinity(s: PodSettings, mountsSites: boolean): Affinity | undefined {
  const user = s.podConfig.affinity;
  if (!mountsSites || !s.sameNode) return user;
  const required = user?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
  return {
    ...user,
    podAffinity: {
      ...user?.podAffinity,
      requiredDuringSchedulingIgnoredDuringExecution: [...required, sameNodeTerm(s.bench)],
    },
  };
}

export interface PodParts {
  containers: Container[];
  initContainers?: Container[];
  /** Volumes besides `sites`, `logs` and `home`. */
  volumes?: Volume[];
  /** Frappe pods mount the sites PVC and the logs and HOME emptyDirs. */
  mountsSites: boolean;
  restartPolicy?: 'Always' | 'Never' | 'OnFailure';
  terminationGracePeriodSeconds?: number;
}

/** A pod spec with the bench's security, placement and pull settings. */
export function podSpec(s: PodSettings, parts: PodParts): PodSpec {
  const sitesVolumes: Volume[] = parts.mountsSites
    ? [
        { name: SITES_VOLUME, persistentVolumeClaim: { claimName: sitesClaimName(s.bench) } },
        { name: LOGS_VOLUME, emptyDir: {} },
        { name: HOME_VOLUME, emptyDir: {} },
      ]
    : [];
  const volumes = [...sitesVolumes, ...(parts.volumes ?? [])];
  const pc = s.podConfig;
  const spec: PodSpec = {
    ...(parts.initContainers === undefined ? {} : { initContainers: parts.initContainers }),
    containers: parts.containers,
    ...(volumes.length === 0 ? {} : { volumes }),
    ...(parts.restartPolicy === undefined ? {} : { restartPolicy: parts.restartPolicy }),
    ...(parts.terminationGracePeriodSeconds === undefined
      ? {}
      : { terminationGracePeriodSeconds: parts.terminationGracePeriodSeconds }),
    securityContext: s.security.pod,
    automountServiceAccountToken: false,
    ...(pc.serviceAccountName === undefined ? {} : { serviceAccountName: pc.serviceAccountName }),
    ...(s.imagePullSecrets.length === 0 ? {} : { imagePullSecrets: s.imagePullSecrets }),
    ...(pc.nodeSelector === undefined ? {} : { nodeSelector: pc.nodeSelector }),
    ...(pc.tolerations === undefined ? {} : { tolerations: pc.tolerations }),
    ...(pc.topologySpreadConstraints === undefined
      ? {}
      : { topologySpreadConstraints: pc.topologySpreadConstraints }),
    ...(pc.priorityClassName === undefined ? {} : { priorityClassName: pc.priorityClassName }),
  };
  const aff = affinity(s, parts.mountsSites);
  return aff === undefined ? spec : { ...spec, affinity: aff };
}

/** Pod template metadata: `podConfig` labels and annotations, the operator's labels winning. */
export function podTemplateMeta(
  s: PodSettings,
  labels: Labels,
): { labels: Labels; annotations?: Record<string, string> } {
  const annotations = s.podConfig.annotations;
  return {
    labels: { ...s.podConfig.labels, ...labels },
    ...(annotations === undefined ? {} : { annotations }),
  };
}
