// Runtime validators: schema defaults are applied as the API server applies them (nested defaults
// included), the OpenAPI part is checked, and CEL-enforced patterns report the admission message.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  API_VERSION,
  validateFrappeBench,
  validateFrappeSite,
  validateSiteBackup,
  validateSiteJob,
} from '../../../src/api/v1alpha1/index.ts';
import type { ValidationResult } from '../../../src/api/v1alpha1/index.ts';

function errorsOf<T>(result: ValidationResult<T>): string[] {
  return result.ok ? [] : result.errors;
}

function valueOf<T>(result: ValidationResult<T>): T {
  if (!result.ok) assert.fail(result.errors.join('\n'));
  return result.value;
}

const bench = (spec: unknown, name = 'prod-bench') => ({
  apiVersion: API_VERSION,
  kind: 'FrappeBench',
  metadata: { name },
  spec,
});

describe('validateFrappeBench', () => {
  it('applies the schema defaults, nested ones included', () => {
    const value = valueOf(
      validateFrappeBench({
        apiVersion: API_VERSION,
        kind: 'FrappeBench',
        metadata: { name: 'b' },
      }),
    );
    assert.equal(value.spec.storageSize, '10Gi');
    assert.equal(value.spec.storageAccessMode, 'ReadWriteMany');
    assert.equal(value.spec.storageRetentionPolicy, 'Retain');
    assert.deepEqual(value.spec.siteMigration, { policy: 'Auto', maxConcurrent: 5 });
    assert.deepEqual(value.spec.podDisruptionBudget, { enabled: true, maxUnavailable: 1 });
    assert.deepEqual(value.spec.imageConfig, { pullPolicy: 'IfNotPresent' });
    // The official chart's and images' values (frappe/helm erpnext/values.yaml, frappe_docker),
    // and gunicorn's metrics on.
    assert.deepEqual(value.spec.gunicorn, {
      workers: 2,
      threads: 4,
      timeout: 120,
      metrics: { enabled: true },
    });
    assert.deepEqual(value.spec.nginx, {
      upstreamRealIPAddress: '127.0.0.1',
      upstreamRealIPHeader: 'X-Forwarded-For',
      upstreamRealIPRecursive: 'off',
    });
  });

  it('accepts one IPv4 or IPv6 address or CIDR as nginx.upstreamRealIPAddress, nothing else', () => {
    const errorFor = (address: unknown) =>
      errorsOf(validateFrappeBench(bench({ nginx: { upstreamRealIPAddress: address } }))).find(
        (e) => e.startsWith('spec.nginx.upstreamRealIPAddress:'),
      );
    for (const ok of [
      '127.0.0.1',
      '10.0.0.0/8',
      '192.168.10.1/32',
      '0.0.0.0/0',
      '::1',
      '::',
      '::/0',
      'fd00::/8',
      'fe80::1',
      '2001:db8::/32',
      '2001:0db8:85a3:0000:0000:8a2e:0370:7334',
      '2001:db8:0:0:1::1/128',
    ]) {
      assert.equal(errorFor(ok), undefined, ok);
    }
    for (const bad of [
      '',
      'localhost',
      '256.0.0.1',
      '10.0.0.0/33',
      '10.0.0',
      '10.0.0.0/8 192.168.0.0/16',
      '10.0.0.0/8; include /etc/passwd',
      '10.0.0.0/8,192.168.0.0/16',
      '1:2:3:4:5:6:7:8:9',
      '2001:db8::/129',
      'fe80::1%eth0',
      ':::1',
    ]) {
      assert.equal(
        errorFor(bad),
        'spec.nginx.upstreamRealIPAddress: nginx.upstreamRealIPAddress must be one IPv4 or IPv6 address or CIDR, such as 10.0.0.0/8 (the addresses your ingress controller or load balancer connects from)',
        JSON.stringify(bad),
      );
    }
  });

  it('checks nginx.upstreamRealIPHeader, upstreamRealIPRecursive and the gunicorn bounds', () => {
    for (const ok of ['X-Forwarded-For', 'X-Real-IP', 'CF-Connecting-IP', 'proxy_protocol']) {
      assert.deepEqual(
        errorsOf(validateFrappeBench(bench({ nginx: { upstreamRealIPHeader: ok } }))),
        [],
      );
    }
    for (const bad of ['X-Forwarded-For;', 'X Real IP', '-X', '$http_x', 'X-"IP"', '']) {
      assert.deepEqual(
        errorsOf(validateFrappeBench(bench({ nginx: { upstreamRealIPHeader: bad } }))),
        [
          'spec.nginx.upstreamRealIPHeader: nginx.upstreamRealIPHeader must be an HTTP header name such as X-Forwarded-For or X-Real-IP (letters, digits, - and _)',
        ],
        JSON.stringify(bad),
      );
    }
    // YAML 1.1 reads unquoted on/off as booleans: refused, never taken for off.
    for (const bad of ['yes', true, false]) {
      const errors = errorsOf(
        validateFrappeBench(bench({ nginx: { upstreamRealIPRecursive: bad } })),
      );
      assert.ok(
        errors.some((e) => e.startsWith('spec.nginx.upstreamRealIPRecursive:')),
        `${JSON.stringify(bad)}: ${errors.join('\n')}`,
      );
    }
    for (const [field, value] of [
      ['workers', 0],
      ['workers', 65],
      ['threads', 0],
      ['threads', 65],
      ['timeout', 0],
      ['timeout', 3601],
      ['workers', 2.5],
    ] as const) {
      const errors = errorsOf(validateFrappeBench(bench({ gunicorn: { [field]: value } })));
      assert.ok(
        errors.some((e) => e.startsWith(`spec.gunicorn.${field}:`)),
        `${field}=${value}: ${errors.join('\n')}`,
      );
    }
  });

  it('defaults inside map values (componentAutoscaling entries)', () => {
    const value = valueOf(
      validateFrappeBench(bench({ componentAutoscaling: { nginx: { hpa: {} } } })),
    );
    assert.deepEqual(value.spec.componentAutoscaling?.nginx, {
      enabled: false,
      provider: 'hpa',
      staticReplicas: 1,
      minReplicas: 1,
      maxReplicas: 10,
      cooldownPeriod: 300,
      pollingInterval: 30,
      hpa: {
        metric: 'cpu',
        targetUtilization: 70,
        scaleUpStabilization: 0,
        scaleDownStabilization: 300,
      },
    });
  });

  it('does not modify its argument', () => {
    const input = bench({});
    validateFrappeBench(input);
    assert.deepEqual(input, bench({}));
  });

  it('reports the admission messages of CEL-enforced patterns', () => {
    const errors = errorsOf(
      validateFrappeBench(
        bench(
          {
            frappeVersion: '15 beta',
            appsJSON: 'erpnext',
            apps: [{ name: 'ERPNext', source: 'git' }],
            componentAutoscaling: { scheduler: {} },
            componentResources: { gunicorn: { requests: { cpu: 'lots', gpu: '1' } } },
          },
          'Bad_Name',
        ),
      ),
    );
    for (const expected of [
      'metadata.name: FrappeBench name must be a DNS-1035 label',
      'spec.frappeVersion: frappeVersion must look like 15, 15.1.0, version-15 or v15.1.0',
      'spec.appsJSON: appsJSON must be a JSON array of app names',
      'spec.apps[0].name: apps[].name must be a Python package name',
      "spec.apps[0].source: only source 'image' is supported in v1alpha1",
      'spec.componentAutoscaling.scheduler: componentAutoscaling keys must be',
      'spec.componentResources.gunicorn.requests.cpu: resource values must be quantities',
      'spec.componentResources.gunicorn.requests.gpu: only cpu, memory and ephemeral-storage',
    ]) {
      assert.ok(
        errors.some((e) => e.startsWith(expected)),
        `missing ${expected} in\n${errors.join('\n')}`,
      );
    }
  });

  it('rejects enums and bounds with the schema message', () => {
    const errors = errorsOf(
      validateFrappeBench(
        bench({ storageAccessMode: 'ReadOnlyMany', siteReconcileConcurrency: 101 }),
      ),
    );
    assert.ok(
      errors.some((e) => e.startsWith('spec.storageAccessMode:')),
      errors.join('\n'),
    );
    assert.ok(
      errors.some((e) => e.startsWith('spec.siteReconcileConcurrency:')),
      errors.join('\n'),
    );
  });

  it('accepts int-or-string quantities in both forms', () => {
    valueOf(
      validateFrappeBench(
        bench({
          storageSize: 20,
          componentResources: { nginx: { limits: { cpu: 2, memory: '1Gi' } } },
        }),
      ),
    );
  });
});

