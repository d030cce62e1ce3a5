// The metric names a PromQL expression selects, for the monitoring test: every name of a
// vector selector (`name`, `name{…}`, `name[5m]`), never a function, aggregation, keyword,
// label name (inside `{…}` or the label lists of by/without/on/ignoring/group_left/group_right),
// string, number or duration. Grafana's variables (`$__rate_interval`, `$namespace`,
// `${datasource}`) are removed first. Names are returned as written (`x_bucket` stays
// `x_bucket`), to be compared with the sample names of a scrape.

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'inf',
  'nan',
  'atan2',
]);

/** The label-list clauses whose parenthesised lists hold label names, not expressions. */
const LABEL_LIST = /\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)/g;

export function metricNames(expr: string): string[] {
  let s = expr
    // strings (label values, label_replace arguments), with escapes
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    // Grafana variables
    .replace(/\$\{[^}]*\}|\$\w+/g, '0');
  s = s.replace(/\{[^{}]*\}/g, ' '); // label matchers
  s = s.replace(/\[[^\][]*\]/g, ' '); // ranges and subqueries
  s = s.replace(LABEL_LIST, ' ');
  const names = new Set<string>();
  // Numbers and durations are consumed whole, so `26h` or `1e3` is never a name.
  const token = /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?[a-zA-Z]*|[a-zA-Z_:][a-zA-Z0-9_:]*/g;
  for (const m of s.matchAll(token)) {
    const word = m[0];
    if (!/^[a-zA-Z_:]/.test(word)) continue;
    if (KEYWORDS.has(word.toLowerCase())) continue;
    const rest = s.slice(m.index + word.length);
    if (/^\s*\(/.test(rest)) continue; // a function or aggregation
    names.add(word);
  }
  return [...names].sort();
}

/** The sample names of a Prometheus text exposition (`x_bucket`, `x_sum`, … as scraped). */
export function sampleNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (m !== null) names.add(m[0]);
  }
  return names;
}
