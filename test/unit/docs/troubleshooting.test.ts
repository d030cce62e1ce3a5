// docs/troubleshooting.md documents every reason the operator can set (issue 12): each reason
// found in the code (./reasons.ts) has a row of its own there, and every row names a reason the
// code sets — or a family of reasons made from a name, or a phase Kubernetes reports.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { reasonsInCode } from './reasons.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DOC = 'docs/troubleshooting.md';
/** Reasons made at run time from a name: documented once, as a family. */
const FAMILIES = ['Invalid<Field>', '<Step>Error', 'WaitingFor<Step>'];
/** Phases of Kubernetes objects that become reasons as they are (a claim's, a Job's). */
const KUBERNETES_PHASES = new Set(['Pending', 'Lost']);

/** The reasons named in the first cell of each table row (before any parenthesis). */
function documented(markdown: string): Set<string> {
  const names = new Set<string>();
  for (const line of markdown.split('\n')) {
    const cell = /^\| ([^|]+) \|/.exec(line)?.[1]?.replace(/\(.*\)/, '');
    if (cell === undefined) continue;
    for (const m of cell.matchAll(/`([^`]+)`/g)) if (m[1] !== undefined) names.add(m[1]);
  }
  return names;
}

test('every reason the operator sets is documented in docs/troubleshooting.md, and only those', () => {
  const inCode = reasonsInCode(ROOT, ['src/controllers', 'src/runtime', 'src/config']);
  assert.ok(inCode.length > 50, `found only ${String(inCode.length)} reasons: is the scan broken?`);
  const doc = documented(readFileSync(`${ROOT}${DOC}`, 'utf8'));
  const undocumented = inCode
    .filter((r) => !doc.has(r.reason))
    .map((r) => `${r.reason} (${r.where})`);
  assert.deepEqual(undocumented, [], `reasons missing from ${DOC}`);
  const known = new Set([...inCode.map((r) => r.reason), ...FAMILIES, ...KUBERNETES_PHASES]);
  const stale = [...doc].filter((r) => !known.has(r));
  assert.deepEqual(stale, [], `${DOC} documents reasons the code never sets`);
  for (const family of FAMILIES) assert.ok(doc.has(family), `${DOC} documents ${family}`);
});
