// Following the JSON log of an operator process run by a Supervisor (stdout and stderr go to one
// file): for the playground's start-up, and for tests that run the real command.
import { readFile } from 'node:fs/promises';
import { eventually } from './eventually.ts';
import type { Supervisor } from './supervisor.ts';

/** One JSON log line of the operator. */
export interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

/** The JSON log lines of an operator's output (other output skipped). */
export function parseLogLines(text: string): LogLine[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

/** The JSON log lines of supervised process `name` so far (other output skipped). */
export async function readLogLines(sup: Supervisor, name: string): Promise<LogLine[]> {
  return parseLogLines(await readFile(sup.logPath(name), 'utf8'));
}

/** The first log line with `msg`; fails at once if the process exited, quoting its last lines. */
export async function waitForLog(
  sup: Supervisor,
  name: string,
  msg: string,
  timeout = 60_000,
): Promise<LogLine> {
  const found = await eventually(
    async () => {
      const exited = sup.failure();
      if (exited !== undefined) return exited;
      const line = (await readLogLines(sup, name)).find((l) => l.msg === msg);
      if (line === undefined) throw new Error(`last lines:\n${sup.tail(name, 10)}`);
      return line;
    },
    { timeout, interval: 100, message: `${name} log "${msg}"` },
  );
  if (found instanceof Error) throw found;
  return found;
}
