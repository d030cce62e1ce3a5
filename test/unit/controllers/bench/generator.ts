// The bench's entry in the shared property suite (../children.test.ts): generated benches within
// the admission rules and generated contexts, with bench-init done (so every Deployment exists),
// and a distinctive Redis password fed to the builder of the generated password Secret.
import fc from 'fast-check';
import { redisAuthSecret } from '../../../../src/controllers/bench/redis.ts';
import type { ChildrenGenerator, GeneratedChildren } from '../children.ts';
import { bench, benchContext, secretValue } from './arbitraries.ts';
import { childList, initializedPlan } from './fixtures.ts';

export const benchGenerator: ChildrenGenerator & { inputs: fc.Arbitrary<GeneratedChildren> } = {
  controller: 'frappebench',
  // The sites volume outlives its bench (storageRetentionPolicy).
  unowned: (obj) => obj.kind === 'PersistentVolumeClaim',
  inputs: fc.tuple(bench, benchContext, secretValue).map(([b, ctx, redisPassword]) => {
    const plan = initializedPlan(b, ctx);
    return {
      owner: b,
      children: [
        ...childList(plan),
        ...(plan.redis.generatedSecretName === undefined
          ? []
          : [redisAuthSecret(plan, plan.redis.generatedSecretName, redisPassword)]),
      ],
      secrets: [redisPassword],
    };
  }),
};
