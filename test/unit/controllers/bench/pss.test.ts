// The restricted Pod Security Standard checker used by the property tests must itself reject
// what the API server's PodSecurity admission rejects — otherwise the properties prove nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PodSpec } from '../../../../src/controllers/shared/k8s.ts';
import { restrictedViolations } from '../pss.ts';

const good: PodSpec = {
  securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
  containers: [
    {
      name: 'c',
      securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
    },
  ],
  volumes: [{ name: 'v', emptyDir: {} }],
};

test('a restricted pod passes', () => {
  assert.deepEqual(restrictedViolations(good), []);
});

test('each restricted rule is checked', () => {
  const cases: [string, PodSpec][] = [
    ['hostNetwork', { ...good, hostNetwork: true }],
    ['hostPath', { ...good, volumes: [{ name: 'h', hostPath: { path: '/' } }] }],
    ['runAsNonRoot', { ...good, securityContext: { seccompProfile: { type: 'RuntimeDefault' } } }],
    ['seccomp', { ...good, securityContext: { runAsNonRoot: true } }],
    ['root', { ...good, securityContext: { ...good.securityContext, runAsUser: 0 } }],
    [
      'escalation',
      {
        ...good,
        containers: [{ name: 'c', securityContext: { capabilities: { drop: ['ALL'] } } }],
      },
    ],
    [
      'drop ALL',
      {
        ...good,
        containers: [{ name: 'c', securityContext: { allowPrivilegeEscalation: false } }],
      },
    ],
    [
      'add capability',
      {
        ...good,
        containers: [
          {
            name: 'c',
            securityContext: {
              allowPrivilegeEscalation: false,
              capabilities: { drop: ['ALL'], add: ['SYS_ADMIN'] },
            },
          },
        ],
      },
    ],
    ['init container', { ...good, initContainers: [{ name: 'i' }] }],
  ];
  for (const [rule, spec] of cases) {
    assert.notDeepEqual(restrictedViolations(spec), [], rule);
  }
});
