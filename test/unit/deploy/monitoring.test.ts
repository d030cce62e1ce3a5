// The PrometheusRule and the Grafana dashboard of src/deploy/monitoring.ts: well-formed (what
// Prometheus and Grafana require of them), and the exporters' images pinned to the versions the
// monitoring test runs. Whether every metric they name is exposed is the integration test's
// (test/integration/monitoring/metrics.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONFIG_SPEC } from '../../../src/config/operator-config.ts';
import { grafanaDashboard, ruleGroups } from '../../../src/deploy/monitoring.ts';
import { REDIS_EXPORTER_VERSION, STATSD_EXPORTER_VERSION } from '../../../src/dev/versions.ts';

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  targets?: { refId: string; expr: string; datasource: { uid: string } }[];
}

describe('monitoring', () => {
  it('rules: unique alert names, a severity, a summary and description with $labels', () => {
    const rules = ruleGroups().flatMap((g) => g.rules);
    assert.deepEqual(
      rules.map((r) => r.alert),
      ['FrappeSiteDown', 'HighErrorRate', 'HighMemoryUsage', 'StaleBackup', 'MigrationFailed'],
    );
    for (const r of rules) {
      assert.match(r.for, /^\d+[smh]$/, r.alert);
      assert.ok(['critical', 'warning'].includes(r.labels.severity), r.alert);
      assert.match(r.annotations.summary, /\{\{ \$labels\.\w+ \}\}/, r.alert);
      assert.match(r.annotations.description, /\{\{ \$labels\.\w+ \}\}/, r.alert);
    }
    // The guide's HighErrorRate works on the statsd exporter's metric as written.
    assert.match(
      rules.find((r) => r.alert === 'HighErrorRate')?.expr ?? '',
      /rate\(http_requests_total\{status=~"5\.\."\}\[5m\]\)\) > 0\.05/,
    );
  });

  it('dashboard: a datasource variable every panel and target uses, unique ids, no overlap', () => {
    const d = grafanaDashboard() as {
      uid: string;
      templating: { list: { name: string; type: string; query: unknown }[] };
      panels: Panel[];
    };
    assert.equal(d.uid, 'frappe-operator');
    const ds = d.templating.list.find((v) => v.name === 'datasource');
    assert.deepEqual([ds?.type, ds?.query], ['datasource', 'prometheus']);
    const ids = d.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'unique panel ids');
    const cells = new Set<string>();
    for (const p of d.panels) {
      const { h, w, x, y } = p.gridPos;
      assert.ok(x >= 0 && x + w <= 24, `${p.title}: within 24 columns`);
      for (let i = x; i < x + w; i++) {
        for (let j = y; j < y + h; j++) {
          const cell = `${String(i)},${String(j)}`;
          assert.ok(!cells.has(cell), `${p.title} overlaps another panel`);
          cells.add(cell);
        }
      }
      if (p.type === 'row') continue;
      assert.deepEqual(p.datasource, { type: 'prometheus', uid: '${datasource}' }, p.title);
      assert.ok((p.targets ?? []).length > 0, p.title);
      const refIds = (p.targets ?? []).map((t) => t.refId);
      assert.equal(new Set(refIds).size, refIds.length, `${p.title}: unique refIds`);
      for (const t of p.targets ?? []) {
        assert.equal(t.datasource.uid, '${datasource}', p.title);
        assert.ok(t.expr.length > 0, p.title);
      }
    }
    const titles = d.panels.filter((p) => p.type === 'row').map((p) => p.title);
    assert.deepEqual(titles, ['Operator', 'Benches']);
  });

  it('the exporter images are the versions the monitoring test builds and runs', () => {
    assert.equal(
      CONFIG_SPEC.defaultStatsdExporterImage.default,
      `docker.io/prom/statsd-exporter:${STATSD_EXPORTER_VERSION}`,
    );
    assert.equal(
      CONFIG_SPEC.defaultRedisExporterImage.default,
      `docker.io/oliver006/redis_exporter:${REDIS_EXPORTER_VERSION}`,
    );
  });
});
