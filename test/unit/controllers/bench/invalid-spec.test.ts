// Specs the schema admits but no child can be built from (issue 9 B9): the plan's own checks and
// the API server's refusals become a Stop naming the spec field (`Invalid<Field>`), so the bench
// says Ready=False, Degraded=True with a Warning event, and is not retried; any other error stays
// transient.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  benchStatus,
  invalidSpecStatus,
  transitions,
} from '../../../../src/controllers/bench/status.ts';
import { BENCH_STEPS } from '../../../../src/controllers/bench/reconcile.ts';
import {
  InvalidSpecError,
  invalidReason,
  invalidSpecOutcome,
} from '../../../../src/controllers/shared/invalid-spec.ts';
import { KubeApiError, statusError } from '../../../../src/kube/client.ts';
import { done, walkSteps } from '../../../../src/runtime/steps.ts';
import { context, planOf, prodBench, prodBenchManifest, stored } from './fixtures.ts';

const PATH = 'PATCH /apis/apps/v1/namespaces/production/statefulsets/prod-bench-redis-cache';

/** The 422 the API server answers for an empty pod affinity term. */
const emptyTerm = statusError(PATH, 422, {
  kind: 'Status',
  code: 422,
  reason: 'Invalid',
  message: 'StatefulSet.apps "prod-bench-redis-cache" is invalid: ...',
  details: {
    name: 'prod-bench-redis-cache',
    group: 'apps',
    kind: 'StatefulSet',
    causes: [
      {
        reason: 'FieldValueRequired',
        message: 'Required value: can not be empty',
        field:
          'spec.template.spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey',
      },
    ],
  },
});

const withSpec = (spec: Record<string, unknown>) =>
  stored({ ...prodBenchManifest, spec: { ...prodBenchManifest.spec, ...spec } });

test('reasons name the top-level spec field', () => {
  assert.equal(invalidReason('spec.podConfig.affinity'), 'InvalidPodConfig');
  assert.equal(invalidReason('spec.appsJSON'), 'InvalidAppsJSON');
  assert.equal(invalidReason(undefined), 'InvalidSpec');
});

test('the API server refusing a child is a Stop naming the spec field it comes from', () => {
  const s = invalidSpecOutcome(emptyTerm);
  assert.equal(s?.kind, 'Stop');
  assert.equal(s.reason, 'InvalidPodConfig');
  assert.match(
    s.message,
    /^spec\.podConfig\.affinity cannot be built: the API server refuses StatefulSet prod-bench-redis-cache \(spec\.template\.spec\.affinity\.podAffinity\.requiredDuringSchedulingIgnoredDuringExecution\[0\]\.topologyKey: Required value: can not be empty\)/,
  );
  // A value of the wrong type: server-side apply's typed-patch error (a 500).
  const typed = invalidSpecOutcome(
    new KubeApiError(
      `${PATH}: failed to create typed patch object (production/prod-bench-redis-cache; apps/v1, Kind=StatefulSet): .spec.template.spec.tolerations: expected list, got &{x}`,
      500,
      'InternalError',
    ),
  );
  assert.equal(typed?.reason, 'InvalidPodConfig');
  assert.match(
    typed.message,
    /spec\.podConfig\.tolerations cannot be built.*statefulsets\/prod-bench-redis-cache/,
  );
  // A field no spec field maps to still stops, saying which object and field.
  const other = invalidSpecOutcome(
    statusError(PATH, 422, {
      code: 422,
      reason: 'Invalid',
      details: {
        kind: 'Service',
        name: 'x',
        causes: [{ field: 'spec.ports[0].port', message: 'bad' }],
      },
    }),
  );
  assert.equal(other?.reason, 'InvalidSpec');
  // Anything else stays transient.
  for (const err of [
    statusError(PATH, 409, { code: 409, reason: 'Conflict' }),
    statusError(PATH, 500, { code: 500, reason: 'InternalError', message: 'etcd timeout' }),
    new Error('socket hang up'),
  ]) {
    assert.equal(invalidSpecOutcome(err), undefined);
  }
});

test('a refused child: Ready=False and Degraded naming the field, one Warning event, generation processed', async () => {
  const bench = prodBench();
  const walk = await walkSteps(
    BENCH_STEPS,
    {
      storage: () => Promise.resolve(done('Bound', 'bound')),
      redis: () => Promise.reject(emptyTerm),
      init: () => assert.fail('not reached'),
      components: () => assert.fail('not reached'),
      autoscaling: () => assert.fail('not reached'),
    },
    () => false,
    (err) => invalidSpecOutcome(err),
  );
  assert.equal(walk.error, undefined, 'not a transient error: no retry');
  const plan = planOf(bench, context());
  const s = benchStatus(bench, walk, {
    init: { phase: 'Running', image: plan.image },
    image: plan.image,
    initializedImage: undefined,
    deployments: {},
    scaling: plan.scaling,
    requiredApps: plan.apps,
    apps: undefined,
    siteCount: 0,
    benchId: plan.benchId,
  });
  const c = (type: string) => s.conditions?.find((x) => x.type === type);
  assert.equal(`${c('Ready')?.status}/${c('Ready')?.reason}`, 'False/InvalidPodConfig');
  assert.match(c('Ready')?.message ?? '', /^step redis: spec\.podConfig\.affinity cannot be built/);
  assert.equal(`${c('RedisReady')?.status}/${c('RedisReady')?.reason}`, 'False/InvalidPodConfig');
  assert.equal(`${c('Degraded')?.status}/${c('Degraded')?.reason}`, 'True/InvalidPodConfig');
  assert.equal(`${c('Progressing')?.status}/${c('Progressing')?.reason}`, 'False/InvalidPodConfig');
  assert.equal(s.observedGeneration, bench.metadata.generation);
  const events = transitions(bench.status, s).filter((e) => e.reason === 'InvalidPodConfig');
  assert.deepEqual(
    events.map((e) => e.type),
    ['Warning'],
  );
});

test('the plan refuses what it takes apart itself: an appsJSON that does not parse, a podAffinity that is not a list', () => {
  // Stored before admission checked appsJSON's form (today's schema would refuse it).
  const old = prodBench();
  const storedEarlier = { ...old, spec: { ...old.spec, appsJSON: '["erpnext@v15\u0001"]' } };
  assert.throws(
    () => planOf(storedEarlier, context()),
    (e: unknown) =>
      e instanceof InvalidSpecError &&
      e.reason === 'InvalidAppsJSON' &&
      /^spec\.appsJSON is not JSON/.test(e.message),
  );
  assert.throws(
    () =>
      planOf(
        withSpec({
          storageAccessMode: 'ReadWriteOnce',
          podConfig: {
            affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: {} } },
          },
        }),
        context(),
      ),
    (e: unknown) => e instanceof InvalidSpecError && e.reason === 'InvalidPodConfig',
  );
  const bench = prodBench();
  const s = invalidSpecStatus(bench, 'InvalidAppsJSON', 'spec.appsJSON is not JSON');
  assert.deepEqual(
    s.conditions?.map((x) => `${x.type}=${x.status}/${x.reason}`),
    [
      'Ready=False/InvalidAppsJSON',
      'Progressing=False/InvalidAppsJSON',
      'Degraded=True/InvalidAppsJSON',
    ],
  );
  assert.deepEqual(
    transitions(bench.status, s).map((e) => `${e.type} ${e.reason}`),
    ['Warning InvalidAppsJSON'],
  );
});
