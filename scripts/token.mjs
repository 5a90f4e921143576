#!/usr/bin/env node
// npm run token -- <userId> [expiresIn]: prints a bearer token for a user of the
// local database (see local-db.mjs), signed the way the local API verifies it.
import { CliError, runCli } from './cli.mjs';
import { devToken } from './dev-env.mjs';
import { withLocalClient } from './local-db.mjs';

const USAGE = 'usage: npm run token -- <userId> [expiresIn, e.g. 30m, 12h or 7d]';

runCli('token', async () => {
  const args = process.argv.slice(2);
  const [userId, expiresIn] = args;
  if (args.length === 0 || args.length > 2) throw new CliError(USAGE, 2);
  if (!/^[1-9]\d{0,9}$/.test(userId) || Number(userId) > 2 ** 31 - 1) {
    throw new CliError(`the user id must be a positive whole number, not '${userId}'`, 2);
  }
  if (process.env.AUTH_JWKS_URL) {
    throw new CliError('AUTH_JWKS_URL is set: tokens come from your issuer, not from here');
  }
  let token;
  try {
    token = await devToken(userId, expiresIn ? { expiresIn } : {});
  } catch {
    throw new CliError(`'${expiresIn}' is not a duration: use one such as 30m, 12h or 7d`, 2);
  }
  const found = await withLocalClient((c) =>
    c.query('SELECT id FROM users WHERE id = $1', [userId]),
  );
  if (found.rowCount === 0) {
    throw new CliError(`there is no user ${userId}: make one with npm run user -- --email <e>`);
  }
  console.log(token);
});
