import { createDatabase, Database } from '../../lib/db';
import { apiClient, ApiCall } from './api';
import { OfflineServer, startOffline } from './offline';
import { createTestDatabase, TestDatabase } from './testDatabase';
import { TEST_JWT_SECRET } from './tokens';
import { WebhookCapture } from './webhookCapture';

/**
 * What an end-to-end test file stands on: a database of its own (migrated), a
 * Sequelize handle on it for arranging data and checking rows, the API under
 * serverless-offline pointed at it (HS256 with TEST_JWT_SECRET plus `env`), and
 * the spec-checking client.
 */
export interface ApiStack {
  testDb: TestDatabase;
  db: Database;
  server: OfflineServer;
  api: ApiCall;
  stop(): Promise<void>;
}

export async function startApiStack(env: Record<string, string> = {}): Promise<ApiStack> {
  const testDb = await createTestDatabase();
  const db = createDatabase({ databaseUrl: testDb.url, caFile: undefined, connectTimeoutMs: 5000 });
  let server: OfflineServer;
  try {
    server = await startOffline({
      DATABASE_URL: testDb.url,
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      ...env,
    });
  } catch (err) {
    await db.sequelize.close();
    await testDb.drop();
    throw err;
  }
  return {
    testDb,
    db,
    server,
    api: apiClient(server.baseUrl),
    async stop() {
      await server.stop();
      await db.sequelize.close();
      await testDb.drop();
    },
  };
}

/** startApiStack with codes delivered by webhook to a capture, stopped with the stack. */
export async function startApiStackWithWebhook(
  env: Record<string, string> = {},
): Promise<ApiStack & { webhook: WebhookCapture }> {
  const webhook = new WebhookCapture();
  const url = await webhook.start();
  let stack: ApiStack;
  try {
    stack = await startApiStack({ CODE_DELIVERY: 'webhook', CODE_WEBHOOK_URL: url, ...env });
  } catch (err) {
    await webhook.stop();
    throw err;
  }
  return {
    ...stack,
    webhook,
    async stop() {
      await stack.stop();
      await webhook.stop();
    },
  };
}
