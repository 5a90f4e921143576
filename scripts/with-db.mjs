#!/usr/bin/env node
// Runs a command with DATABASE_URL pointing at a PostgreSQL server: the one the
// caller named, or else a throwaway embedded cluster started here and removed after.
//   node scripts/with-db.mjs <command> [args...]
import { spawn } from 'node:child_process';
import { CliError, runCli } from './cli.mjs';
import { startEmbeddedPostgres } from './embedded-postgres.mjs';

runCli('with-db', async () => {
  const [cmd, ...args] = process.argv.slice(2);
  if (!cmd) throw new CliError('usage: node scripts/with-db.mjs <command> [args...]', 2);

  let server;
  if (!process.env.DATABASE_URL) {
    server = await startEmbeddedPostgres({ handleSignals: false });
    process.env.DATABASE_URL = server.url;
    console.error(`[with-db] embedded PostgreSQL on 127.0.0.1:${server.port}`);
  }

  const child = spawn(cmd, args, { stdio: 'inherit', env: process.env, shell: false });
  const forward = (sig) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  process.on('SIGHUP', forward);
  const code = await new Promise((resolve) => {
    child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0)));
    child.on('error', (err) => {
      console.error(`with-db: cannot run ${cmd}: ${err.message}`);
      resolve(127);
    });
  });
  if (server) await server.stop();
  return code;
});
