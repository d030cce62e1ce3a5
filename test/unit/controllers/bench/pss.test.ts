// The restricted Pod Security Standard checker used by the property tests must itself reject
// what the API server's PodSecurity admission rejects — otherwise the properties prove nothing.
// Each case breaks one rule of an admitted pod and must be reported as exactly that rule, where
// it was broken: a checker that flags "something" for every case would fail here.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Container, PodSpec } from '../../../../src/controllers/shared/k8s.ts';
import { restrictedRuleViolations, restrictedViolations, type PssRule } from '../pss.ts';

const restrictedContainer: Container = {
  name: 'c',
  securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
};

const good: PodSpec = {
  securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
  containers: [restrictedContainer],
  volumes: [{ name: 'v', emptyDir: {} }],
};

/** `good` with container c's securityContext changed. */
const withContainer = (securityContext: Container['securityContext']): PodSpec => ({
  ...good,
  containers: [{ ...restrictedContainer, securityContext }],
});
const containerSc = restrictedContainer.securityContext;

describe('the restricted PSS checker', () => {
  it('passes a restricted pod', () => {
    assert.deepEqual(restrictedViolations(good), []);
  });

  // [the case, the spec, the rule it breaks, where (pod or container c/i)]
  const cases: [string, PodSpec, PssRule, string][] = [
    ['hostNetwork', { ...good, hostNetwork: true }, 'hostNamespaces', 'pod'],
    ['hostPID', { ...good, hostPID: true }, 'hostNamespaces', 'pod'],
    ['hostIPC', { ...good, hostIPC: true }, 'hostNamespaces', 'pod'],
    [
      'privileged container',
      withContainer({ ...containerSc, privileged: true }),
      'privileged',
      'container c',
    ],
    [
      'no capabilities.drop ALL',
      withContainer({ allowPrivilegeEscalation: false }),
      'capabilities',
      'container c',
    ],
    [
      'added capability other than NET_BIND_SERVICE',
      withContainer({
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'], add: ['SYS_ADMIN'] },
      }),
      'capabilities',
      'container c',
    ],
    [
      'hostPort',
      {
        ...good,
        containers: [{ ...restrictedContainer, ports: [{ containerPort: 80, hostPort: 80 }] }],
      },
      'hostPorts',
      'container c',
    ],
    [
      'AppArmor Unconfined on the pod',
      {
        ...good,
        securityContext: { ...good.securityContext, appArmorProfile: { type: 'Unconfined' } },
      },
      'appArmorProfile',
      'pod',
    ],
    [
      'AppArmor Unconfined on a container',
      withContainer({ ...containerSc, appArmorProfile: { type: 'Unconfined' } }),
      'appArmorProfile',
      'container c',
    ],
    [
      'SELinux type not allowed',
      withContainer({ ...containerSc, seLinuxOptions: { type: 'spc_t' } }),
      'seLinuxOptions',
      'container c',
    ],
    [
      'SELinux user set on the pod',
      {
        ...good,
        securityContext: { ...good.securityContext, seLinuxOptions: { user: 'system_u' } },
      },
      'seLinuxOptions',
      'pod',
    ],
    [
      'procMount Unmasked',
      withContainer({ ...containerSc, procMount: 'Unmasked' }),
      'procMount',
      'container c',
    ],
    [
      'no seccompProfile',
      { ...good, securityContext: { runAsNonRoot: true } },
      'seccompProfile',
      'container c',
    ],
    [
      'seccompProfile Unconfined on a container',
      withContainer({ ...containerSc, seccompProfile: { type: 'Unconfined' } }),
      'seccompProfile',
      'container c',
    ],
    [
      'unsafe sysctl',
      {
        ...good,
        securityContext: {
          ...good.securityContext,
          sysctls: [{ name: 'kernel.msgmax', value: '1' }],
        },
      },
      'sysctls',
      'pod',
    ],
    [
      'volume type outside the restricted list',
      { ...good, volumes: [{ name: 'n', nfs: { server: 'nfs', path: '/' } }] },
      'restrictedVolumes',
      'pod',
    ],
    [
      'allowPrivilegeEscalation not false',
      withContainer({ capabilities: { drop: ['ALL'] } }),
      'allowPrivilegeEscalation',
      'container c',
    ],
    [
      'runAsNonRoot not set',
      { ...good, securityContext: { seccompProfile: { type: 'RuntimeDefault' } } },
      'runAsNonRoot',
      'container c',
    ],
    [
      'runAsNonRoot false on a container',
      withContainer({ ...containerSc, runAsNonRoot: false }),
      'runAsNonRoot',
      'container c',
    ],
    [
      'runAsUser 0 on a container',
      withContainer({ ...containerSc, runAsUser: 0 }),
      'runAsUser',
      'container c',
    ],
  ];
  for (const [name, spec, rule, where] of cases) {
    it(`${name}: ${rule} (${where})`, () => {
      assert.deepEqual(
        restrictedRuleViolations(spec).map((v) => [v.rule, v.where]),
        [[rule, where]],
      );
    });
  }

  it('runAsUser 0 on the pod: runAsUser, on the pod and inherited by every container', () => {
    const spec = { ...good, securityContext: { ...good.securityContext, runAsUser: 0 } };
    assert.deepEqual(
      restrictedRuleViolations(spec).map((v) => [v.rule, v.where]),
      [
        ['runAsUser', 'pod'],
        ['runAsUser', 'container c'],
      ],
    );
  });

  it('a hostPath volume: hostPathVolumes and restrictedVolumes, as the admission reports it', () => {
    const spec = { ...good, volumes: [{ name: 'h', hostPath: { path: '/' } }] };
    assert.deepEqual(
      restrictedRuleViolations(spec).map((v) => [v.rule, v.detail]),
      [
        ['hostPathVolumes', 'volume h: hostPath'],
        ['restrictedVolumes', 'volume h: hostPath'],
      ],
    );
  });

  it('init containers are checked like containers', () => {
    const spec = { ...good, initContainers: [{ name: 'i' }] };
    assert.deepEqual(
      restrictedRuleViolations(spec).map((v) => [v.rule, v.where]),
      [
        ['allowPrivilegeEscalation', 'container i'],
        ['capabilities', 'container i'],
      ],
    );
  });
});
