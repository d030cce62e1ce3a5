// The operator configuration of API.md §4.1: ConfigMap `frappe-operator-config` in the operator's
// namespace and FRAPPE_* env variables, typed and validated.
//
// `parseOperatorConfig` is the heart: a pure function from (ConfigMap data, env) to the typed
// configuration plus everything wrong with the input, so that start-up (fail on any error) and a
// ConfigMap change while running (keep the previous value, warn) share one code path and the rules
// are unit-tested without a cluster. Precedence per key: ConfigMap key > env variable > default.
// An empty value (after trimming) counts as unset in both sources, as Go's os.Getenv-based
// operators treat `value: ""`.
import { LOG_LEVELS, type LogLevel } from '../log.ts';
import { jsonEqual } from '../kube/json.ts';
import {
  boolean,
  image,
  integer,
  namespaceList,
  objectName,
  oneOf,
  type ValueParser,
} from './values.ts';

/** Name of the ConfigMap, in the operator's own namespace. */
export const OPERATOR_CONFIGMAP_NAME = 'frappe-operator-config';

export const METRICS_AUTH_MODES = ['tokenreview', 'none'] as const;
export type MetricsAuth = (typeof METRICS_AUTH_MODES)[number];

export interface OperatorConfig {
  readonly maxConcurrentSiteReconciles: number;
  readonly maxConcurrentReconciles: number;
  readonly defaultFrappeImage: string;
  readonly enforceHTTPS: boolean;
  readonly defaultClusterIssuer: string;
  readonly defaultIngressClassName: string;
  readonly defaultRedisImage: string;
  readonly defaultRedisExporterImage: string;
  readonly defaultStatsdExporterImage: string;
  readonly defaultMariaDBImage: string;
  readonly metricsAuth: MetricsAuth;
  /** The namespaces the operator watches and reconciles; empty: every namespace. */
  readonly watchNamespaces: readonly string[];
  readonly defaultUID: number;
  readonly defaultGID: number;
  readonly defaultFSGroup: number;
  /** undefined: detect through discovery. */
  readonly isOpenShift: boolean | undefined;
  /** undefined: the manager container's own image. */
  readonly operatorImage: string | undefined;
  readonly logLevel: LogLevel;
}

export type ConfigKey = keyof OperatorConfig;

interface KeySpec<T> {
  /** The ConfigMap key; absent for env-only settings. */
  readonly configMapKey?: string;
  readonly env: string;
  readonly default: T;
  readonly parse: ValueParser<T>;
  /** Read once at start-up; a ConfigMap change needs a restart. */
  readonly startupOnly?: boolean;
  /** How to write the value, for the ConfigMap's comment in the install bundle. */
  readonly hint?: string;
}

/** Kubernetes accepts user and group IDs in [0, 2^31-1] (validation.IsValidUserID). */
const id = integer(0, 2 ** 31 - 1);

export const CONFIG_SPEC: { readonly [K in ConfigKey]: KeySpec<OperatorConfig[K]> } = {
  maxConcurrentSiteReconciles: {
    configMapKey: 'maxConcurrentSiteReconciles',
    env: 'FRAPPE_MAX_CONCURRENT_SITE_RECONCILES',
    default: 10,
    parse: integer(1),
  },
  maxConcurrentReconciles: {
    configMapKey: 'maxConcurrentReconciles',
    env: 'FRAPPE_MAX_CONCURRENT_RECONCILES',
    default: 5,
    parse: integer(1),
  },
  defaultFrappeImage: {
    configMapKey: 'defaultFrappeImage',
    env: 'FRAPPE_DEFAULT_FRAPPE_IMAGE',
    default: 'docker.io/frappe/erpnext:version-15',
    parse: image,
  },
  enforceHTTPS: {
    configMapKey: 'enforceHTTPS',
    env: 'FRAPPE_ENFORCE_HTTPS',
    default: false,
    parse: boolean,
  },
  defaultClusterIssuer: {
    configMapKey: 'defaultClusterIssuer',
    env: 'FRAPPE_DEFAULT_CLUSTER_ISSUER',
    default: '',
    parse: objectName,
  },
  defaultIngressClassName: {
    configMapKey: 'defaultIngressClassName',
    env: 'FRAPPE_DEFAULT_INGRESS_CLASS',
    default: '',
    parse: objectName,
  },
  defaultRedisImage: {
    configMapKey: 'defaultRedisImage',
    env: 'FRAPPE_DEFAULT_REDIS_IMAGE',
    default: 'docker.io/library/redis:7.4-alpine',
    parse: image,
  },
  defaultRedisExporterImage: {
    configMapKey: 'defaultRedisExporterImage',
    env: 'FRAPPE_DEFAULT_REDIS_EXPORTER_IMAGE',
    default: 'docker.io/oliver006/redis_exporter:v1.62.0',
    parse: image,
  },
  defaultStatsdExporterImage: {
    configMapKey: 'defaultStatsdExporterImage',
    env: 'FRAPPE_DEFAULT_STATSD_EXPORTER_IMAGE',
    // The version the monitoring tests run (src/dev/versions.ts STATSD_EXPORTER_VERSION).
    default: 'docker.io/prom/statsd-exporter:v0.31.0',
    parse: image,
  },
  defaultMariaDBImage: {
    configMapKey: 'defaultMariaDBImage',
    env: 'FRAPPE_DEFAULT_MARIADB_IMAGE',
    default: 'docker.io/library/mariadb:10.11',
    parse: image,
  },
  metricsAuth: {
    configMapKey: 'metricsAuth',
    env: 'FRAPPE_METRICS_AUTH',
    default: 'tokenreview',
    parse: oneOf(METRICS_AUTH_MODES),
    startupOnly: true,
  },
  // The informer cache lists and watches only these namespaces (one list+watch per namespace and
  // kind), so objects of other namespaces never reach the operator's memory and its RBAC can be
  // RoleBindings in these namespaces. Start-up only: the cache's informers are made once.
  watchNamespaces: {
    configMapKey: 'watchNamespaces',
    env: 'FRAPPE_WATCH_NAMESPACES',
    default: [],
    parse: namespaceList,
    startupOnly: true,
    hint: 'comma-separated namespace names; empty: every namespace',
  },
  defaultUID: { env: 'FRAPPE_DEFAULT_UID', default: 1001, parse: id },
  defaultGID: { env: 'FRAPPE_DEFAULT_GID', default: 0, parse: id },
  defaultFSGroup: { env: 'FRAPPE_DEFAULT_FSGROUP', default: 0, parse: id },
  isOpenShift: { env: 'FRAPPE_IS_OPENSHIFT', default: undefined, parse: boolean },
  operatorImage: { env: 'FRAPPE_OPERATOR_IMAGE', default: undefined, parse: image },
  logLevel: { env: 'FRAPPE_LOG_LEVEL', default: 'info', parse: oneOf(LOG_LEVELS) },
};

