#!/usr/bin/env node
// npm run user -- --email <e> [--phone <+E.164>] [--role user|staff] [--name <n>]
// Creates a user in the local database (see local-db.mjs) and prints
// `export TOKEN=...` for it, so that eval "$(npm run -s user -- ...)" signs in.
import { parseArgs } from 'node:util';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { CliError, runCli } from './cli.mjs';
import { devToken } from './dev-env.mjs';
import { withLocalClient } from './local-db.mjs';

const USAGE =
  'usage: npm run user -- --email <e> [--phone <+E.164>] [--role user|staff] [--name <n>]';
const OPTIONS = {
  email: { type: 'string' },
  phone: { type: 'string' },
  role: { type: 'string', default: 'user' },
  name: { type: 'string' },
};

/** The options, or a CliError naming what is wrong. */
function parseUserArgs(argv) {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: OPTIONS, strict: true }));
  } catch (err) {
    const message = err.message.split('.')[0];
    throw new CliError(`${message.charAt(0).toLowerCase()}${message.slice(1)} (${USAGE})`, 2);
  }
  const { email, phone, role, name } = values;
  if (email === undefined) throw new CliError(`--email is required (${USAGE})`, 2);
  if (email.length > 255 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
    throw new CliError(`--email '${email}' is not an email address`, 2);
  }
  // Checked as the service checks it (libphonenumber-js), and stored in E.164.
  const parsed = phone === undefined ? undefined : parsePhoneNumberFromString(phone);
  if (phone !== undefined && !(parsed?.isValid() && phone.trim().startsWith('+'))) {
    throw new CliError(
      `--phone '${phone}' is not a valid international number, such as +12015550123`,
      2,
    );
  }
  if (role !== 'user' && role !== 'staff') {
    throw new CliError(`--role must be user or staff, not '${role}'`, 2);
  }
  if (name !== undefined && (name.trim() === '' || name.length > 255)) {
    throw new CliError('--name must be 1 to 255 characters', 2);
  }
  return { email, phone: parsed?.number ?? null, role, name: name ?? null };
}

runCli('user', async () => {
  const user = parseUserArgs(process.argv.slice(2));
  const id = await withLocalClient(async (c) => {
    try {
      const made = await c.query(
        'INSERT INTO users (email, phone, name, role) VALUES ($1, $2, $3, $4) RETURNING id',
        [user.email, user.phone, user.name, user.role],
      );
      return made.rows[0].id;
    } catch (err) {
      if (err.code !== '23505') throw err;
      const field = err.constraint === 'users_phone_key' ? 'phone' : 'email';
      const other = await c.query(`SELECT id FROM users WHERE ${field} = $1`, [user[field]]);
      throw new CliError(`user ${other.rows[0]?.id ?? '?'} already has ${field} ${user[field]}`);
    }
  });
  console.error(`created user ${id} (${user.email}, ${user.role})`);
  if (process.env.AUTH_JWKS_URL) {
    console.error('AUTH_JWKS_URL is set: get its token from your issuer');
    return;
  }
  console.log(`export TOKEN=${await devToken(id)}`);
});
