import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { createDatabase, Database } from '../../lib/db';
import { buildUser } from '../helpers/factories';
import { createTestDatabase, TestDatabase } from '../helpers/testDatabase';
import { TEST_JWT_SECRET, tokenFor } from '../helpers/tokens';

/**
 * A body nested thousands of levels deep, given to the bundled handler called on
 * a Node main thread, as the Lambda runtime calls it (serverless-offline's worker
 * threads have larger stacks and hid a stack overflow there).
 */
const ROOT = path.resolve(__dirname, '..', '..');
const run = promisify(execFile);
let dir: string;
let testDb: TestDatabase;
let db: Database;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'vs-deep-body-'));
  // The esbuild options of serverless.yml (custom.esbuild).
  await build({
    entryPoints: [path.join(ROOT, 'functions/staffApprovals/create.ts')],
    outfile: path.join(dir, 'create.js'),
    bundle: true,
    minify: true,
    keepNames: true,
    platform: 'node',
    target: 'node22',
    external: ['pg-native', '@aws-sdk/*'],
    logLevel: 'silent',
  });
  testDb = await createTestDatabase();
  db = createDatabase({ databaseUrl: testDb.url, caFile: undefined, connectTimeoutMs: 5000 });
}, 120_000);

afterAll(async () => {
  await db?.sequelize.close();
  await testDb?.drop();
  rmSync(dir, { recursive: true, force: true });
});

async function invokeBundled(body: string, token: string) {
  const event = {
    version: '2.0',
    routeKey: 'POST /staff-approval-requests',
    rawPath: '/staff-approval-requests',
    rawQueryString: '',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    requestContext: {
      requestId: 'deep',
      http: { method: 'POST', path: '/staff-approval-requests' },
    },
    body,
    isBase64Encoded: false,
  };
  const script = `
    const { handler } = require('./create.js');
    handler(${JSON.stringify(event)}, { awsRequestId: 'deep' })
      .then((r) => { process.stdout.write(JSON.stringify(r)); process.exit(0); })
      .catch((e) => { console.error(e); process.exit(1); });
  `;
  const { stdout } = await run(process.execPath, ['-e', script], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      STAGE: 'test',
      DATABASE_URL: testDb.url,
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: 'ERROR',
      // stdout carries the answer alone: no EMF line (Powertools' switch).
      POWERTOOLS_METRICS_DISABLED: 'true',
    },
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout) as { statusCode: number; body: string };
}

it.each([
  [
    'details',
    (n: number) => `{"requestType":"deep_one","details":{"a":${'['.repeat(n)}${']'.repeat(n)}}}`,
  ],
  [
    'another field',
    (n: number) => `{"requestType":"deep_one","userId":${'['.repeat(n)}${']'.repeat(n)}}`,
  ],
])(
  'answers 400 to a body whose %s nests 5,000 levels deep',
  async (_where, body) => {
    const user = await buildUser(db.models);
    const res = await invokeBundled(body(5000), await tokenFor(user.id));
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'invalid_request' } });
  },
  60_000,
);
