// Containers of the operator's own image: `frappe-operator backup-agent …` in backup Jobs
// (`upload`) and restore Jobs (`download`). The S3 credentials Secret, when there is one, is
// mounted only into that container as files (`--credentials-dir`), never as env or argv
// (API.md §5.2); without one the agent uses the pod's workload identity.
import type { Container, Volume, VolumeMount } from './k8s.ts';
import { plainContainer, type PodSettings } from './pod.ts';

/** Where a container's Secret files are mounted. */
export const SECRETS_DIR = '/var/run/secrets/frappe';
const CREDENTIALS_VOLUME = 's3-credentials';
const CREDENTIALS_DIR = `${SECRETS_DIR}/s3`;

/** The S3 store of a download or upload. */
export interface S3Access {
  endpoint: string | undefined;
  region: string;
  forcePathStyle: boolean;
  /** Secret with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (optional AWS_SESSION_TOKEN). */
  credentialsSecret: string | undefined;
}

/** The agent's flags for `s3`: endpoint, region, path style and the credentials files. */
export const s3Flags = (s3: S3Access): string[] => [
  ...(s3.endpoint === undefined ? [] : [`--endpoint=${s3.endpoint}`]),
  `--region=${s3.region}`,
  ...(s3.forcePathStyle ? ['--force-path-style'] : []),
  ...(s3.credentialsSecret === undefined ? [] : [`--credentials-dir=${CREDENTIALS_DIR}`]),
];

/** The credentials Secret as a volume (none without a Secret). */
export const credentialsVolumes = (s3: S3Access | undefined): Volume[] =>
  s3?.credentialsSecret === undefined
    ? []
    : [
        {
          name: CREDENTIALS_VOLUME,
          secret: { secretName: s3.credentialsSecret, defaultMode: 0o440 },
        },
      ];

const credentialsMounts = (s3: S3Access | undefined): VolumeMount[] =>
  s3?.credentialsSecret === undefined
    ? []
    : [{ name: CREDENTIALS_VOLUME, mountPath: CREDENTIALS_DIR, readOnly: true }];

export interface AgentContainerParts {
  name: string;
  /** The operator's image. */
  image: string;
  /** After `frappe-operator backup-agent`: the command and its flags. */
  args: string[];
  resources: Container['resources'];
  volumeMounts: VolumeMount[];
  /** The store whose credentials this container (and only it) mounts. */
  s3: S3Access | undefined;
}

/** A `frappe-operator backup-agent` container, reporting through its termination message. */
export function agentContainer(pod: PodSettings, parts: AgentContainerParts): Container {
  // The operator's image is not the bench's: the bench's pull policy (e.g. Never, for a
  // preloaded Frappe image) does not apply to it.
  return plainContainer(
    { ...pod, imagePullPolicy: 'IfNotPresent' },
    {
      name: parts.name,
      image: parts.image,
      command: ['frappe-operator'],
      args: ['backup-agent', ...parts.args],
      resources: parts.resources,
      terminationMessagePolicy: 'File',
      volumeMounts: [...parts.volumeMounts, ...credentialsMounts(parts.s3)],
    },
  );
}
