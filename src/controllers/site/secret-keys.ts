// Which keys a Secret a site references has, read with a GET when its resourceVersion changes
// (the cache holds Secrets' metadata only). API.md §5.2: user Secrets are read only to check a
// referenced key; values are never kept, logged or copied — except the connection settings an
// external database's Secret may carry in plain keys (`host`, `port`, `database`), which are
// addresses, not secrets.
import type { KubeClient } from '../../kube/client.ts';
import type { Informer, Stored } from '../../kube/informer.ts';
import { KINDS, type Secret } from '../shared/objects.ts';

const PLAIN_KEYS = ['host', 'port', 'database'] as const;
type PlainKey = (typeof PLAIN_KEYS)[number];

export interface SecretContents {
  keys: Set<string>;
  plain: Partial<Record<PlainKey, string>>;
}

/** The keys of a Secret's `data` (base64 values) and its plain connection settings. */
export function secretContents(data: Readonly<Record<string, string>>): SecretContents {
  const plain: SecretContents['plain'] = {};
  for (const k of PLAIN_KEYS) {
    const v = data[k];
    if (v !== undefined) plain[k] = Buffer.from(v, 'base64').toString('utf8').trim();
  }
  return { keys: new Set(Object.keys(data)), plain };
}

export class SecretKeys {
  readonly #client: KubeClient;
  /** `namespace/name` → what version `resourceVersion` holds. */
  readonly #known = new Map<string, { resourceVersion: string; contents: SecretContents }>();

  constructor(client: KubeClient, secrets: Informer<Secret>) {
    this.#client = client;
    secrets.addEventHandler({
      delete: (s) => this.#known.delete(`${s.metadata.namespace}/${s.metadata.name}`),
    });
  }

  /** The keys of `secret` (as the metadata cache has it) and its plain connection settings. */
  async read(secret: Stored<Secret>): Promise<SecretContents> {
    const { namespace, name, resourceVersion } = secret.metadata;
    const key = `${namespace}/${name}`;
    const known = this.#known.get(key);
    if (known?.resourceVersion === resourceVersion) return known.contents;
    const live = await this.#client.get<Secret>(
      KINDS.Secret.apiVersion,
      KINDS.Secret.kind,
      namespace,
      name,
    );
    const contents = secretContents(live?.data ?? {});
    this.#known.set(key, {
      resourceVersion: live?.metadata.resourceVersion ?? resourceVersion,
      contents,
    });
    return contents;
  }
}
