'use strict';

/**
 * Idempotency-Key: the answer each keyed POST gave, kept so that a retry of
 * the same request gets the same answer and causes nothing again.
 *
 * One row per caller, route and key. `state` is `running` while a request
 * holds the key and has not answered, `delivering` while a sent code is being
 * delivered (its answer is stored, its code committed), `done` once the
 * answer is final. A row lives until `expires_at` (IDEMPOTENCY_KEY_TTL_SECONDS
 * after the request); the clean-up job deletes older rows, batch by batch,
 * along the expires_at index.
 *
 * A new, empty table: nothing to lock but the catalogue and a brief SHARE ROW
 * EXCLUSIVE lock on users for the foreign key (bounded by lock_timeout).
 *
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface) {
    await queryInterface.sequelize.query(`
      CREATE TABLE idempotency_keys (
        user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        route text NOT NULL,
        key text NOT NULL CHECK (key ~ '^[!-~]{1,255}$'),
        fingerprint text NOT NULL,
        claim_id uuid NOT NULL,
        state text NOT NULL CHECK (state IN ('running', 'delivering', 'done')),
        status smallint NULL CHECK (status BETWEEN 200 AND 499),
        response_body text NULL,
        retry_after integer NULL,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        PRIMARY KEY (user_id, route, key),
        CHECK ((state = 'running') = (status IS NULL))
      )`);
    await queryInterface.sequelize.query(
      'CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at)',
    );
  },

  async down(queryInterface) {
    await queryInterface.sequelize.query('DROP TABLE idempotency_keys');
  },
};
