import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { migrations } from '../../lib/migrator/migrations';
import { createMigrationSequelize, runMigrations } from '../../lib/migrator/runner';
import { databaseSettings, migrationSettings } from '../../lib/settings';
import { hashCode } from '../../lib/verification/codes';

/** The server named by DATABASE_URL (scripts/with-db.mjs starts one when unset). */
export function adminUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set: run `npm run bench`');
  return url;
}

export function urlForDatabase(name: string, base = adminUrl()): string {
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface BenchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A new empty database on the server, dropped by `drop()`. */
export async function createDatabase(label: string): Promise<BenchDatabase> {
  const name = `vs_bench_${label}_${process.pid}_${randomBytes(3).toString('hex')}`;
  await withClient(adminUrl(), (c) => c.query(`CREATE DATABASE ${name}`));
  return {
    name,
    url: urlForDatabase(name),
    drop: () =>
      withClient(adminUrl(), (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(
        () => undefined,
      ),
  };
}

/** Applies the migrations with the project's runner (all, or up to and including `to`). */
export async function migrate(
  url: string,
  to?: string,
): Promise<{ ran: string[]; durationMs: number }> {
  const env = { ...process.env, DATABASE_URL: url };
  const settings = migrationSettings(env);
  const sequelize = createMigrationSequelize(databaseSettings(env), settings);
  try {
    return await runMigrations(
      { sequelize, migrations, settings },
      { command: 'up', ...(to === undefined ? {} : { to }) },
    );
  } finally {
    await sequelize.close();
  }
}

export const FIRST_MIGRATION = migrations[0]?.name as string;
export const SECOND_MIGRATION = migrations[1]?.name as string;

/** Seeded users: ids 1..count; ids 1..10 are staff; every user has an email and a phone. */
export const emailOf = (id: number) => `user${id}@example.com`;
export const phoneOf = (id: number) => `+1555${String(id).padStart(7, '0')}`;

export async function seedUsers(c: pg.Client, count: number): Promise<void> {
  await c.query(
    `INSERT INTO users (email, phone, name, role, created_at, updated_at)
     SELECT 'user' || g || '@example.com', '+1555' || lpad(g::text, 7, '0'), 'User ' || g,
            CASE WHEN g <= 10 THEN 'staff' ELSE 'user' END,
            now() - interval '30 days', now() - interval '30 days'
     FROM generate_series(1, $1::int) g`,
    [count],
  );
}

/**
 * `count` codes spread round-robin over users 1..users, both channels, created
 * at random times over the last 7 days (the retention window), each consumed or
 * superseded (so the one-active-code index holds), like a table the clean-up
 * job keeps at its steady size.
 */
export async function seedCodes(c: pg.Client, count: number, users: number): Promise<void> {
  await c.query(
    `INSERT INTO verification_codes
       (id, user_id, channel, destination, code_hash, attempts, max_attempts,
        expires_at, consumed_at, superseded_at, created_at)
     SELECT gen_random_uuid(), s.u, s.ch,
            CASE s.ch WHEN 'email' THEN 'user' || s.u || '@example.com'
                      ELSE '+1555' || lpad(s.u::text, 7, '0') END,
            md5(s.g::text) || md5((s.g + 1)::text), s.g % 3, 5,
            s.t + interval '10 minutes',
            CASE WHEN s.g % 3 = 0 THEN s.t + interval '1 minute' END,
            CASE WHEN s.g % 3 <> 0 THEN s.t + interval '2 minutes' END,
            s.t
     FROM (SELECT g, ((g - 1) % $2::int) + 1 AS u,
                  (CASE WHEN ((g - 1) / $2::int) % 2 = 0 THEN 'email' ELSE 'phone' END)
                    ::enum_verification_codes_channel AS ch,
                  now() - random() * interval '7 days' AS t
           FROM generate_series(1, $1::int) g) s`,
    [count, users],
  );
}

/**
 * `count` staff approval requests, one per subject (users 11..), filed by the
 * subject, oldest first; one in four pending, the rest decided by staff user 1.
 */
export async function seedRequests(c: pg.Client, count: number, users: number): Promise<void> {
  await c.query(
    `INSERT INTO staff_approval_requests
       (id, user_id, requested_by, request_type, details, status,
        reviewed_by, reviewed_at, review_note, created_at, updated_at)
     SELECT gen_random_uuid(), s.u, s.u, 'type_' || ((s.g - 1) / ($2::int - 10)),
            '{"reason":"seeded"}'::jsonb, s.status,
            CASE WHEN s.status <> 'pending' THEN 1 END,
            CASE WHEN s.status <> 'pending' THEN s.t + interval '1 hour' END,
            CASE WHEN s.status = 'rejected' THEN 'seeded' END,
            s.t, s.t
     FROM (SELECT g, ((g - 1) % ($2::int - 10)) + 11 AS u,
                  (ARRAY['pending', 'approved', 'rejected', 'cancelled'])[g % 4 + 1]
                    ::enum_staff_approval_requests_status AS status,
                  now() - interval '30 days' + g * interval '10 milliseconds' AS t
           FROM generate_series(1, $1::int) g) s`,
    [count, users],
  );
}

/**
 * `count` verification events spread round-robin over users 11..users (a few
 * types, masked destinations), over the last 30 days: the audit trail of a
 * service that has run a while. Written directly, as the history reads them.
 */
export async function seedEvents(c: pg.Client, count: number, users: number): Promise<void> {
  await c.query(
    `INSERT INTO verification_events (user_id, actor_id, type, channel, details, created_at)
     SELECT ((g - 1) % ($2::int - 10)) + 11, NULL,
            (ARRAY['code_sent', 'code_rejected', 'code_verified'])[g % 3 + 1], 'email',
            jsonb_build_object('codeId', md5(g::text)), 
            now() - interval '30 days' + g * interval '2 milliseconds'
     FROM generate_series(1, $1::int) g`,
    [count, users],
  );
}

/** The code every benchmark verify submits. */
export const KNOWN_CODE = '123456';

// A fresh active email code (superseding any other) with a known value.
const PUT_CODE = `
  WITH s AS (
    UPDATE verification_codes SET superseded_at = now()
    WHERE user_id = $1 AND channel = 'email' AND consumed_at IS NULL AND superseded_at IS NULL
    RETURNING 1
  ), r AS (
    -- Unverified again, so that every measured verify moves the status (and so
    -- records, publishes and marks a status change).
    UPDATE users SET verification_status = 'unverified' WHERE id = $1 RETURNING 1
  )
  INSERT INTO verification_codes
    (id, user_id, channel, destination, code_hash, max_attempts, expires_at, created_at)
  SELECT $2, $1, 'email', $3, $4, 5, now() + interval '10 minutes', now()
  FROM (SELECT count(*) FROM s) x, (SELECT count(*) FROM r) y`;

/** Gives a user an active email code KNOWN_CODE, hashed with `pepper` as the service does. */
export async function putKnownCode(c: pg.Client, pepper: string, userId: number): Promise<void> {
  const id = randomUUID();
  const destination = emailOf(userId);
  const hash = hashCode(pepper, { id, userId, channel: 'email', destination }, KNOWN_CODE);
  await c.query(PUT_CODE, [userId, id, destination, hash]);
}
