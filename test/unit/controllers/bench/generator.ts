// The bench's entry in the shared property suite (../children.test.ts): generated benches within
// the admission rules and generated contexts, with bench-init done (so every Deployment exists),
// and a distinctive Redis password fed to the builder of the generated password Secret.
import fc from 'fast-check';
import { benchChildren } from '../../../../src/controllers/bench/children.ts';
import { redisAuthSecret } from '../../../../src/controllers/bench/redis.ts';
import { desiredJob } from '../../../../src/runtime/jobs.ts';
import type { ChildrenGenerator, GeneratedChildren } from '../children.ts';
import { bench, benchContext, secretValue } from './arbitraries.ts';
import { planOf } from './fixtures.ts';

export const benchGenerator: ChildrenGenerator & { inputs: fc.Arbitrary<GeneratedChildren> } = {
  controller: 'frappebench',
  // The sites volume outlives its bench (storageRetentionPolicy).
  unowned: (obj) => obj.kind === 'PersistentVolumeClaim',
  inputs: fc.tuple(bench, benchContext, secretValue).map(([b, ctx, redisPassword]) => {
    const first = planOf(b, ctx);
    const plan = planOf(b, {
      ...ctx,
      initRecord: ctx.initRecord ?? { image: first.image, inputsHash: first.initHash },
    });
    const c = benchChildren(plan);
    return {
      owner: b,
      children: [
        c.storage,
        ...c.redis,
        desiredJob(c.init),
        ...c.components,
        ...c.disruptionBudgets,
        ...c.autoscaling,
        redisAuthSecret(plan, redisPassword),
      ],
      secrets: [redisPassword],
    };
  }),
};
