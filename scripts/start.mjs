#!/usr/bin/env node
// npm start: the API on http://localhost:3000 through serverless-offline.
// Without DATABASE_URL it runs an embedded PostgreSQL whose data stays in
// .data/postgres, applies the migrations, creates a demo user and a demo staff
// user, and prints a token for each.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { CliError, runCli } from './cli.mjs';
import { DATA_DIR, devJwtSecret, devToken, persistentSecret, ROOT } from './dev-env.mjs';
import { runningLocalDatabase, shownDataDir, startLocalCluster } from './local-db.mjs';

const port = process.env.PORT || '3000';
const LOCK = path.join(DATA_DIR, 'start.pid');

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/** Takes .data/start.pid, or says which npm start holds it. */
function lock() {
  fs.mkdirSync(DATA_DIR, { recursive: true });
  for (;;) {
    try {
      fs.writeFileSync(LOCK, `${process.pid}\n`, { flag: 'wx' });
      process.on('exit', () => fs.rmSync(LOCK, { force: true }));
      return;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
    }
    const pid = Number(fs.readFileSync(LOCK, 'utf8'));
    if (pid > 0 && alive(pid)) throw new CliError(`npm start is already running (pid ${pid})`);
    fs.rmSync(LOCK, { force: true }); // left by an npm start that was killed
  }
}

runCli('npm start', async () => {
  let embedded;
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    lock();
    const running = runningLocalDatabase();
    if (running) {
      throw new CliError(
        `the database in ${shownDataDir()} is in use by another command (postgres pid ${running.postgresPid}): run npm start when it has finished`,
      );
    }
    embedded = await startLocalCluster({ port: 54329, handleSignals: false });
    databaseUrl = embedded.url;
    console.log(`embedded PostgreSQL: ${databaseUrl} (data in ${shownDataDir()})`);
  }
  try {
    return await serve(databaseUrl);
  } finally {
    if (embedded) await embedded.stop().catch(() => {});
  }
});

/** Migrates, makes the demo users and runs serverless-offline until it exits. */
async function serve(databaseUrl) {
  const env = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    AUTH_JWT_SECRET: process.env.AUTH_JWKS_URL ? '' : devJwtSecret(),
    VERIFICATION_CODE_PEPPER:
      process.env.VERIFICATION_CODE_PEPPER || persistentSecret('dev-pepper'),
    CODE_DELIVERY: process.env.CODE_DELIVERY || 'log',
    STAGE: process.env.STAGE || 'local',
  };

  const migrate = spawnSync(
    process.execPath,
    [path.join(ROOT, 'node_modules/.bin/tsx'), 'scripts/migrate.ts', 'up'],
    { cwd: ROOT, env, stdio: 'inherit' },
  );
  if (migrate.status !== 0) throw new CliError('migrations failed (above); not starting');

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
  let demoUserId, demoStaffId;
  try {
    demoUserId = await ensureUser('demo@example.com', '+12015550100', 'Demo User', 'user');
    demoStaffId = await ensureUser('staff@example.com', '+12015550199', 'Demo Staff', 'staff');
  } finally {
    await client.end();
  }

  const userToken = env.AUTH_JWT_SECRET
    ? await devToken(demoUserId)
    : '(AUTH_JWKS_URL is set: use your issuer)';
  const staffToken = env.AUTH_JWT_SECRET
    ? await devToken(demoStaffId)
    : '(AUTH_JWKS_URL is set: use your issuer)';
  // The token rides in the fragment: the browser never sends it to the server,
  // and the page moves it to the tab's sessionStorage at once.
  const consoleUrl = env.AUTH_JWT_SECRET
    ? `http://localhost:${port}/console#token=${staffToken}`
    : `http://localhost:${port}/console (sign in with a staff token from your issuer)`;
  console.log(`
demo user  id ${demoUserId} (demo@example.com, +12015550100):
  export USER_TOKEN=${userToken}
demo staff id ${demoStaffId} (staff@example.com):
  export STAFF_TOKEN=${staffToken}
staff console, signed in as the demo staff user:
  ${consoleUrl}
tokens last 12 hours; another user: npm run user -- --email <e>; another token: npm run token -- <userId>
the database, for psql or sequelize-cli: npm run -s db:url
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
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => offline.kill(sig));
  return new Promise((resolve) => {
    offline.on('exit', (code) => resolve(code ?? 0));
    offline.on('error', (err) => {
      console.error(`npm start: cannot run serverless offline: ${err.message}`);
      resolve(1);
    });
  });
}
