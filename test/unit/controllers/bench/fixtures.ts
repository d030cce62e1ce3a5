// FrappeBench objects of the Operations Guide as the API server stores them (schema defaults
// applied): prod-bench as API.md §2.1 assembles it from the guide's snippets, compliance-bench
// from the guide's text; and a BenchContext with the operator's defaults.
import { validateFrappeBench, type FrappeBench } from '../../../../src/api/v1alpha1/index.ts';
import { benchChildren, childObjects } from '../../../../src/controllers/bench/children.ts';
import type { BenchContext } from '../../../../src/controllers/bench/context.ts';
import type { KubeObject } from '../../../../src/kube/client.ts';
import type { Stored } from '../../../../src/kube/informer.ts';
import {
  resolveBench,
  withDefaults,
  type BenchPlan,
} from '../../../../src/controllers/bench/plan.ts';
import { CONFIG_SPEC } from '../../../../src/config/operator-config.ts';
import { operatorDefaults } from '../defaults.ts';
import { loadManifest, MANIFESTS } from '../../../../src/dev/guide/guide.ts';

/** `obj` as stored: validated, schema defaults filled in, uid and generation set. */
export function stored(obj: unknown): Stored<FrappeBench> {
  const result = validateFrappeBench(obj);
  if (!result.ok) throw new Error(`invalid FrappeBench: ${result.errors.join('; ')}`);
  const bench = result.value;
  return {
    ...bench,
    metadata: {
      uid: '6f1c2d3e-0000-4000-8000-000000000001',
      resourceVersion: '1',
      generation: 1,
      ...bench.metadata,
      name: bench.metadata.name ?? 'bench',
      namespace: bench.metadata.namespace ?? 'default',
    },
  };
}

export const prodBenchManifest = {
  apiVersion: 'vyogo.tech/v1alpha1',
  kind: 'FrappeBench',
  metadata: { name: 'prod-bench', namespace: 'production' },
  spec: {
    frappeVersion: 'version-15',
    appsJSON: '["erpnext", "hrms"]',
    siteReconcileConcurrency: 20,
    componentResources: {
      gunicorn: { requests: { cpu: '1', memory: '2Gi' }, limits: { cpu: '2', memory: '4Gi' } },
    },
    componentAutoscaling: {
      gunicorn: {
        enabled: true,
        provider: 'hpa',
        minReplicas: 3,
        maxReplicas: 10,
        hpa: { metric: 'cpu', targetUtilization: 70 },
      },
      'worker-short': {
        enabled: true,
        provider: 'keda',
        minReplicas: 0,
        maxReplicas: 15,
        keda: { trigger: 'redis', targetValue: '5' },
      },
      'worker-long': {
        enabled: true,
        provider: 'keda',
        minReplicas: 1,
        maxReplicas: 5,
        keda: { trigger: 'redis', targetValue: '1' },
      },
    },
  },
};

export const prodBench = (): Stored<FrappeBench> => stored(prodBenchManifest);
/** The guide's compliance-bench, from its text (src/dev/guide). */
export async function complianceBench(): Promise<Stored<FrappeBench>> {
  const fixture = MANIFESTS.find((m) => m.file === 'compliance-bench.yaml');
  if (fixture === undefined) throw new Error('no compliance-bench fixture');
  return stored(await loadManifest(fixture));
}

/** The operator's defaults (as its configuration has them), KEDA installed, no bench-init yet. */
export function context(overrides: Partial<BenchContext> = {}): BenchContext {
  return {
    defaults: operatorDefaults(),
    kedaAvailable: true,
    deployments: {},
    initRecord: undefined,
    initJob: undefined,
    ...overrides,
  };
}

/** A bench-init record: the Deployments exist and run `image`. */
export const initialized = (image = CONFIG_SPEC.defaultFrappeImage.default) => ({
  initRecord: { image, inputsHash: 'recorded' },
});

/** The bench resolved as the reconciler resolves it. */
export const planOf = (bench: Stored<FrappeBench>, ctx: BenchContext = context()): BenchPlan =>
  resolveBench(withDefaults(bench), ctx);

/** The plan once bench-init has succeeded for the current inputs (or as `ctx` records it). */
export function initializedPlan(bench: Stored<FrappeBench>, ctx: BenchContext): BenchPlan {
  const first = planOf(bench, ctx);
  return planOf(bench, {
    ...ctx,
    initRecord: ctx.initRecord ?? { image: first.image, inputsHash: first.initHash },
  });
}

/** Every child of `plan`, in apply order, the bench-init Job as the runner creates it. */
export const childList = (plan: BenchPlan): KubeObject[] => childObjects(benchChildren(plan));
