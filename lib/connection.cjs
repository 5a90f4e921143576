'use strict';
// Connection settings shared by sequelize-cli (config/database.cjs), the migration
// runner and the API. Plain CommonJS so that sequelize-cli can load it without a
// TypeScript loader.
const fs = require('fs');

const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

/**
 * Turns a postgres:// URL into Sequelize options. Sequelize parses URLs itself and
 * drops `sslmode`, so the URL is taken apart here and `sslmode` is mapped to node-pg's
 * `ssl` option with libpq's meanings: `require` encrypts without checking the
 * certificate; `verify-ca` checks the chain; `verify-full` checks the chain and the
 * host name. The CA bundle comes from `DATABASE_CA_FILE` (for RDS, the global bundle).
 *
 * @param {string} databaseUrl
 * @param {{ caFile?: string }} [opts]
 * @returns {{ host: string, port: number, database: string, username: string, password: string | undefined, ssl: false | import('tls').ConnectionOptions }}
 */
function parseDatabaseUrl(databaseUrl, opts = {}) {
  let url;
  try {
    url = new URL(databaseUrl);
  } catch {
    throw new Error(
      'DATABASE_URL is not a valid URL (expected postgres://user:password@host:port/database)',
    );
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new Error('DATABASE_URL must start with postgres:// or postgresql://');
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!database) throw new Error('DATABASE_URL names no database');
  const sslmode = url.searchParams.get('sslmode') || 'disable';
  if (!SSL_MODES.includes(sslmode)) {
    throw new Error(
      `DATABASE_URL has an unknown sslmode "${sslmode}" (one of ${SSL_MODES.join(', ')})`,
    );
  }
  const caFile = opts.caFile;
  let ssl = false;
  if (sslmode === 'require') {
    ssl = { rejectUnauthorized: false };
  } else if (sslmode === 'verify-ca' || sslmode === 'verify-full') {
    /** @type {import('tls').ConnectionOptions} */
    const tls = { rejectUnauthorized: true };
    if (caFile) {
      try {
        tls.ca = fs.readFileSync(caFile, 'utf8');
      } catch (err) {
        throw new Error(`DATABASE_CA_FILE cannot be read: ${caFile} (${err.code || err.message})`, {
          cause: err,
        });
      }
    }
    if (sslmode === 'verify-ca') tls.checkServerIdentity = () => undefined;
    ssl = tls;
  }
  return {
    host: url.hostname || 'localhost',
    port: url.port ? Number(url.port) : 5432,
    database,
    username: decodeURIComponent(url.username || 'postgres'),
    password: url.password ? decodeURIComponent(url.password) : undefined,
    ssl,
  };
}

/**
 * Sequelize constructor options for a URL. `pool` and timeouts differ between the
 * API (small pool, fail fast) and the migration runner, so callers add their own.
 *
 * @param {string} databaseUrl
 * @param {{ caFile?: string, connectTimeoutMs?: number }} [opts]
 */
function sequelizeOptions(databaseUrl, opts = {}) {
  const c = parseDatabaseUrl(databaseUrl, opts);
  return {
    dialect: /** @type {const} */ ('postgres'),
    host: c.host,
    port: c.port,
    database: c.database,
    username: c.username,
    password: c.password,
    logging: false,
    dialectOptions: {
      ssl: c.ssl,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
      // Do not issue per-connection SET statements: they pin RDS Proxy sessions.
      clientMinMessages: 'ignore',
    },
    // Keep the server's time zone (no SET TIME ZONE per connection); timestamptz
    // values are instants either way.
    keepDefaultTimezone: true,
  };
}

module.exports = { parseDatabaseUrl, sequelizeOptions };
