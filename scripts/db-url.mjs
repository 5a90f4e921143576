#!/usr/bin/env node
// npm run db:url: prints the URL of the database the local tools use, for
// sequelize-cli and psql:
//   DATABASE_URL=$(npm run -s db:url) npx sequelize-cli db:migrate:status
//   psql "$(npm run -s db:url)"
import { CliError, runCli } from './cli.mjs';
import { runningLocalDatabase, shownDataDir } from './local-db.mjs';

runCli('db:url', async () => {
  if (process.argv.length > 2) throw new CliError('usage: npm run db:url', 2);
  if (process.env.DATABASE_URL) {
    console.log(process.env.DATABASE_URL);
    return;
  }
  const running = runningLocalDatabase();
  if (!running) {
    throw new CliError(
      `the database of npm start (${shownDataDir()}) is not running: run npm start in another shell first`,
    );
  }
  console.log(running.url);
});
