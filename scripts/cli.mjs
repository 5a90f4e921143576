// How every script in scripts/ ends: a failure is one line on stderr and a
// non-zero exit code, never a stack trace (VS_DEBUG=1 adds the stack).

/** A failure the user caused or can fix: its message is the whole story. */
export class CliError extends Error {
  constructor(message, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** The first line of an error's message (a pg or PostgreSQL error can span several). */
export function oneLine(err) {
  const message = err instanceof Error ? err.message : String(err);
  return message.trim().split('\n')[0] || (err instanceof Error ? err.name : 'failed');
}

/**
 * Runs `main` and exits with its result (a number, or 0). A thrown error prints
 * `<name>: <first line of its message>` and exits with its exitCode, or 1.
 */
export function runCli(name, main) {
  main().then(
    (code) => process.exit(typeof code === 'number' ? code : 0),
    (err) => {
      console.error(`${name}: ${oneLine(err)}`);
      if (process.env.VS_DEBUG) console.error(err);
      process.exit(err instanceof CliError ? err.exitCode : 1);
    },
  );
}