describe('validateFrappeSite', () => {
  it('applies defaults and checks siteName', () => {
    const value = valueOf(
      validateFrappeSite({
        apiVersion: API_VERSION,
        kind: 'FrappeSite',
        metadata: { name: 's' },
        spec: { benchRef: { name: 'b' }, siteName: 'erp.example.com', tls: {} },
      }),
    );
    assert.equal(value.spec.deletionPolicy, 'Retain');
    assert.equal(value.spec.skipInit, false);
    assert.deepEqual(value.spec.ingress, { enabled: true });
    assert.deepEqual(value.spec.tls, { enabled: false });
    const errors = errorsOf(
      validateFrappeSite({
        apiVersion: API_VERSION,
        kind: 'FrappeSite',
        metadata: { name: 's' },
        spec: { benchRef: { name: 'b' }, siteName: 'ERP_site' },
      }),
    );
    assert.deepEqual(errors, [
      'spec.siteName: siteName must be a lowercase DNS name such as erp.example.com',
    ]);
  });
});

describe('validateSiteBackup and validateSiteJob', () => {
  it('check destinations, schedules and job types', () => {
    const backup = errorsOf(
      validateSiteBackup({
        apiVersion: API_VERSION,
        kind: 'SiteBackup',
        metadata: { name: 'b' },
        spec: {
          siteRef: { name: 's' },
          schedule: 'daily',
          destination: { type: 'gcs', config: { endpoint: 'ftp://x' } },
        },
      }),
    );
    assert.ok(
      backup.some((e) => e.startsWith('spec.schedule: schedule must be a cron expression')),
    );
    assert.ok(backup.some((e) => e.startsWith('spec.destination.type:')));
    assert.ok(
      backup.includes(
        'spec.destination.config.endpoint: destination.config.endpoint must be an http(s) URL',
      ),
    );
    const job = errorsOf(
      validateSiteJob({
        apiVersion: API_VERSION,
        kind: 'SiteJob',
        metadata: { name: 'j' },
        spec: { siteRef: { name: 's' }, jobType: 'restart' },
      }),
    );
    assert.ok(
      job.some((e) => e.startsWith('spec.jobType:')),
      job.join('\n'),
    );
    const defaults = valueOf(
      validateSiteJob({
        apiVersion: API_VERSION,
        kind: 'SiteJob',
        metadata: { name: 'j' },
        spec: { siteRef: { name: 's' }, jobType: 'migrate' },
      }),
    );
    assert.equal(defaults.spec.activeDeadlineSeconds, 7200);
  });
});

