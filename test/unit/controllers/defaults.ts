// The operator defaults as its configuration has them out of the box, for the pure builders'
// tests of every controller.
import { CONFIG_SPEC } from '../../../src/config/operator-config.ts';
import type { OperatorDefaults } from '../../../src/controllers/shared/defaults.ts';
import { BUILTIN_SECURITY_DEFAULTS } from '../../../src/controllers/shared/security.ts';

export function operatorDefaults(overrides: Partial<OperatorDefaults> = {}): OperatorDefaults {
  return {
    frappeImage: CONFIG_SPEC.defaultFrappeImage.default,
    redisImage: CONFIG_SPEC.defaultRedisImage.default,
    redisExporterImage: CONFIG_SPEC.defaultRedisExporterImage.default,
    statsdExporterImage: CONFIG_SPEC.defaultStatsdExporterImage.default,
    mariadbImage: CONFIG_SPEC.defaultMariaDBImage.default,
    operatorImage: 'ghcr.io/example/frappe-operator:test',
    ingressClassName: CONFIG_SPEC.defaultIngressClassName.default,
    clusterIssuer: CONFIG_SPEC.defaultClusterIssuer.default,
    enforceHTTPS: CONFIG_SPEC.enforceHTTPS.default,
    security: BUILTIN_SECURITY_DEFAULTS,
    isOpenShift: false,
    ...overrides,
  };
}
