/**
 * `plan` runs migrations in one transaction that it rolls back; a migration
 * that sends COMMIT (or its own BEGIN ... COMMIT) would make its changes
 * permanent. So the plan refuses such a statement before sending it, and must
 * do so on the migrate function too, where squawk is not available, while
 * PostgreSQL cannot parse a statement without running it. This is the one
 * piece of SQL reading the project keeps: it blanks out comments, literals and
 * quoted names, then reads the first words of each statement. Anything it
 * cannot read (such as a nested block comment) errs towards refusing.
 */

/** Comments, E'' and '' strings, "quoted names" and $tag$ bodies, in one pass. */
const OPAQUE =
  /--[^\n]*|\/\*[\s\S]*?\*\/|[eE]'(?:[^'\\]|\\[\s\S]|'')*'|'(?:[^']|'')*'|"(?:[^"]|"")*"|\$([A-Za-z_][A-Za-z0-9_]*)?\$[\s\S]*?\$\1\$/g;

/** The transaction-control statement in `sql` (`commit`, `begin`, ...), if any. */
export function transactionControl(sql: string): string | undefined {
  for (const statement of sql.replace(OPAQUE, ' ').split(';')) {
    const [first = '', second = ''] = statement.trim().toLowerCase().split(/\s+/);
    if (['begin', 'start', 'commit', 'end', 'abort'].includes(first)) return first;
    if (first === 'rollback' && second !== 'to') return 'rollback';
    if (first === 'prepare' && second === 'transaction') return 'prepare transaction';
  }
  return undefined;
}
