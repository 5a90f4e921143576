'use strict';

/**
 * The audit trail of verification, and the outbox of the events other
 * services are told about.
 *
 * - verification_events: append only (UPDATE is refused by a trigger; rows go
 *   only with their user, by the foreign key's cascade). One row per thing that
 *   happened: a code sent or refused, a status change and its cause, a staff
 *   revocation, a request filed or decided. `details` never holds a code or an
 *   unmasked address.
 * - verification_event_outbox: the events published to EventBridge
 *   (status_changed, verification_revoked, approval_requested,
 *   approval_decided), each written in the same transaction as its event and
 *   marked published once EventBridge accepted it.
 * - verification_record_event(): writes an event and, for those four types,
 *   its outbox row; returns the outbox message `{type, detail}` (null for other
 *   types).
 *   Every writer uses it, so which events go out is decided in one place.
 * - users_record_address_change: an AFTER trigger that records the status
 *   change caused by an address change (the BEFORE trigger of migration 2 drops
 *   the verified state), whoever made it, other apps included.
 *
 * New tables: nothing to lock but the catalogue and, for the foreign keys and
 * the trigger, users briefly (bounded by lock_timeout).
 *
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface) {
    const q = (sql) => queryInterface.sequelize.query(sql);
    await q(`
      CREATE TABLE verification_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        actor_id integer NULL REFERENCES users (id) ON DELETE SET NULL,
        type text NOT NULL CHECK (type IN ('code_sent', 'code_delivery_failed', 'code_verified',
          'code_rejected', 'status_changed', 'verification_revoked', 'approval_requested',
          'approval_decided')),
        channel text NULL CHECK (channel IN ('phone', 'email')),
        details jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    // A user's history, newest first (keyset on created_at, id).
    await q(`CREATE INDEX verification_events_user_created_idx
             ON verification_events (user_id, created_at DESC, id DESC)`);
    // ON DELETE SET NULL of actor_id finds the rows of a deleted staff member.
    await q(`CREATE INDEX verification_events_actor_idx
             ON verification_events (actor_id) WHERE actor_id IS NOT NULL`);
    await q(`
      CREATE FUNCTION verification_events_append_only() RETURNS trigger
      LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'verification_events is append only';
      END
      $$`);
    await q(`CREATE TRIGGER verification_events_append_only
             BEFORE UPDATE ON verification_events
             FOR EACH ROW EXECUTE FUNCTION verification_events_append_only()`);

    await q(`
      CREATE TABLE verification_event_outbox (
        event_id bigint PRIMARY KEY,
        user_id integer NOT NULL,
        detail_type text NOT NULL,
        detail jsonb NOT NULL,
        created_at timestamptz NOT NULL,
        published_at timestamptz NULL
      )`);
    // What is left to publish, oldest first.
    await q(`CREATE INDEX verification_event_outbox_pending_idx
             ON verification_event_outbox (event_id) WHERE published_at IS NULL`);
    // Published rows past retention, for the clean-up.
    await q(`CREATE INDEX verification_event_outbox_published_idx
             ON verification_event_outbox (published_at) WHERE published_at IS NOT NULL`);

    await q(`
      CREATE FUNCTION verification_record_event(
        p_user integer, p_actor integer, p_type text, p_channel text, p_details jsonb,
        p_at timestamptz
      ) RETURNS jsonb
      LANGUAGE plpgsql AS $$
      DECLARE
        v_id bigint;
        v_detail jsonb;
      BEGIN
        INSERT INTO verification_events (user_id, actor_id, type, channel, details, created_at)
        VALUES (p_user, p_actor, p_type, p_channel, p_details, p_at)
        RETURNING id INTO v_id;
        IF p_type NOT IN ('status_changed', 'verification_revoked', 'approval_requested',
                          'approval_decided') THEN
          RETURN NULL;
        END IF;
        v_detail := jsonb_build_object(
          'eventId', v_id::text, 'userId', p_user, 'actorId', p_actor, 'channel', p_channel,
          'occurredAt', to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
        ) || p_details;
        INSERT INTO verification_event_outbox (event_id, user_id, detail_type, detail, created_at)
        VALUES (v_id, p_user, p_type, v_detail, p_at);
        RETURN jsonb_build_object('type', p_type, 'detail', v_detail);
      END
      $$`);

    await q(`
      CREATE FUNCTION users_record_address_change() RETURNS trigger
      LANGUAGE plpgsql AS $$
      DECLARE
        phone_dropped boolean := OLD.verification_status IN ('phone_verified', 'verified')
          AND NEW.verification_status NOT IN ('phone_verified', 'verified');
        email_dropped boolean := OLD.verification_status IN ('email_verified', 'verified')
          AND NEW.verification_status NOT IN ('email_verified', 'verified');
      BEGIN
        PERFORM verification_record_event(
          NEW.id, NULL, 'status_changed',
          CASE WHEN phone_dropped AND NOT email_dropped THEN 'phone'
               WHEN email_dropped AND NOT phone_dropped THEN 'email' END,
          jsonb_build_object('from', OLD.verification_status, 'to', NEW.verification_status,
                             'cause', 'address_change'),
          now());
        RETURN NULL;
      END
      $$`);
    await q(`CREATE TRIGGER users_record_address_change
             AFTER UPDATE OF email, phone ON users
             FOR EACH ROW
             WHEN (OLD.verification_status IS DISTINCT FROM NEW.verification_status
                   AND (OLD.email IS DISTINCT FROM NEW.email OR OLD.phone IS DISTINCT FROM NEW.phone))
             EXECUTE FUNCTION users_record_address_change()`);
  },

  async down(queryInterface) {
    const q = (sql) => queryInterface.sequelize.query(sql);
    await q('DROP TRIGGER users_record_address_change ON users');
    await q('DROP FUNCTION users_record_address_change()');
    await q(
      'DROP FUNCTION verification_record_event(integer, integer, text, text, jsonb, timestamptz)',
    );
    await q('DROP TABLE verification_event_outbox');
    await q('DROP TABLE verification_events');
    await q('DROP FUNCTION verification_events_append_only()');
  },
};
