import { createDatabase, Database } from '../../lib/db';
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
 * A test database of the file's own with a Sequelize handle whose pool has room
 * for concurrency tests (every parallel call gets its own connection).
 */
export async function openServiceDatabase(): Promise<{ testDb: TestDatabase; db: Database }> {
  const testDb = await createTestDatabase();
  const db = createDatabase(
    { databaseUrl: testDb.url, caFile: undefined, connectTimeoutMs: 10000 },
    { max: 30 },
  );
  return { testDb, db };
}
