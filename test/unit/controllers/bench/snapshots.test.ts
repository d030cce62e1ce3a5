// Golden files of every child the guide's benches get (API.md §2.1 examples): prod-bench with
// HPA and KEDA autoscaling, compliance-bench with its own security contexts, and a bench using
// every Redis option. `node --test --test-update-snapshots` rewrites them after a deliberate
// change; review the diff like code.
import { test } from 'node:test';
import YAML from 'yaml';
import type { FrappeBench } from '../../../../src/api/v1alpha1/index.ts';
import { benchChildren } from '../../../../src/controllers/bench/children.ts';
import type { BenchContext } from '../../../../src/controllers/bench/context.ts';
import type { Stored } from '../../../../src/kube/informer.ts';
import {
  childList,
  complianceBench,
  context,
  initializedPlan,
  prodBench,
  stored,
} from './fixtures.ts';

const yaml = (value: unknown): string =>
  YAML.stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });

const render = (bench: Stored<FrappeBench>, ctx: BenchContext) =>
  childList(initializedPlan(bench, ctx));

test('prod-bench (guide): every child', (t) => {
  t.assert.snapshot(render(prodBench(), context()), { serializers: [yaml] });
});

test('compliance-bench (guide): every child', async (t) => {
  t.assert.snapshot(render(await complianceBench(), context()), { serializers: [yaml] });
});

test('a bench with Redis auth, metrics and persistence, ReadWriteOnce and podConfig', (t) => {
  const bench = stored({
    apiVersion: 'vyogo.tech/v1alpha1',
    kind: 'FrappeBench',
    metadata: { name: 'full', namespace: 'erp' },
    spec: {
      frappeVersion: '15.1.0',
      imageConfig: {
        repository: 'registry.example.com:5000/acme/erpnext',
        pullPolicy: 'Always',
        pullSecrets: [{ name: 'regcred' }],
      },
      apps: [{ name: 'erpnext', version: 'v15.1.0' }],
      appsJSON: '["hrms@15.0.0", "erpnext"]',
      storageAccessMode: 'ReadWriteOnce',
      storageSize: '20Gi',
      commonSiteConfig: { maintenance_mode: '0', host_name: 'erp.example.com' },
      redisConfig: {
        auth: { enabled: true },
        metrics: { enabled: true },
        storageSize: '2Gi',
        resources: { limits: { memory: '2Gi' } },
      },
      componentAutoscaling: {
        nginx: { enabled: false, staticReplicas: 2 },
        'worker-default': { enabled: true, provider: 'keda', minReplicas: 1, maxReplicas: 4 },
      },
      podConfig: {
        labels: { team: 'erp' },
        annotations: { 'example.com/owner': 'erp' },
        nodeSelector: { pool: 'frappe' },
        tolerations: [
          { key: 'dedicated', operator: 'Equal', value: 'frappe', effect: 'NoSchedule' },
        ],
        priorityClassName: 'business',
      },
      podDisruptionBudget: { maxUnavailable: '50%' },
    },
  });
  t.assert.snapshot(render(bench, context()), { serializers: [yaml] });
});

test('OpenShift without explicit IDs: pod and container IDs stay unset', (t) => {
  const ctx = context({ defaults: { ...context().defaults, isOpenShift: true } });
  const c = benchChildren(initializedPlan(prodBench(), ctx));
  t.assert.snapshot(c.init.job.spec.template.spec, { serializers: [yaml] });
});
