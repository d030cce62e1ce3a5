// The install bundle (src/deploy): the manager pod passes the restricted Pod Security Standard,
// no role has a wildcard, every permission of the operator's roles names code that makes its
// requests (and every kind the controllers cache is granted), the Deployment and Service are what
// API.md §4.2 and the Operations Guide name, the ConfigMap's commented defaults are values the
// operator accepts, and config/install.yaml holds every object once, in apply order. That the
// committed files are up to date is checked with the other generated files
// (test/unit/api/generated.test.ts).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { ROOT } from '../../../src/api/generate.ts';
import { KINDS as API_KINDS } from '../../../src/api/v1alpha1/index.ts';
import { parseRunFlags } from '../../../src/cli.ts';
import {
  CONFIG_KEYS,
  CONFIG_SPEC,
  parseOperatorConfig,
} from '../../../src/config/operator-config.ts';
import { KINDS } from '../../../src/controllers/shared/objects.ts';
import { bundleFiles, INSTALL_PATH, installManifests } from '../../../src/deploy/bundle.ts';
import {
  MANAGER_ARGS,
  managerDeployment,
  metricsService,
  operatorConfigComment,
} from '../../../src/deploy/manager.ts';
import {
  MANAGER_CONTAINER,
  MANAGER_LABELS,
  MANAGER_NAME,
  NAMESPACE,
  OPERATOR_IMAGE,
  OPERATOR_VERSION,
} from '../../../src/deploy/names.ts';
import {
  editClusterRole,
  LEADER_ELECTION_PERMISSIONS,
  MANAGER_PERMISSIONS,
  viewClusterRole,
  type PolicyRule,
  type Role,
  type RoleBinding,
} from '../../../src/deploy/rbac.ts';
import type { KubeObject } from '../../../src/kube/client.ts';
import { restrictedViolations } from '../controllers/pss.ts';

const objects = installManifests().map((m) => m.object as KubeObject);
const ofKind = <T extends KubeObject>(...kinds: string[]): T[] =>
  objects.filter((o) => kinds.includes(o.kind)) as T[];
const deployment = managerDeployment();
const pod = deployment.spec.template.spec ?? assert.fail('the Deployment has no pod spec');
const manager =
  pod.containers.find((c) => c.name === MANAGER_CONTAINER) ?? assert.fail('no manager container');

