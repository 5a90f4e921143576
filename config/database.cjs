'use strict';
// sequelize-cli configuration: every environment reads DATABASE_URL (and
// DATABASE_CA_FILE for verify-full), the same settings the functions use.
const { sequelizeOptions } = require('../lib/connection.cjs');

function fromEnv() {
  const url = process.env.DATABASE_URL;
  if (!url) {
    throw new Error(
      'DATABASE_URL is not set: sequelize-cli needs it (postgres://user:password@host:port/database; for the database of npm start: DATABASE_URL=$(npm run -s db:url) npx sequelize-cli ...)',
    );
  }
  return {
    ...sequelizeOptions(url, { caFile: process.env.DATABASE_CA_FILE }),
    migrationStorageTableName: 'SequelizeMeta',
    // createdAt and updatedAt on every history row: `npm run migrate` shows when
    // each migration ran. The runner makes the table the same way.
    migrationTimestamps: true,
  };
}

const config = fromEnv();
module.exports = { development: config, test: config, production: config };
