import {
  ADD_DESTINATION_COUNTRY,
  ALL_MIGRATIONS,
  ADD_VERIFICATION,
  CREATE_USERS,
  metaRows,
  migrationFixtures,
  query,
  schemaSnapshot,
  sequelizeCli,
} from './helpers';

const fixtures = migrationFixtures();
afterAll(() => fixtures.cleanup());

type Column = {
  table_name: string;
  column_name: string;
  udt_name: string;
  character_maximum_length: number | null;
  is_nullable: 'YES' | 'NO';
  column_default: string | null;
  is_identity: 'YES' | 'NO';
};

function columnsOf(snapshot: Record<string, unknown>, table: string) {
  const rows = (snapshot.columns as Column[]).filter((c) => c.table_name === table);
  return Object.fromEntries(
    rows.map((c) => [
      c.column_name,
      {
        type: c.character_maximum_length
          ? `${c.udt_name}(${c.character_maximum_length})`
          : c.udt_name,
        nullable: c.is_nullable === 'YES',
        default: c.column_default,
        ...(c.is_identity === 'YES' ? { identity: true } : {}),
      },
    ]),
  );
}

const timestamps = { type: 'timestamptz', nullable: false, default: 'now()' };

function expectFullSchema(snapshot: Record<string, unknown>) {
  expect(columnsOf(snapshot, 'users')).toEqual({
    id: { type: 'int4', nullable: false, default: null, identity: true },
    email: { type: 'varchar(255)', nullable: true, default: null },
    phone: { type: 'varchar(32)', nullable: true, default: null },
    name: { type: 'varchar(255)', nullable: true, default: null },
    role: { type: 'varchar(16)', nullable: false, default: "'user'::character varying" },
    created_at: timestamps,
    updated_at: timestamps,
    verification_status: {
      type: 'enum_users_verification_status',
      nullable: false,
      default: "'unverified'::enum_users_verification_status",
    },
  });
  expect(columnsOf(snapshot, 'verification_codes')).toEqual({
    id: { type: 'uuid', nullable: false, default: null },
    user_id: { type: 'int4', nullable: false, default: null },
    channel: { type: 'enum_verification_codes_channel', nullable: false, default: null },
    destination: { type: 'varchar(255)', nullable: false, default: null },
    code_hash: { type: 'varchar(128)', nullable: false, default: null },
    attempts: { type: 'int4', nullable: false, default: '0' },
    max_attempts: { type: 'int4', nullable: false, default: null },
    expires_at: { type: 'timestamptz', nullable: false, default: null },
    consumed_at: { type: 'timestamptz', nullable: true, default: null },
    superseded_at: { type: 'timestamptz', nullable: true, default: null },
    created_at: timestamps,
    destination_country: { type: 'bpchar(2)', nullable: true, default: null },
    source_ip: { type: 'inet', nullable: true, default: null },
  });
  expect(columnsOf(snapshot, 'staff_approval_requests')).toEqual({
    id: { type: 'uuid', nullable: false, default: null },
    user_id: { type: 'int4', nullable: false, default: null },
    requested_by: { type: 'int4', nullable: true, default: null },
    request_type: { type: 'varchar(64)', nullable: false, default: null },
    details: { type: 'jsonb', nullable: false, default: "'{}'::jsonb" },
    status: {
      type: 'enum_staff_approval_requests_status',
      nullable: false,
      default: "'pending'::enum_staff_approval_requests_status",
    },
    reviewed_by: { type: 'int4', nullable: true, default: null },
    reviewed_at: { type: 'timestamptz', nullable: true, default: null },
    review_note: { type: 'text', nullable: true, default: null },
    created_at: timestamps,
    updated_at: timestamps,
  });

  expect(snapshot.enums).toEqual([
    {
      typname: 'enum_staff_approval_requests_status',
      labels: ['pending', 'approved', 'rejected', 'cancelled'],
    },
    {
      typname: 'enum_users_verification_status',
      labels: ['unverified', 'phone_verified', 'email_verified', 'verified'],
    },
    { typname: 'enum_verification_codes_channel', labels: ['phone', 'email'] },
  ]);

  const constraints = snapshot.constraints as {
    table_name: string;
    contype: string;
    def: string;
  }[];
  const fks = constraints
    .filter((c) => c.contype === 'f')
    .map((c) => `${c.table_name}: ${c.def}`)
    .sort();
  expect(fks).toEqual([
    'idempotency_keys: FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE',
    'staff_approval_requests: FOREIGN KEY (requested_by) REFERENCES users(id) ON DELETE SET NULL',
    'staff_approval_requests: FOREIGN KEY (reviewed_by) REFERENCES users(id) ON DELETE SET NULL',
    'staff_approval_requests: FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE',
    'verification_codes: FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE',
    'verification_events: FOREIGN KEY (actor_id) REFERENCES users(id) ON DELETE SET NULL',
    'verification_events: FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE',
  ]);
  const usersConstraints = constraints.filter((c) => c.table_name === 'users').map((c) => c.def);
  expect(usersConstraints).toEqual(
    expect.arrayContaining([
      'UNIQUE (email)',
      'UNIQUE (phone)',
      'PRIMARY KEY (id)',
      expect.stringMatching(/^CHECK .*role.*'user'.*'staff'.*'admin'/),
    ]),
  );

  const indexes = Object.fromEntries(
    (snapshot.indexes as { indexname: string; indexdef: string }[]).map((i) => [
      i.indexname,
      i.indexdef.replace(/ USING btree/, '').replace(' public.', ' '),
    ]),
  );
  expect(indexes).toMatchObject({
    verification_codes_one_active_idx:
      'CREATE UNIQUE INDEX verification_codes_one_active_idx ON verification_codes (user_id, channel) WHERE ((consumed_at IS NULL) AND (superseded_at IS NULL))',
    verification_codes_user_channel_created_idx:
      'CREATE INDEX verification_codes_user_channel_created_idx ON verification_codes (user_id, channel, created_at)',
    verification_codes_destination_created_idx:
      'CREATE INDEX verification_codes_destination_created_idx ON verification_codes (destination, created_at)',
    verification_codes_country_created_idx:
      'CREATE INDEX verification_codes_country_created_idx ON verification_codes (destination_country, created_at) WHERE (destination_country IS NOT NULL)',
    verification_codes_source_ip_created_idx:
      'CREATE INDEX verification_codes_source_ip_created_idx ON verification_codes (source_ip, created_at) WHERE (source_ip IS NOT NULL)',
    staff_approval_requests_one_pending_idx:
      "CREATE UNIQUE INDEX staff_approval_requests_one_pending_idx ON staff_approval_requests (user_id, request_type) WHERE (status = 'pending'::enum_staff_approval_requests_status)",
    staff_approval_requests_pending_queue_idx:
      "CREATE INDEX staff_approval_requests_pending_queue_idx ON staff_approval_requests (created_at, id) WHERE (status = 'pending'::enum_staff_approval_requests_status)",
    users_email_key: 'CREATE UNIQUE INDEX users_email_key ON users (email)',
    users_phone_key: 'CREATE UNIQUE INDEX users_phone_key ON users (phone)',
  });

  expect(snapshot.triggers).toEqual([
    {
      table_name: 'users',
      tgname: 'users_drop_stale_verification',
      def: 'CREATE TRIGGER users_drop_stale_verification BEFORE UPDATE OF email, phone ON public.users FOR EACH ROW EXECUTE FUNCTION users_drop_stale_verification()',
    },
    {
      table_name: 'users',
      tgname: 'users_record_address_change',
      def: expect.stringMatching(
        /^CREATE TRIGGER users_record_address_change AFTER UPDATE OF email, phone ON public\.users FOR EACH ROW WHEN .* EXECUTE FUNCTION users_record_address_change\(\)$/,
      ),
    },
    {
      table_name: 'verification_events',
      tgname: 'verification_events_append_only',
      def: 'CREATE TRIGGER verification_events_append_only BEFORE UPDATE ON public.verification_events FOR EACH ROW EXECUTE FUNCTION verification_events_append_only()',
    },
  ]);
  expect(snapshot.functions).toEqual([
    { proname: 'users_drop_stale_verification' },
    { proname: 'users_record_address_change' },
    { proname: 'verification_events_append_only' },
    { proname: 'verification_record_event' },
  ]);
}

