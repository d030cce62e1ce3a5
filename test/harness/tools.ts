// The test tools of a run (TEST_TOOLS of src/dev/build.ts: the S3 server, helm, the exporters),
// as a test file sees them. test/run.ts builds them all before the tests start and hands over
// the reason of any that failed (ENV.toolErrors), so a test using one fails with that reason —
// never a silent skip, never a second build attempt inside a test's timeout.
import { ensureGoTool, type GoTool } from '../../src/dev/build.ts';
import { ENV } from './env.ts';

/** Why test/run.ts could not build the tools, by name. */
function toolErrors(): Record<string, string> {
  const raw = process.env[ENV.toolErrors];
  return raw === undefined || raw === '' ? {} : (JSON.parse(raw) as Record<string, string>);
}

/** Throws the reason test/run.ts could not build `tool`, if it could not. */
export function assertToolBuilt(tool: GoTool): void {
  const error = toolErrors()[tool.name];
  if (error !== undefined)
    throw new Error(`${tool.name}, ${tool.role}, could not be built: ${error}`);
}

/** The binary of `tool` (built and cached by test/run.ts; built here when run on its own). */
export async function testTool(tool: GoTool): Promise<string> {
  assertToolBuilt(tool);
  return ensureGoTool(tool, { log: (l) => process.stderr.write(`[${tool.name}] ${l}\n`) });
}
