import { createDatabase, Database } from '../../lib/db';
import { createPgDatabase, PgDatabase } from '../../lib/pgDatabase';
import type { CodeMessage, CodeSender } from '../../lib/delivery/types';
import { createTestDatabase, TestDatabase } from './testDatabase';

/** A sender that records what it was asked to deliver, or fails on demand. */
export class RecordingSender implements CodeSender {
  messages: CodeMessage[] = [];
  failing = false;
  async send(message: CodeMessage) {
    this.messages.push(message);
    if (this.failing) throw new Error('provider down');
  }
  last(): CodeMessage {
    const m = this.messages[this.messages.length - 1];
    if (!m) throw new Error('nothing sent');
    return m;
  }
}

/**
 * A test database of the file's own with two handles whose pools have room for
 * concurrency tests (every parallel call gets its own connection): a `pg` pool
 * (`pg.sql`), which the send and verify functions use, and a Sequelize
 * instance (`db`), which the other functions use and tests arrange data with.
 */
export async function openServiceDatabase(): Promise<{
  testDb: TestDatabase;
  db: Database;
  pg: PgDatabase;
}> {
  const testDb = await createTestDatabase();
  const settings = { databaseUrl: testDb.url, caFile: undefined, connectTimeoutMs: 10000 };
  const db = createDatabase(settings, { max: 30 });
  const pg = createPgDatabase(settings, { max: 30 });
  return { testDb, db, pg };
}