describe('the migrations under sequelize-cli', () => {
  it('go up, undo, undo:all and up again, leaving the schema of each step', async () => {
    const url = await fixtures.emptyDatabase();
    const empty = await schemaSnapshot(url);

    await sequelizeCli(url, 'db:migrate', '--to', CREATE_USERS);
    const usersOnly = await schemaSnapshot(url);
    expect(columnsOf(usersOnly, 'users')).not.toHaveProperty('verification_status');
    expect(usersOnly.enums).toEqual([]);

    await sequelizeCli(url, 'db:migrate', '--to', ADD_VERIFICATION);
    const beforeCountry = await schemaSnapshot(url);
    expect(columnsOf(beforeCountry, 'verification_codes')).not.toHaveProperty('source_ip');

    // Every later step, one migration at a time.
    const steps: Record<string, unknown> = {};
    for (const name of ALL_MIGRATIONS.slice(2)) {
      await sequelizeCli(url, 'db:migrate', '--to', name);
      steps[name] = await schemaSnapshot(url);
    }
    const full = await schemaSnapshot(url);
    expectFullSchema(full);
    expect(await metaRows(url)).toEqual(ALL_MIGRATIONS);

    // Each undo takes back exactly one step (migration 3 runs outside a
    // transaction: CREATE INDEX CONCURRENTLY; its down removes its columns and
    // indexes), and each migrate makes it again.
    for (let i = ALL_MIGRATIONS.length - 1; i >= 2; i -= 1) {
      await sequelizeCli(url, 'db:migrate:undo');
      const previous = i === 2 ? beforeCountry : steps[ALL_MIGRATIONS[i - 1] as string];
      expect(await schemaSnapshot(url)).toEqual(previous);
    }
    await sequelizeCli(url, 'db:migrate');
    expect(await schemaSnapshot(url)).toEqual(full);

    for (let i = ALL_MIGRATIONS.length - 1; i >= 3; i -= 1) {
      await sequelizeCli(url, 'db:migrate:undo');
    }
    await sequelizeCli(url, 'db:migrate:undo', '--name', ADD_DESTINATION_COUNTRY);
    await sequelizeCli(url, 'db:migrate:undo');
    // Down removes the column, tables, trigger, function and every enum type.
    expect(await schemaSnapshot(url)).toEqual(usersOnly);
    expect(await metaRows(url)).toEqual([CREATE_USERS]);

    await sequelizeCli(url, 'db:migrate');
    expect(await schemaSnapshot(url)).toEqual(full);

    await sequelizeCli(url, 'db:migrate:undo:all');
    expect(await schemaSnapshot(url)).toEqual(empty);
    expect(await metaRows(url)).toEqual([]);

    await sequelizeCli(url, 'db:migrate');
    expect(await schemaSnapshot(url)).toEqual(full);
  }, 180000);

  it('applies the trigger and defaults that the schema promises', async () => {
    const url = await fixtures.emptyDatabase();
    await sequelizeCli(url, 'db:migrate');
    const [user] = await query<{ id: number; verification_status: string }>(
      url,
      `INSERT INTO users (email, phone) VALUES ('a@example.com', '+15550001234') RETURNING id, verification_status`,
    );
    expect(user?.verification_status).toBe('unverified');
    await query(url, `UPDATE users SET verification_status = 'verified' WHERE id = $1`, [user?.id]);
    const [after] = await query<{ verification_status: string }>(
      url,
      `UPDATE users SET email = 'b@example.com' WHERE id = $1 RETURNING verification_status`,
      [user?.id],
    );
    expect(after?.verification_status).toBe('phone_verified');
  });
});
