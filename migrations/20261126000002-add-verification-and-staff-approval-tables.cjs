'use strict';

/**
 * The verification and staff-approval plan:
 * - verification_codes and staff_approval_requests (new, empty tables, so their
 *   indexes and foreign keys are built without scanning anything large);
 * - users.verification_status, added as a column with a constant default, which
 *   PostgreSQL 11+ records in the catalogue without rewriting the table (the
 *   ACCESS EXCLUSIVE lock is taken last and held for milliseconds, bounded by
 *   lock_timeout);
 * - a trigger that drops a channel's verified state when its address changes,
 *   whoever writes the row.
 *
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface) {
    const q = (sql) => queryInterface.sequelize.query(sql);

    await q(`CREATE TYPE enum_users_verification_status
             AS ENUM ('unverified', 'phone_verified', 'email_verified', 'verified')`);

    await q(`CREATE TYPE enum_verification_codes_channel AS ENUM ('phone', 'email')`);
    await q(`
      CREATE TABLE verification_codes (
        id uuid PRIMARY KEY,
        user_id integer NOT NULL,
        channel enum_verification_codes_channel NOT NULL,
        destination varchar(255) NOT NULL,
        code_hash varchar(128) NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        max_attempts integer NOT NULL,
        expires_at timestamptz NOT NULL,
        consumed_at timestamptz NULL,
        superseded_at timestamptz NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT verification_codes_attempts_check CHECK (attempts >= 0 AND attempts <= max_attempts)
      )`);
    // Sends per user and channel in the last hour, and the latest code (cooldown).
    await q(`CREATE INDEX verification_codes_user_channel_created_idx
             ON verification_codes (user_id, channel, created_at)`);
    // At most one active code per user and channel; also the verify lookup.
    await q(`CREATE UNIQUE INDEX verification_codes_one_active_idx
             ON verification_codes (user_id, channel)
             WHERE consumed_at IS NULL AND superseded_at IS NULL`);
    // Sends per destination in the last hour (SMS pumping guard).
    await q(`CREATE INDEX verification_codes_destination_created_idx
             ON verification_codes (destination, created_at)`);
    // Retention clean-up scans by age.
    await q(`CREATE INDEX verification_codes_created_idx ON verification_codes (created_at)`);

    await q(`CREATE TYPE enum_staff_approval_requests_status
             AS ENUM ('pending', 'approved', 'rejected', 'cancelled')`);
    await q(`
      CREATE TABLE staff_approval_requests (
        id uuid PRIMARY KEY,
        user_id integer NOT NULL,
        requested_by integer NULL,
        request_type varchar(64) NOT NULL,
        details jsonb NOT NULL DEFAULT '{}'::jsonb,
        status enum_staff_approval_requests_status NOT NULL DEFAULT 'pending',
        reviewed_by integer NULL,
        reviewed_at timestamptz NULL,
        review_note text NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q(`CREATE UNIQUE INDEX staff_approval_requests_one_pending_idx
             ON staff_approval_requests (user_id, request_type) WHERE status = 'pending'`);
    await q(`CREATE INDEX staff_approval_requests_pending_queue_idx
             ON staff_approval_requests (created_at, id) WHERE status = 'pending'`);
    await q(`CREATE INDEX staff_approval_requests_created_idx
             ON staff_approval_requests (created_at, id)`);
    await q(`CREATE INDEX staff_approval_requests_user_created_idx
             ON staff_approval_requests (user_id, created_at, id)`);
    await q(`CREATE INDEX staff_approval_requests_requested_by_created_idx
             ON staff_approval_requests (requested_by, created_at, id)`);
    await q(`CREATE INDEX staff_approval_requests_reviewed_by_idx
             ON staff_approval_requests (reviewed_by)`);

    // Everything that locks `users` comes last, so that its locks (ACCESS
    // EXCLUSIVE for the new column, SHARE ROW EXCLUSIVE for each foreign key and
    // the trigger) are held from here to the commit only: milliseconds, instead of
    // the whole migration. The foreign keys are added to empty tables, so their
    // validation scans nothing.
    await q(`ALTER TABLE users
             ADD COLUMN verification_status enum_users_verification_status
             NOT NULL DEFAULT 'unverified'`);
    await q(`ALTER TABLE verification_codes
             ADD CONSTRAINT verification_codes_user_id_fkey
             FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE`);
    await q(`ALTER TABLE staff_approval_requests
             ADD CONSTRAINT staff_approval_requests_user_id_fkey
             FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
             ADD CONSTRAINT staff_approval_requests_requested_by_fkey
             FOREIGN KEY (requested_by) REFERENCES users (id) ON DELETE SET NULL,
             ADD CONSTRAINT staff_approval_requests_reviewed_by_fkey
             FOREIGN KEY (reviewed_by) REFERENCES users (id) ON DELETE SET NULL`);
    await q(`
      CREATE FUNCTION users_drop_stale_verification() RETURNS trigger
      LANGUAGE plpgsql AS $$
      DECLARE
        phone_ok boolean := NEW.verification_status IN ('phone_verified', 'verified');
        email_ok boolean := NEW.verification_status IN ('email_verified', 'verified');
      BEGIN
        IF NEW.phone IS DISTINCT FROM OLD.phone THEN phone_ok := false; END IF;
        IF NEW.email IS DISTINCT FROM OLD.email THEN email_ok := false; END IF;
        NEW.verification_status := CASE
          WHEN phone_ok AND email_ok THEN 'verified'
          WHEN phone_ok THEN 'phone_verified'
          WHEN email_ok THEN 'email_verified'
          ELSE 'unverified'
        END;
        RETURN NEW;
      END
      $$`);
    await q(`CREATE TRIGGER users_drop_stale_verification
             BEFORE UPDATE OF email, phone ON users
             FOR EACH ROW EXECUTE FUNCTION users_drop_stale_verification()`);
  },

  async down(queryInterface) {
    const q = (sql) => queryInterface.sequelize.query(sql);
    await q('DROP TRIGGER users_drop_stale_verification ON users');
    await q('DROP FUNCTION users_drop_stale_verification()');
    await q('DROP TABLE staff_approval_requests');
    await q('DROP TYPE enum_staff_approval_requests_status');
    await q('DROP TABLE verification_codes');
    await q('DROP TYPE enum_verification_codes_channel');
    await q('ALTER TABLE users DROP COLUMN verification_status');
    await q('DROP TYPE enum_users_verification_status');
  },
};
