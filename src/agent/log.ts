// The agent's log: the operator's structured JSON lines (src/log.ts, with its redaction), on
// stderr, so that stdout carries only the agent's report. Nothing secret is ever passed to it:
// credentials stay inside the S3 client.
import { createLogger, type Logger } from '../log.ts';

export type AgentLogger = Pick<Logger, 'info' | 'warn' | 'error'>;

export function agentLogger(command: string): AgentLogger {
  return createLogger({ destination: process.stderr }).child({
    component: 'backup-agent',
    command,
  });
}
