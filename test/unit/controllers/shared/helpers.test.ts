// The shared helpers' rules, one example per rule of the contract: names (API.md §1.3),
// image resolution (§2.1), resource merging (§2.0), security-context precedence (§5.1) and
// quantities.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  normaliseVersion,
  resolveImage,
  splitImage,
} from '../../../../src/controllers/shared/image.ts';
import { isLabelValue, versionLabel } from '../../../../src/controllers/shared/labels.ts';
import {
  childName,
  MAX_CRONJOB_NAME_LENGTH,
  shortenName,
} from '../../../../src/controllers/shared/naming.ts';
import { canonicalQuantity, parseQuantity } from '../../../../src/controllers/shared/quantity.ts';
import { DEFAULT_RESOURCES } from '../../../../src/api/v1alpha1/resources.ts';
import { jobResources, mergeResources } from '../../../../src/controllers/shared/resources.ts';
import {
  BUILTIN_SECURITY_DEFAULTS,
  securityContexts,
} from '../../../../src/controllers/shared/security.ts';

test('names: kept when they fit, else first characters + 8 hex of sha256(full name)', () => {
  assert.equal(childName('prod-bench', 'gunicorn'), 'prod-bench-gunicorn');
  const long = `${'a'.repeat(50)}-${'b'.repeat(20)}`;
  const short = shortenName(long);
  assert.equal(short.length, 63);
  assert.match(short, /^a{50}-b{3}-[0-9a-f]{8}$/);
  assert.notEqual(shortenName(`${long}x`), short);
  assert.equal(shortenName(long, MAX_CRONJOB_NAME_LENGTH).length, 52);
  // A kept part ending in '-' does not produce '--'.
  assert.match(shortenName(`${'a'.repeat(53)}-${'b'.repeat(20)}`), /^a{53}-[0-9a-f]{8}$/);
});

test('image: frappeVersion normalisation, tag wins, registry ports, default image', () => {
  assert.equal(normaliseVersion('15'), 'version-15');
  assert.equal(normaliseVersion('15.1.0'), 'v15.1.0');
  assert.equal(normaliseVersion('version-15'), 'version-15');
  assert.equal(normaliseVersion('develop'), 'develop');
  const def = 'docker.io/frappe/erpnext:version-15';
  assert.equal(resolveImage({}, def), def);
  assert.equal(resolveImage({ frappeVersion: '14' }, def), 'docker.io/frappe/erpnext:version-14');
  assert.equal(
    resolveImage({ frappeVersion: 'version-15', imageConfig: { tag: 'v15.1.0' } }, def),
    'docker.io/frappe/erpnext:v15.1.0',
  );
  assert.equal(
    resolveImage({ imageConfig: { repository: 'reg:5000/acme/erp' } }, 'reg:5000/frappe/erpnext'),
    'reg:5000/acme/erp',
  );
  assert.deepEqual(splitImage('reg:5000/frappe/erpnext'), {
    repository: 'reg:5000/frappe/erpnext',
  });
  assert.deepEqual(splitImage('reg:5000/frappe/erpnext:v1'), {
    repository: 'reg:5000/frappe/erpnext',
    tag: 'v1',
  });
  assert.equal(resolveImage({}, 'r/x@sha256:abc'), 'r/x@sha256:abc');
});

test('labels: version label only when a valid label value', () => {
  assert.deepEqual(versionLabel('version-15'), { 'app.kubernetes.io/version': 'version-15' });
  assert.deepEqual(versionLabel(undefined), {});
  assert.equal(isLabelValue('a'.repeat(64)), false);
  assert.equal(isLabelValue('-x'), false);
});

test('quantities', () => {
  assert.equal(parseQuantity('500m'), 0.5);
  assert.equal(parseQuantity('1.5Gi'), 1.5 * 2 ** 30);
  assert.equal(parseQuantity('1e3'), 1000);
  assert.equal(parseQuantity(2), 2);
  assert.equal(parseQuantity('2k'), 2000);
  assert.throws(() => parseQuantity('2 Gi'), /invalid quantity/);
});

