// `frappe-operator render` prints the children the operator creates: the sample bench
// (config/samples/frappebench.yaml) and a site on the external database provider, as the
// playground applies it, are applied and reconciled to Ready by a real operator; then render runs
// as a process (`node src/cli.ts render -f … --namespace <ns>`, no cluster) on the same manifests.
// The objects the bench and site control in the namespace are the objects render printed —
// same apiVersion, kind and name — and each printed object is a subset of the live one (labels,
// owner, spec, data, and the Jobs' inputs hash; Secret values aside). No secret value of the
// input is printed.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../../src/kube/client.ts';
import { isSubset } from '../../../src/kube/json.ts';
import { eventually } from '../../harness/eventually.ts';
import { kubectl } from '../../harness/kubectl.ts';
import { waitForCondition } from '../bench/support.ts';
import { apply, OPERATOR_IMAGE, useSiteOperator, waitForSite } from '../site/support.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(ROOT, 'src', 'cli.ts');
const BENCH_SAMPLE = join(ROOT, 'config', 'samples', 'frappebench.yaml');
const DB_PASSWORD = 'render-test-db-password-9f3c1e';

const SITE_MANIFESTS = `apiVersion: v1
kind: Secret
metadata:
  name: shop-db
type: Opaque
stringData:
  username: shop
  password: ${DB_PASSWORD}
---
apiVersion: vyogo.tech/v1alpha1
kind: FrappeSite
metadata:
  name: shop
spec:
  benchRef:
    name: prod-bench
  siteName: shop.example.com
  apps: [erpnext]
  dbConfig:
    provider: external
    connectionSecretRef:
      name: shop-db
    host: mariadb.example.com
`;

interface Live extends KubeObject {
  spec?: unknown;
  data?: unknown;
}

const id = (o: KubeObject): string => `${o.apiVersion} ${o.kind} ${o.metadata.name ?? ''}`;
const controller = (o: KubeObject) => o.metadata.ownerReferences?.find((r) => r.controller);

/** Every object of `ns` (of every listable namespaced kind). */
async function liveObjects(ns: string): Promise<Live[]> {
  const resources = (
    await kubectl(['api-resources', '--verbs=list', '--namespaced', '-o', 'name'])
  ).stdout
    .split('\n')
    .filter((r) => r !== '' && r !== 'events' && r !== 'events.events.k8s.io');
  const listed = await kubectl(['get', resources.join(','), '-o', 'json', '--ignore-not-found'], {
    namespace: ns,
  });
  return (JSON.parse(listed.stdout) as { items: Live[] }).items;
}

/** Why `rendered` is not part of `live`, or undefined. */
function mismatch(rendered: Live, live: Live): string | undefined {
  const want = controller(rendered);
  const have = controller(live);
  if (want?.kind !== have?.kind || want?.name !== have?.name) {
    return `owner ${want?.kind ?? '-'} ${want?.name ?? '-'} vs ${have?.kind ?? '-'} ${have?.name ?? '-'}`;
  }
  if (!isSubset(rendered.metadata.labels, live.metadata.labels)) return 'labels differ';
  if (!isSubset(rendered.spec, live.spec)) return 'spec differs';
  if (rendered.kind !== 'Secret' && !isSubset(rendered.data, live.data)) return 'data differs';
  const hash = 'vyogo.tech/inputs-hash';
  const renderedHash = rendered.metadata.annotations?.[hash];
  if (renderedHash !== undefined && renderedHash !== live.metadata.annotations?.[hash]) {
    return `${hash} ${renderedHash} vs ${live.metadata.annotations?.[hash] ?? 'none'}`;
  }
  return undefined;
}

describe('render prints the children the operator created', () => {
  const env = useSiteOperator('render');
  let dir = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'render-test-'));
    await writeFile(join(dir, 'site.yaml'), SITE_MANIFESTS);
    await writeFile(join(dir, 'config.yaml'), `FRAPPE_OPERATOR_IMAGE: ${OPERATOR_IMAGE}\n`);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('the same objects, each rendered one a subset of the live one', async () => {
    const { ns, client } = env;
    await apply(parse(await readFile(BENCH_SAMPLE, 'utf8')), ns);
    for (const doc of parseAllDocuments(SITE_MANIFESTS)) await apply(doc.toJS(), ns);
    await waitForCondition(client, ns, 'prod-bench', 'ComponentsReady', 'True', undefined, 240_000);
    await waitForSite(client, ns, 'shop', 'Ready', 'True', undefined, 240_000);

    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        CLI,
        'render',
        '-f',
        BENCH_SAMPLE,
        '-f',
        join(dir, 'site.yaml'),
        '--namespace',
        ns,
        '--config',
        join(dir, 'config.yaml'),
      ],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '' }, maxBuffer: 64 * 1024 * 1024 },
    );
    assert.ok(!stdout.includes(DB_PASSWORD), 'the input Secret value is not printed');
    const rendered = parseAllDocuments(stdout).map((d) => d.toJS() as Live);
    assert.ok(rendered.length > 20, `rendered ${String(rendered.length)} objects`);
    const owned = rendered.filter((o) => controller(o) !== undefined);
    const unowned = rendered.filter((o) => controller(o) === undefined);
    assert.deepEqual(
      unowned.map(id),
      ['v1 PersistentVolumeClaim prod-bench-sites'],
      'only the sites volume has no owner',
    );

    // The last children (KEDA's, once its informers synced) may come a moment after Ready.
    await eventually(
      async () => {
        const live = await liveObjects(ns);
        const owners = new Set(
          live
            .filter(
              (o) =>
                (o.kind === 'FrappeBench' && o.metadata.name === 'prod-bench') ||
                (o.kind === 'FrappeSite' && o.metadata.name === 'shop'),
            )
            .map((o) => o.metadata.uid),
        );
        assert.equal(owners.size, 2, 'the bench and the site are live');
        const children = live.filter((o) => owners.has(controller(o)?.uid));
        assert.deepEqual(owned.map(id).sort(), children.map(id).sort());
        const byId = new Map(live.map((o) => [id(o), o]));
        const problems = rendered.flatMap((r) => {
          const l = byId.get(id(r));
          const why = l === undefined ? 'not live' : mismatch(r, l);
          return why === undefined ? [] : [`${id(r)}: ${why}`];
        });
        assert.deepEqual(problems, []);
      },
      { timeout: 60_000, interval: 1_000, message: 'the live children match the rendered ones' },
    );
  });
});
