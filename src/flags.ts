// Command-line flag errors of `node:util` parseArgs as one line naming the offending word, for
// the usage errors (exit code 2) of every `frappe-operator` subcommand.

/** `Unknown option '--foo'. To specify …` → `unknown flag --foo`; other errors' first sentence. */
export function flagProblem(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown }).code;
  const word = /'([^']*)'/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && word !== undefined) return `unknown flag ${word}`;
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL' && word !== undefined) {
    return `unexpected argument ${word}`;
  }
  return (message.split(/\.\s/)[0] ?? message).replace(/\.$/, '');
}

/** Whether `argv` asks for help (`--help` or `-h` anywhere). */
export const wantsHelp = (argv: readonly string[]): boolean =>
  argv.includes('--help') || argv.includes('-h');