test('resources: missing request = min(default, limit); missing limit = max(default, request)', () => {
  const d = DEFAULT_RESOURCES.gunicorn; // 250m/512Mi → 2/2Gi
  assert.deepEqual(mergeResources(undefined, d), {
    requests: { cpu: '250m', memory: '512Mi' },
    limits: { cpu: '2', memory: '2Gi' },
  });
  assert.deepEqual(mergeResources({ limits: { cpu: '100m', memory: '4Gi' } }, d), {
    requests: { cpu: '100m', memory: '512Mi' },
    limits: { cpu: '100m', memory: '4Gi' },
  });
  assert.deepEqual(mergeResources({ requests: { cpu: 4, memory: '1Gi' } }, d), {
    requests: { cpu: '4', memory: '1Gi' },
    limits: { cpu: '4', memory: '2Gi' },
  });
  assert.deepEqual(mergeResources({ requests: { 'ephemeral-storage': '1Gi' } }, d).requests, {
    cpu: '250m',
    memory: '512Mi',
    'ephemeral-storage': '1Gi',
  });
  // Kind entry, then `default`, then built-in.
  assert.deepEqual(jobResources({ default: { limits: { cpu: '3' } } }, 'benchInit').limits, {
    cpu: '3',
    memory: '2Gi',
  });
  assert.deepEqual(
    jobResources(
      { default: { limits: { cpu: '3' } }, benchInit: { limits: { cpu: '2' } } },
      'benchInit',
    ).limits,
    { cpu: '2', memory: '2Gi' },
  );
});

test('security: spec.security > env > 1001/0/0; OpenShift leaves IDs unset unless given', () => {
  const plain = securityContexts(undefined, BUILTIN_SECURITY_DEFAULTS, false);
  assert.deepEqual(plain.pod, {
    runAsUser: 1001,
    runAsGroup: 0,
    fsGroup: 0,
    runAsNonRoot: true,
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  });
  assert.deepEqual(plain.container, {
    runAsUser: 1001,
    runAsGroup: 0,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    readOnlyRootFilesystem: false,
    seccompProfile: { type: 'RuntimeDefault' },
  });
  const env = { ...BUILTIN_SECURITY_DEFAULTS, uid: 2000, uidSet: true };
  const openshift = securityContexts(undefined, env, true);
  assert.equal(openshift.pod.runAsUser, 2000);
  assert.equal(openshift.pod.runAsGroup, undefined);
  assert.equal(openshift.container.runAsUser, undefined);
  const own = securityContexts(
    {
      podSecurityContext: { runAsUser: 5000 },
      securityContext: { capabilities: { drop: ['NET_RAW'] } },
    },
    env,
    false,
  );
  assert.equal(own.pod.runAsUser, 5000);
  assert.equal(own.container.runAsUser, 5000);
  assert.deepEqual(own.container.capabilities, { drop: ['NET_RAW', 'ALL'] });
});

test('quantities in the form the API server stores them (answers taken from kube-apiserver)', () => {
  const stored: Record<string, string> = {
    '1024Mi': '1Gi',
    '0.5Gi': '512Mi',
    '1.5Gi': '1536Mi',
    '1000M': '1G',
    '0.5': '500m',
    '1.5': '1500m',
    '1.5k': '1500',
    '1e3': '1e3',
    '1.5e3': '1500',
    '2048': '2048',
    '0.1': '100m',
    '512m': '512m',
    '1536Mi': '1536Mi',
    '250m': '250m',
    '2': '2',
  };
  assert.deepEqual(
    Object.fromEntries(Object.keys(stored).map((q) => [q, canonicalQuantity(q)])),
    stored,
  );
  // A plain number is a decimal quantity: bytes stay bytes.
  assert.equal(canonicalQuantity(1073741824), '1073741824');
  assert.throws(() => canonicalQuantity('big'), /invalid quantity/);
});
