import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Sequelize } from 'sequelize';
import { listRequests } from '../../lib/staffApprovals/service';
import {
  CONSUME_SQL,
  COUNT_ATTEMPT_SQL,
  ISSUE_SQL,
  LOCK_USER_SQL,
  READ_ACTIVE_SQL,
} from '../../lib/verification/service';
import { PAGE_SQL as HISTORY_PAGE_SQL } from '../../lib/verification/history';
import { emailOf } from './databases';

export interface Plan {
  name: string;
  /** The plan text of EXPLAIN (ANALYZE, BUFFERS). */
  text: string;
  /** Tables read by a sequential scan (none wanted). */
  seqScans: string[];
  usesIndex: boolean;
}

/**
 * The SQL and bind values listRequests sends for a staff caller's first page of
 * the pending queue, taken from the service itself (so the plan shown is the
 * plan of the query it runs), by handing it a recorder instead of Sequelize.
 */
async function pendingQueueQuery(): Promise<{ sql: string; bind: unknown[] }> {
  let captured: { sql: string; bind: unknown[] } | undefined;
  const recorder = {
    query: async (sql: string, opts: { bind: unknown[] }) => {
      captured = { sql, bind: opts.bind };
      return [];
    },
  } as unknown as Sequelize;
  await listRequests(
    { sequelize: recorder, now: () => new Date(), maxPendingPerUser: 10 },
    { id: 1, isStaff: true },
    { status: 'pending' },
  );
  if (!captured) throw new Error('listRequests sent no query');
  return captured;
}

async function explain(
  c: pg.Client,
  name: string,
  sql: string,
  values: unknown[],
  opts: { write?: boolean } = {},
): Promise<Plan> {
  // Writes are explained inside a transaction that is rolled back.
  if (opts.write) await c.query('BEGIN');
  try {
    const res = await c.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${sql}`, values);
    const text = res.rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
    const seqScans = [...text.matchAll(/Seq Scan on (\w+)/g)].map((m) => m[1] as string);
    return { name, text, seqScans, usesIndex: /Index (Only )?Scan|Bitmap Index Scan/.test(text) };
  } finally {
    if (opts.write) await c.query('ROLLBACK');
  }
}

/** EXPLAIN (ANALYZE, BUFFERS) of each hot query, with the values a request binds. */
export async function explainHotQueries(
  url: string,
  userId: number,
  putCode: (c: pg.Client, userId: number) => Promise<void>,
): Promise<Plan[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const destination = emailOf(userId);
    await putCode(c, userId);
    // After putCode, so that the new code's created_at lies before `now` (the
    // zero cooldown then allows the send and the plan shows the write path).
    const now = new Date(Date.now() + 1000).toISOString();
    const active = (
      await c.query(
        `SELECT id FROM verification_codes WHERE user_id = $1 AND channel = 'email'
           AND consumed_at IS NULL AND superseded_at IS NULL`,
        [userId],
      )
    ).rows[0] as { id: string };
    const list = await pendingQueueQuery();
    const issueValues = [
      userId,
      'email',
      destination,
      now,
      0,
      1000,
      10000,
      randomUUID(),
      'x'.repeat(64),
      5,
      new Date(Date.now() + 600_000).toISOString(),
      // No country (an email send); a client address with a limit, so the plan
      // shows the address count; no country budget; the daily cap of wrong codes.
      null,
      '127.0.0.1',
      100_000,
      null,
      20,
      JSON.stringify({ codeId: 'bench', destination: 'u***@example.com', locale: 'en' }),
    ];
    return [
      await explain(
        c,
        'authenticate: user by id (list handler)',
        'SELECT * FROM users WHERE id = $1',
        [1],
      ),
      await explain(c, 'issue: lock the user (LOCK_USER_SQL)', LOCK_USER_SQL, [userId], {
        write: true,
      }),
      await explain(c, 'issue: limits, supersede, insert (ISSUE_SQL)', ISSUE_SQL, issueValues, {
        write: true,
      }),
      await explain(c, 'verify: user and active code (READ_ACTIVE_SQL)', READ_ACTIVE_SQL, [
        userId,
        'email',
        now,
      ]),
      await explain(
        c,
        'verify: consume and mark verified (CONSUME_SQL)',
        CONSUME_SQL,
        [
          active.id,
          now,
          'phone_verified',
          'verified',
          'email_verified',
          destination,
          userId,
          'email',
        ],
        { write: true },
      ),
      await explain(
        c,
        'verify: count a wrong try (COUNT_ATTEMPT_SQL)',
        COUNT_ATTEMPT_SQL,
        [active.id, now, userId, 'email'],
        {
          write: true,
        },
      ),
      await explain(c, 'list: first page of the pending queue', list.sql, list.bind),
      await explain(c, 'history: first page of a user’s events', HISTORY_PAGE_SQL, [
        11,
        null,
        null,
        null,
        21,
      ]),
    ];
  } finally {
    await c.end();
  }
}