describe('patterns that decide what the operator can build', () => {
  const scheduleErrors = (schedule: string) =>
    errorsOf(
      validateSiteBackup({
        apiVersion: API_VERSION,
        kind: 'SiteBackup',
        metadata: { name: 'b' },
        spec: { siteRef: { name: 's' }, schedule },
      }),
    ).filter((e) => e.startsWith('spec.schedule:'));

  it('schedule: each cron field within its range, as Kubernetes parses CronJob schedules', () => {
    for (const ok of [
      '0 2 * * *',
      '*/15 0-23/2 1,15 JAN-MAR mon-fri',
      '0 0 ? * SUN',
      '59 23 31 12 6',
      '00 00 01 01 0',
      '30 3 * dec sat',
      '@daily',
      '@hourly',
    ]) {
      assert.deepEqual(scheduleErrors(ok), [], ok);
    }
    for (const bad of [
      '61 2 * * *',
      '0 24 * * *',
      '0 0 0 * *',
      '0 0 32 * *',
      '0 0 * 13 *',
      '0 0 * * 7',
      '*/0 * * * *',
      '0-60 * * * *',
      '0 2 * * MONDAY',
      '0 2 * *',
      '0 2 * * * *',
      '@every 1h',
    ]) {
      assert.deepEqual(
        scheduleErrors(bad),
        [
          'spec.schedule: schedule must be a cron expression with 5 fields (e.g. "0 2 * * *") or one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly',
        ],
        bad,
      );
    }
  });

  it('appsJSON: every value the pattern admits is JSON (no control character, JSON whitespace only)', () => {
    const appsErrors = (appsJSON: string) =>
      errorsOf(validateFrappeBench(bench({ appsJSON }))).filter((e) =>
        e.startsWith('spec.appsJSON:'),
      );
    for (const ok of ['["erpnext", "hrms@v15.1.0"]', '[]', ' [\n"erpnext"\t] ']) {
      assert.deepEqual(appsErrors(ok), [], ok);
      assert.ok(Array.isArray(JSON.parse(ok)));
    }
    for (const bad of ['["erpnext@v1\u0001"]', '["erpnext@v1\u000b"]', '\f["erpnext"]']) {
      assert.throws(() => JSON.parse(bad) as unknown, SyntaxError);
      assert.equal(appsErrors(bad).length, 1, JSON.stringify(bad));
    }
  });
});
