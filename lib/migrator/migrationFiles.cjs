'use strict';
// The migrations are the files in migrations/, found the way sequelize-cli finds
// them, so that adding a migration is adding a file. Plain CommonJS: the esbuild
// plugin of the bundles (deploy/esbuild-plugins.cjs) uses it at build time too.
//
// Run from source (tsx, Jest, sequelize-cli), this module reads the folder. A
// bundle cannot read a folder that is not in its zip, so in a bundle the plugin
// replaces this module with a static list of the files it found at build time,
// each a `require` that esbuild bundles.

const fs = require('node:fs');
const path = require('node:path');

/** The files sequelize-cli 6.6 runs as migrations (its lib/core/migrator.js): not `.d.ts`. */
const MIGRATION_FILE = /^(?!.*\.d\.ts$).*\.(cjs|js|cts|ts)$/;

/** migrations/ of this checkout. */
const MIGRATIONS_DIR = path.resolve(__dirname, '..', '..', 'migrations');

/**
 * The migration file names in `dir`, in the order sequelize-cli runs them (by name).
 * @param {string} [dir]
 * @returns {string[]}
 */
function migrationFileNames(dir = MIGRATIONS_DIR) {
  let files;
  try {
    files = fs.readdirSync(dir);
  } catch (err) {
    throw new Error(
      `cannot list the migrations in ${dir} (${err.code ?? err.message}); a bundle must be built with the plugin in deploy/esbuild-plugins.cjs`,
      { cause: err },
    );
  }
  return files.filter((name) => MIGRATION_FILE.test(name)).sort();
}

/**
 * Every migration in `dir`, in order, with its module.
 * @param {string} [dir]
 * @returns {{ name: string, module: unknown }[]}
 */
function loadMigrations(dir = MIGRATIONS_DIR) {
  return migrationFileNames(dir).map((name) => ({
    name,
    module: require(path.join(dir, name)),
  }));
}

module.exports = { MIGRATION_FILE, MIGRATIONS_DIR, migrationFileNames, loadMigrations };