describe('the manager Deployment', () => {
  it('its pod passes the restricted Pod Security Standard', () => {
    assert.deepEqual(restrictedViolations(pod), []);
  });

  it('is what the Operations Guide patches: container manager in frappe-operator-system', () => {
    assert.equal(deployment.metadata.name, 'frappe-operator-controller-manager');
    assert.equal(deployment.metadata.namespace, 'frappe-operator-system');
    assert.equal(manager.name, 'manager');
    assert.equal(pod.serviceAccountName, MANAGER_NAME);
    assert.equal(
      deployment.spec.template.metadata?.labels?.['control-plane'],
      'controller-manager',
    );
  });

  it('runs `run` with the flags of API.md §4.2, which the CLI accepts', () => {
    assert.deepEqual(manager.args, [...MANAGER_ARGS]);
    assert.equal(MANAGER_ARGS[0], 'run');
    assert.deepEqual(parseRunFlags(MANAGER_ARGS.slice(1)), {
      metricsBindAddress: ':8443',
      healthProbeBindAddress: ':8081',
      leaderElect: true,
      metricsCertDir: undefined,
    });
  });

  it('knows its namespace from the downward API, its image from the env; runs with the Node options', () => {
    assert.deepEqual(manager.env, [
      {
        name: 'FRAPPE_OPERATOR_NAMESPACE',
        valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } },
      },
      { name: 'FRAPPE_OPERATOR_IMAGE', value: OPERATOR_IMAGE },
      { name: 'NODE_OPTIONS', value: '--max-semi-space-size=1 --max-old-space-size=128' },
    ]);
    assert.equal(manager.image, OPERATOR_IMAGE);
  });

  it('has its image tagged with the package version', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    assert.equal(OPERATOR_VERSION, pkg.version);
    assert.equal(OPERATOR_IMAGE, `ghcr.io/vyogotech/frappe-operator:${pkg.version}`);
  });

  it('has probes on 8081, ports https and health, 100m/128Mi → 500m/512Mi', () => {
    assert.deepEqual(manager.ports, [
      { name: 'https', containerPort: 8443, protocol: 'TCP' },
      { name: 'health', containerPort: 8081, protocol: 'TCP' },
    ]);
    assert.deepEqual(manager.livenessProbe?.httpGet, { path: '/healthz', port: 'health' });
    assert.deepEqual(manager.readinessProbe?.httpGet, { path: '/readyz', port: 'health' });
    assert.deepEqual(manager.resources, {
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { cpu: '500m', memory: '512Mi' },
    });
  });

  it('is selected by the metrics Service the guide’s ServiceMonitor selects (port https)', () => {
    const svc = metricsService();
    assert.equal(svc.metadata.name, 'frappe-operator-controller-manager-metrics-service');
    assert.equal(svc.metadata.labels?.['control-plane'], 'controller-manager');
    assert.deepEqual(svc.spec.selector, MANAGER_LABELS);
    const podLabels = deployment.spec.template.metadata?.labels ?? {};
    for (const [k, v] of Object.entries(svc.spec.selector ?? {})) assert.equal(podLabels[k], v);
    assert.deepEqual(deployment.spec.selector.matchLabels, MANAGER_LABELS);
    assert.deepEqual(svc.spec.ports, [
      { name: 'https', port: 8443, targetPort: 8443, protocol: 'TCP' },
    ]);
  });
});

describe('RBAC', () => {
  const roles = ofKind<Role>('ClusterRole', 'Role');

  it('no rule of any role has a wildcard', () => {
    assert.equal(roles.length, 5);
    for (const role of roles) {
      for (const rule of role.rules) {
        const fields: (keyof PolicyRule)[] = [
          'apiGroups',
          'resources',
          'verbs',
          'resourceNames',
          'nonResourceURLs',
        ];
        for (const field of fields) {
          const values = rule[field] ?? [];
          assert.ok(
            !values.some((v) => v.includes('*')),
            `${role.kind} ${role.metadata.name ?? ''}: ${field} ${values.join(',')}`,
          );
        }
      }
    }
  });

  it('every permission of the operator names code that makes its requests', async () => {
    for (const p of [...MANAGER_PERMISSIONS, ...LEADER_ELECTION_PERMISSIONS]) {
      assert.ok(p.usedBy.length > 0, `${p.apiGroup}/${p.resource}: used by nothing`);
      for (const use of p.usedBy) {
        const source = await readFile(join(ROOT, use.file), 'utf8');
        assert.ok(
          source.includes(use.mentions),
          `${p.apiGroup}/${p.resource}: ${use.file} no longer mentions ${use.mentions}: ` +
            'does the code still need it?',
        );
      }
    }
  });

  it('every kind the controllers cache is granted list and watch', () => {
    for (const { apiVersion, kind } of Object.values(KINDS)) {
      // Pods are listed (a Job's termination message), never cached.
      if (kind === 'Pod') continue;
      const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
      const lower = kind.toLowerCase();
      const resource = lower.endsWith('s') ? `${lower}es` : `${lower}s`;
      const p = MANAGER_PERMISSIONS.find((q) => q.apiGroup === group && q.resource === resource);
      assert.ok(p !== undefined, `${apiVersion} ${kind}: no permission`);
      assert.ok(
        p.verbs.includes('list') && p.verbs.includes('watch'),
        `${kind}: ${p.verbs.join(',')}`,
      );
    }
  });

  it('every binding binds the operator’s ServiceAccount to a role of the bundle', () => {
    const bindings = ofKind<RoleBinding>('ClusterRoleBinding', 'RoleBinding');
    assert.equal(bindings.length, 2);
    for (const b of bindings) {
      const roleKind = b.kind === 'ClusterRoleBinding' ? 'ClusterRole' : 'Role';
      assert.ok(
        roles.some((r) => r.kind === roleKind && r.metadata.name === b.roleRef.name),
        `${b.metadata.name ?? ''}: no ${roleKind} ${b.roleRef.name}`,
      );
      assert.equal(b.metadata.namespace, b.kind === 'RoleBinding' ? NAMESPACE : undefined);
      assert.deepEqual(b.subjects, [
        { kind: 'ServiceAccount', name: MANAGER_NAME, namespace: NAMESPACE },
      ]);
    }
  });

  it('-edit and -view cover the four kinds and aggregate into the built-in roles', () => {
    const plurals = API_KINDS.map((k) => k.plural);
    const edit = editClusterRole();
    const view = viewClusterRole();
    assert.equal(edit.metadata.labels?.['rbac.authorization.k8s.io/aggregate-to-edit'], 'true');
    assert.equal(edit.metadata.labels['rbac.authorization.k8s.io/aggregate-to-admin'], 'true');
    assert.equal(view.metadata.labels?.['rbac.authorization.k8s.io/aggregate-to-view'], 'true');
    assert.deepEqual(edit.rules[0]?.resources, plurals);
    assert.deepEqual(view.rules[0]?.resources, plurals);
    assert.ok(edit.rules[0].verbs.includes('create'));
    assert.deepEqual(view.rules[0].verbs, ['get', 'list', 'watch']);
  });
});

