import { formatResult } from '../../scripts/migrate';

const FIRST = '20261126000001-create-users.cjs';
const SECOND = '20261126000002-add-verification-and-staff-approval-tables.cjs';
const known = [FIRST, SECOND];

function rowOf(table: string, name: string): string[] {
  const line = table.split('\n').find((l) => l.startsWith(`${name} `) || l === name);
  if (!line) throw new Error(`no row for ${name} in\n${table}`);
  return line.split(/ {2,}/);
}

describe('npm run migrate: the table for people', () => {
  it('shows each migration with its state and the time it was applied', () => {
    const table = formatResult(
      { command: 'status', ran: [], executed: [FIRST], pending: [SECOND], durationMs: 3 },
      known,
      [{ name: FIRST, appliedAt: new Date('2026-11-20T08:30:00.000Z') }],
    );
    expect(table.split('\n')[0]?.split(/ {2,}/)).toEqual([
      'migration',
      'state',
      'applied at (UTC)',
    ]);
    expect(rowOf(table, FIRST)).toEqual([FIRST, 'applied', '2026-11-20T08:30:00.000Z']);
    expect(rowOf(table, SECOND)).toEqual([SECOND, 'pending']);
    expect(table).not.toMatch(/status:/);
  });

  it('says what this call did, and when a time was never recorded', () => {
    const table = formatResult(
      { command: 'up', ran: [SECOND], executed: known, pending: [], durationMs: 80 },
      known,
      [
        { name: FIRST, appliedAt: null },
        { name: SECOND, appliedAt: new Date('2026-11-26T23:20:46.937Z') },
      ],
    );
    expect(rowOf(table, FIRST)).toEqual([FIRST, 'applied', 'not recorded']);
    expect(rowOf(table, SECOND)).toEqual([SECOND, 'applied now', '2026-11-26T23:20:46.937Z']);
    expect(table.trimEnd().split('\n').at(-1)).toBe('up: 1 applied in 80 ms');
  });

  it('tells the names a stamp recorded from those it removed', () => {
    const table = formatResult(
      { command: 'stamp', ran: [SECOND], executed: [FIRST], pending: [SECOND], durationMs: 4 },
      known,
      [{ name: FIRST, appliedAt: new Date('2026-11-20T08:30:00.000Z') }],
    );
    expect(rowOf(table, FIRST)).toEqual([FIRST, 'applied', '2026-11-20T08:30:00.000Z']);
    expect(rowOf(table, SECOND)).toEqual([SECOND, 'pending (unstamped now, not reverted)']);
    expect(table.trimEnd().split('\n').at(-1)).toBe(
      'stamp: 0 recorded, 1 removed, nothing run in 4 ms',
    );

    const forward = formatResult(
      { command: 'stamp', ran: [SECOND], executed: known, pending: [], durationMs: 2 },
      known,
      known.map((name) => ({ name, appliedAt: new Date('2026-11-26T00:00:00Z') })),
    );
    expect(rowOf(forward, SECOND)[1]).toBe('applied (stamped now, not run)');
    expect(forward).toMatch(/stamp: 1 recorded, 0 removed, nothing run in 2 ms$/);
  });

  it('lists history rows this build has no file for', () => {
    const stranger = '20261201000000-from-a-newer-build.cjs';
    const table = formatResult(
      { command: 'status', ran: [], executed: [...known, stranger], pending: [], durationMs: 1 },
      known,
      [...known, stranger].map((name) => ({ name, appliedAt: new Date('2026-11-26T00:00:00Z') })),
    );
    expect(rowOf(table, stranger)).toEqual([
      stranger,
      'applied (no such file in this build)',
      '2026-11-26T00:00:00.000Z',
    ]);
  });
});
