// The operator configuration in force, for a running process: read once at start-up (where any
// invalid value is fatal) and replaced when the ConfigMap changes (where invalid values are
// ignored, keeping the previous ones, and reported to the caller for a Warning event).
//
// Subscribers are told which keys changed, so a controller can resize its worker pool or
// re-queue the objects whose defaults moved. Settings marked start-up only (`metricsAuth`,
// `watchNamespaces`) keep their start-up value; a change to them is reported as needing a
// restart.
import type { KubeClient, KubeObject } from '../kube/client.ts';
import {
  CONFIG_KEYS,
  isStartupOnly,
  OPERATOR_CONFIGMAP_NAME,
  OperatorConfigError,
  parseOperatorConfig,
  sameValue,
  type ConfigError,
  type ConfigKey,
  type OperatorConfig,
  type ParsedOperatorConfig,
  type ValueSource,
} from './operator-config.ts';

type Env = Readonly<Record<string, string | undefined>>;
type ConfigMapData = Readonly<Record<string, string>> | undefined;

export interface ConfigUpdate {
  /** Keys whose value changed (subscribers were told). */
  changed: ConfigKey[];
  /** Invalid values in the new ConfigMap; each was ignored and the previous value kept. */
  errors: ConfigError[];
  /** Unknown ConfigMap keys seen for the first time (each is reported once per process). */
  newUnknownKeys: string[];
  /** Start-up-only keys whose ConfigMap value changed: ignored until the operator restarts. */
  restartRequired: ConfigKey[];
}

export type ConfigListener = (config: OperatorConfig, changed: readonly ConfigKey[]) => void;

export interface ConfigMapObject extends KubeObject {
  data?: Record<string, string>;
}

export class OperatorConfigHolder {
  #current: ParsedOperatorConfig;
  readonly #env: Env;
  readonly #listeners = new Set<ConfigListener>();
  readonly #reportedUnknown: Set<string>;

  private constructor(initial: ParsedOperatorConfig, env: Env, unknownKeys: readonly string[]) {
    this.#current = initial;
    this.#env = env;
    this.#reportedUnknown = new Set(unknownKeys);
  }

  /**
   * The start-up configuration. Throws an OperatorConfigError naming every invalid value and
   * where it came from; `unknownKeys` are for the caller to log (once).
   */
  static fromStartup(input: { configMapData: ConfigMapData; env: Env }): {
    holder: OperatorConfigHolder;
    unknownKeys: string[];
  } {
    const parsed = parseOperatorConfig(input);
    if (parsed.errors.length > 0) throw new OperatorConfigError(parsed.errors);
    return {
      holder: new OperatorConfigHolder(parsed, input.env, parsed.unknownKeys),
      unknownKeys: parsed.unknownKeys,
    };
  }

  get config(): OperatorConfig {
    return this.#current.config;
  }

  /** Where the value in force came from; e.g. a UID set explicitly by env matters on OpenShift. */
  sourceOf(key: ConfigKey): ValueSource {
    return this.#current.sources[key];
  }

  /** Call `listener` after every change; returns the unsubscribe function. Must not throw. */
  subscribe(listener: ConfigListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Apply the ConfigMap's new data (undefined when it was deleted). */
  update(configMapData: ConfigMapData): ConfigUpdate {
    const parsed = parseOperatorConfig({ configMapData, env: this.#env, previous: this.#current });
    const prev = this.#current;
    const config: Record<string, unknown> = { ...parsed.config };
    const sources: Record<string, ValueSource> = { ...parsed.sources };
    const restartRequired: ConfigKey[] = [];
    const changed: ConfigKey[] = [];
    for (const key of CONFIG_KEYS) {
      const same = sameValue(parsed.config[key], prev.config[key]);
      if (isStartupOnly(key) && !same) {
        restartRequired.push(key);
        config[key] = prev.config[key];
        sources[key] = prev.sources[key];
      } else if (same) {
        // The same value (a list compares by its elements): keep the one in force.
        config[key] = prev.config[key];
      } else {
        changed.push(key);
      }
    }
    this.#current = {
      config: config as unknown as OperatorConfig,
      sources: sources as ParsedOperatorConfig['sources'],
    };
    const newUnknownKeys = parsed.unknownKeys.filter((k) => !this.#reportedUnknown.has(k));
    for (const k of newUnknownKeys) this.#reportedUnknown.add(k);
    if (changed.length > 0) {
      for (const listener of this.#listeners) listener(this.#current.config, changed);
    }
    return { changed, errors: parsed.errors, newUnknownKeys, restartRequired };
  }
}

/** The ConfigMap's data, or undefined when it does not exist (every setting then from env). */
export async function fetchOperatorConfigMapData(
  client: Pick<KubeClient, 'get'>,
  namespace: string,
): Promise<Record<string, string> | undefined> {
  const cm = await client.get<ConfigMapObject>(
    'v1',
    'ConfigMap',
    namespace,
    OPERATOR_CONFIGMAP_NAME,
  );
  return cm?.data;
}
