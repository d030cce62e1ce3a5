import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { monitoringExpressions } from '../../../src/deploy/monitoring.ts';
import { metricNames, sampleNames } from '../../harness/promql.ts';

describe('metricNames (PromQL)', () => {
  it('finds selectors, never functions, keywords, label names, strings, durations or variables', () => {
    assert.deepEqual(
      metricNames(
        'sum by (namespace, pod) (rate(http_requests_total{status=~"5..", job!="up"}[5m])) > 0.05',
      ),
      ['http_requests_total'],
    );
    assert.deepEqual(
      metricNames(
        'histogram_quantile(0.99, sum by (controller, le) (rate(x_seconds_bucket{namespace=~"$namespace"}[$__rate_interval])))',
      ),
      ['x_seconds_bucket'],
    );
    assert.deepEqual(
      metricNames(
        'a == 0 unless on (namespace, site) b{phase=~"Provisioning|Deleting"} == 1 and ignoring(x) group_left(y) c offset 5m',
      ),
      ['a', 'b', 'c'],
    );
    assert.deepEqual(metricNames('time() - last_ts > 26 * 3600 + 1e3'), ['last_ts']);
    assert.deepEqual(metricNames('max_over_time(up[1d:5m]) bool > inf'), ['up']);
    assert.deepEqual(
      metricNames('label_replace(m, "dst", "$1", "src", "(.*)") / on() group_right n'),
      ['m', 'n'],
    );
  });

  it('reads sample names of an exposition', () => {
    const names = sampleNames(
      '# HELP h x\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\ng 2\n',
    );
    assert.deepEqual([...names].sort(), ['g', 'h_bucket', 'h_count', 'h_sum']);
  });

  it('finds at least one metric in every expression of the rules and the dashboard', () => {
    for (const { where, expr } of monitoringExpressions()) {
      assert.ok(metricNames(expr).length > 0, `${where}: ${expr}`);
    }
  });
});