export const CONFIG_KEYS = Object.keys(CONFIG_SPEC) as readonly ConfigKey[];
const CONFIGMAP_KEYS = new Set(CONFIG_KEYS.map((k) => CONFIG_SPEC[k].configMapKey));

/** Where a setting's value came from. `previous`: the new value was invalid and was ignored. */
export type ValueSource = 'configMap' | 'env' | 'default' | 'previous';

export interface ConfigError {
  key: ConfigKey;
  source: 'configMap' | 'env';
  /** The ConfigMap key or env variable that held the value. */
  variable: string;
  value: string;
  message: string;
}

export interface ParsedOperatorConfig {
  config: OperatorConfig;
  sources: { readonly [K in ConfigKey]: ValueSource };
}

export interface ParseInput {
  /** `data` of the ConfigMap; undefined or {} when it does not exist. */
  configMapData?: Readonly<Record<string, string>>;
  env: Readonly<Record<string, string | undefined>>;
  /** While running: the configuration in force, whose values replace invalid new ones. */
  previous?: ParsedOperatorConfig;
}

export interface ParseOutput extends ParsedOperatorConfig {
  errors: ConfigError[];
  /** ConfigMap keys this operator does not know (sorted), e.g. the reference's `gitEnabled`. */
  unknownKeys: string[];
}

export function parseOperatorConfig(input: ParseInput): ParseOutput {
  const data = input.configMapData ?? {};
  const config: Record<string, unknown> = {};
  const sources: Record<string, ValueSource> = {};
  const errors: ConfigError[] = [];

  for (const key of CONFIG_KEYS) {
    const spec: KeySpec<unknown> = CONFIG_SPEC[key];
    const fromConfigMap =
      spec.configMapKey === undefined ? undefined : nonEmpty(data[spec.configMapKey]);
    const fromEnv = nonEmpty(input.env[spec.env]);
    const raw =
      fromConfigMap !== undefined
        ? { source: 'configMap' as const, variable: spec.configMapKey ?? '', value: fromConfigMap }
        : fromEnv !== undefined
          ? { source: 'env' as const, variable: spec.env, value: fromEnv }
          : undefined;

    if (raw === undefined) {
      config[key] = spec.default;
      sources[key] = 'default';
      continue;
    }
    const parsed = spec.parse(raw.value);
    if (parsed.ok) {
      config[key] = parsed.value;
      sources[key] = raw.source;
    } else {
      errors.push({ key, ...raw, message: parsed.message });
      config[key] = input.previous === undefined ? spec.default : input.previous.config[key];
      sources[key] = input.previous === undefined ? 'default' : 'previous';
    }
  }

  const unknownKeys = Object.keys(data)
    .filter((k) => !CONFIGMAP_KEYS.has(k))
    .sort();
  return {
    // Every key of OperatorConfig was set from its own KeySpec in the loop above.
    config: config as unknown as OperatorConfig,
    sources: sources as ParsedOperatorConfig['sources'],
    errors,
    unknownKeys,
  };
}

function nonEmpty(v: string | undefined): string | undefined {
  const t = v?.trim();
  return t === undefined || t === '' ? undefined : t;
}

/** One line naming the key, where the value came from, the value and what is wrong with it. */
export function describeConfigError(e: ConfigError): string {
  const where =
    e.source === 'configMap'
      ? `ConfigMap ${OPERATOR_CONFIGMAP_NAME} key ${e.variable}`
      : `env ${e.variable}`;
  return `${where}=${JSON.stringify(e.value)}: ${e.message}`;
}

/** Thrown at start-up when any value is invalid; lists every invalid value. */
export class OperatorConfigError extends Error {
  readonly errors: readonly ConfigError[];

  constructor(errors: readonly ConfigError[]) {
    super(`invalid operator configuration: ${errors.map(describeConfigError).join('; ')}`);
    this.name = 'OperatorConfigError';
    this.errors = errors;
  }
}

/** Whether two values of a setting are the same (lists compare by their elements). */
export const sameValue = (a: unknown, b: unknown): boolean => Object.is(a, b) || jsonEqual(a, b);

/**
 * Keys read only at start-up (`metricsAuth`, `watchNamespaces`); a ConfigMap change to them
 * needs a restart.
 */
export const isStartupOnly = (key: ConfigKey): boolean => CONFIG_SPEC[key].startupOnly === true;
