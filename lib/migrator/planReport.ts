import { shorten, type PlanResult } from './plan';

const SQL_WIDTH = 100;

/** The human report of `npm run migrate -- plan`: per migration, its statements, locks, rows and flags. */
export function formatPlan(result: PlanResult): string {
  const lines: string[] = [];
  if (result.migrations.length === 0) {
    return `plan: nothing pending (${result.durationMs} ms)`;
  }
  const { lint } = result;
  lines.push(
    lint.tool === null
      ? `flags: squawk did not run (${lint.reason}); only table rewrites the plan saw are flagged`
      : `flags: squawk ${lint.version}${lint.config ? ` with ${lint.config}` : ''}, and table rewrites the plan saw`,
    '',
  );
  for (const m of result.migrations) {
    if (m.skipped !== undefined) {
      lines.push(`${m.name}`, `  skipped: ${m.skipped}`, '');
      continue;
    }
    lines.push(`${m.name} (${m.durationMs ?? 0} ms, rolled back)`);
    const rows = new Map(m.tables.map((t) => [t.name, t]));
    m.statements.forEach((s, i) => {
      lines.push(
        `  ${String(i + 1).padStart(3)}. ${fmtMs(s.durationMs)}  ${shorten(s.sql, SQL_WIDTH)}`,
      );
      for (const l of s.locks) {
        const table = rows.get(l.relation);
        const count = table ? `, ${fmtRows(table.rows, table.estimated)}` : '';
        lines.push(
          `${' '.repeat(17)}lock ${l.mode} on ${l.relation} (held ${l.heldMs} ms${count})`,
        );
      }
    });
    if (m.statements.length === 0) lines.push('  (no statements)');
    lines.push(
      m.tables.length === 0
        ? '  existing tables involved: none'
        : `  existing tables involved: ${m.tables.map((t) => `${t.name} (${fmtRows(t.rows, t.estimated)})`).join(', ')}`,
    );
    if (m.flags.length === 0)
      lines.push(lint.tool === null ? '  flags: not checked' : '  flags: none');
    for (const f of m.flags) {
      const at = f.statement === undefined ? '' : ` (statement ${f.statement + 1})`;
      lines.push(`  FLAG ${f.rule}${at}: ${f.message}`);
    }
    lines.push('');
  }
  const flags = result.migrations.reduce((n, m) => n + m.flags.length, 0);
  const planned = result.migrations.filter((m) => m.skipped === undefined).length;
  const skipped = result.migrations.length - planned;
  const verdict =
    flags > 0 ? `${flags} flag(s)` : lint.tool === null ? 'not linted' : 'no unsafe flags';
  lines.push(
    `plan: ${planned} planned${skipped > 0 ? `, ${skipped} skipped` : ''}, ${verdict}; rolled back, nothing changed (${result.durationMs} ms)`,
  );
  return lines.join('\n');
}

function fmtMs(ms: number): string {
  return `${ms.toFixed(1)} ms`.padStart(10);
}

function fmtRows(rows: number, estimated: boolean): string {
  return `${estimated ? '~' : ''}${rows} row${rows === 1 ? '' : 's'}`;
}
