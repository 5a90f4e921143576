'use strict';

/**
 * Abuse resistance: each code records the country of its phone destination
 * and the client address it was requested from, and the country budget and
 * per-address limit count them.
 *
 * The columns are nullable with no default: adding them changes only the
 * catalogue (a short ACCESS EXCLUSIVE lock, bounded by lock_timeout). The
 * indexes are built with CREATE INDEX CONCURRENTLY, which lets writers go on
 * while a large verification_codes is read, and which cannot run inside a
 * transaction: this migration opts out of the runner's. IF NOT EXISTS / IF
 * EXISTS make a re-run after a failure half-way safe (a failed concurrent build
 * leaves an invalid index, which `down` drops).
 *
 * @type {import('sequelize-cli').Migration & { useTransaction: boolean }}
 */
module.exports = {
  useTransaction: false,

  async up(queryInterface) {
    const q = (sql) => queryInterface.sequelize.query(sql);
    await q(`ALTER TABLE verification_codes
             ADD COLUMN IF NOT EXISTS destination_country char(2) NULL,
             ADD COLUMN IF NOT EXISTS source_ip inet NULL`);
    // Phone sends per country in the last hour (country budgets).
    await q(`CREATE INDEX CONCURRENTLY IF NOT EXISTS verification_codes_country_created_idx
             ON verification_codes (destination_country, created_at)
             WHERE destination_country IS NOT NULL`);
    // Sends per client address (an IPv6 /64 is a range of it) in the last hour.
    await q(`CREATE INDEX CONCURRENTLY IF NOT EXISTS verification_codes_source_ip_created_idx
             ON verification_codes (source_ip, created_at)
             WHERE source_ip IS NOT NULL`);
  },

  async down(queryInterface) {
    const q = (sql) => queryInterface.sequelize.query(sql);
    await q('DROP INDEX CONCURRENTLY IF EXISTS verification_codes_source_ip_created_idx');
    await q('DROP INDEX CONCURRENTLY IF EXISTS verification_codes_country_created_idx');
    await q(`ALTER TABLE verification_codes
             DROP COLUMN IF EXISTS source_ip,
             DROP COLUMN IF EXISTS destination_country`);
  },
};
