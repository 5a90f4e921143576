#!/usr/bin/env node
// npm start: the API on http://localhost:3000 through serverless-offline.
// Without DATABASE_URL it runs an embedded PostgreSQL whose data stays in
// .data/postgres, applies the migrations, creates a demo user and a demo staff
// user, and prints a token for each.
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { DATA_DIR, devJwtSecret, devToken, persistentSecret, ROOT } from './dev-env.mjs';
import { startEmbeddedPostgres } from './embedded-postgres.mjs';

const DEMO_DATABASE = 'verification_service';
const port = process.env.PORT || '3000';

let embedded;
let databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  embedded = await startEmbeddedPostgres({
    dataDir: path.join(DATA_DIR, 'postgres'),
    persistent: true,
    port: 54329,
  });
  const admin = new pg.Client({ connectionString: embedded.url });
  await admin.connect();
  const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DEMO_DATABASE]);
  if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${DEMO_DATABASE}`);
  await admin.end();
  const u = new URL(embedded.url);
  u.pathname = `/${DEMO_DATABASE}`;
  databaseUrl = u.toString();
  console.log(`embedded PostgreSQL: ${databaseUrl} (data in .data/postgres)`);
}

async function shutdown(code) {
  if (embedded) await embedded.stop().catch(() => {});
  process.exit(code);
}

const env = {
  ...process.env,
  DATABASE_URL: databaseUrl,
  AUTH_JWT_SECRET: process.env.AUTH_JWKS_URL ? '' : devJwtSecret(),
  VERIFICATION_CODE_PEPPER: process.env.VERIFICATION_CODE_PEPPER || persistentSecret('dev-pepper'),
  CODE_DELIVERY: process.env.CODE_DELIVERY || 'log',
  STAGE: process.env.STAGE || 'local',
};

const migrate = spawnSync(
  process.execPath,
  [path.join(ROOT, 'node_modules/.bin/tsx'), 'scripts/migrate.ts', 'up'],
  {
    cwd: ROOT,
    env,
    stdio: 'inherit',
  },
);
if (migrate.status !== 0) {
  console.error('migrations failed; not starting');
  await shutdown(1);
}

const client = new pg.Client({ connectionString: databaseUrl });
await client.connect();
async function ensureUser(email, phone, name, role) {
  const found = await client.query('SELECT id FROM users WHERE email = $1', [email]);
  if (found.rows[0]) return found.rows[0].id;
  const made = await client.query(
    `INSERT INTO users (email, phone, name, role) VALUES ($1, $2, $3, $4)
     ON CONFLICT DO NOTHING RETURNING id`,
    [email, phone, name, role],
  );
  if (made.rows[0]) return made.rows[0].id;
  const again = await client.query('SELECT id FROM users WHERE email = $1', [email]);
  return again.rows[0].id;
}
const demoUserId = await ensureUser('demo@example.com', '+15555550100', 'Demo User', 'user');
const demoStaffId = await ensureUser('staff@example.com', '+15555550199', 'Demo Staff', 'staff');
await client.end();

const userToken = env.AUTH_JWT_SECRET
  ? await devToken(demoUserId)
  : '(AUTH_JWKS_URL is set: use your issuer)';
const staffToken = env.AUTH_JWT_SECRET
  ? await devToken(demoStaffId)
  : '(AUTH_JWKS_URL is set: use your issuer)';
console.log(`
demo user  id ${demoUserId} (demo@example.com, +15555550100):
  export USER_TOKEN=${userToken}
demo staff id ${demoStaffId} (staff@example.com):
  export STAFF_TOKEN=${staffToken}
tokens last 12 hours; more with: npm run token -- <userId>
codes are written to this console (CODE_DELIVERY=${env.CODE_DELIVERY})
`);

const offline = spawn(
  process.execPath,
  [
    path.join(ROOT, 'node_modules/serverless/bin/serverless.js'),
    'offline',
    'start',
    '--httpPort',
    port,
  ],
  { cwd: ROOT, env, stdio: 'inherit' },
);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => offline.kill(sig));
offline.on('exit', (code) => shutdown(code ?? 0));