describe('the operator ConfigMap', () => {
  it('documents every key with its default, as values the operator accepts', () => {
    const comment = operatorConfigComment().split('\n');
    const from = comment.indexOf(' data:');
    assert.ok(from > 0, 'no `data:` line in the comment');
    // Uncommented as a user would: drop the `# ` the writer puts in front of each line.
    const { data } = parse(
      comment
        .slice(from)
        .map((l) => l.slice(1))
        .join('\n'),
    ) as {
      data: Record<string, string>;
    };
    const keys = CONFIG_KEYS.filter((k) => CONFIG_SPEC[k].configMapKey !== undefined);
    assert.deepEqual(
      Object.keys(data),
      keys.map((k) => CONFIG_SPEC[k].configMapKey),
    );
    const parsed = parseOperatorConfig({ configMapData: data, env: {} });
    assert.deepEqual(parsed.errors, []);
    for (const k of keys) assert.equal(parsed.config[k], CONFIG_SPEC[k].default, k);
  });
});

describe('config/install.yaml', () => {
  const text = bundleFiles().get(INSTALL_PATH) ?? '';
  const docs = parseAllDocuments(text).map((d) => d.toJS() as KubeObject);

  it('holds every object of the bundle and the four CRDs, once each', () => {
    assert.deepEqual(docs, objects);
    const ids = docs.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`);
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(ofKind('CustomResourceDefinition').length, API_KINDS.length);
  });

  it('is in apply order: Namespace, CRDs, ServiceAccount, roles, bindings, Deployment last', () => {
    const kinds = docs.map((o) => o.kind);
    const first = (k: string): number => kinds.indexOf(k);
    const last = (k: string): number => kinds.lastIndexOf(k);
    assert.equal(first('Namespace'), 0);
    assert.ok(last('CustomResourceDefinition') < first('ServiceAccount'));
    assert.ok(last('ClusterRole') < first('ClusterRoleBinding'));
    assert.ok(last('Role') < first('RoleBinding'));
    assert.equal(last('Deployment'), kinds.length - 1);
  });

  it('puts every namespaced object in frappe-operator-system', () => {
    const clusterScoped = [
      'Namespace',
      'CustomResourceDefinition',
      'ClusterRole',
      'ClusterRoleBinding',
    ];
    for (const o of docs) {
      assert.equal(
        o.metadata.namespace,
        clusterScoped.includes(o.kind) ? undefined : NAMESPACE,
        o.kind,
      );
    }
  });
});
