import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jwtVerify } from 'jose';
import { Client } from 'pg';
import { createTestDatabase, TestDatabase } from '../helpers/testDatabase';

// npm start prints the staff console's address with the demo staff user's
// token in the fragment (never in the query string). The test stops npm start
// once it has printed it: the console itself is tested in test/browser/.
const ROOT = path.resolve(__dirname, '..', '..');

let testDb: TestDatabase;
let dataDir: string;

beforeAll(async () => {
  testDb = await createTestDatabase();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-start-console-'));
});

afterAll(async () => {
  await testDb?.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** Runs npm start until its output matches `until`, then stops it; returns the output. */
async function startUntil(env: NodeJS.ProcessEnv, until: RegExp): Promise<string> {
  const child = spawn(process.execPath, ['scripts/start.mjs'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  let timer: NodeJS.Timeout | undefined;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    await new Promise<void>((resolve, reject) => {
      const check = (d: Buffer) => {
        out += d.toString();
        if (until.test(out)) resolve();
      };
      child.stdout.on('data', check);
      child.stderr.on('data', check);
      void exited.then(() => reject(new Error(`npm start exited:\n${out}`)));
      timer = setTimeout(
        () => reject(new Error(`npm start printed no console address:\n${out}`)),
        60_000,
      );
    });
  } finally {
    clearTimeout(timer);
    // npm start and the serverless offline it started share a process group.
    if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    await exited;
  }
  return out;
}

it('prints the console address, signed in as the demo staff user through the fragment', async () => {
  const port = String(20_000 + Math.floor(Math.random() * 10_000));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: testDb.url,
    VS_DATA_DIR: dataDir,
    PORT: port,
    ESBUILD_WORK_FOLDER: path.join(dataDir, 'esbuild'),
  };
  for (const name of ['AUTH_JWT_SECRET', 'AUTH_JWKS_URL', 'AUTH_ISSUER', 'AUTH_AUDIENCE']) {
    delete env[name];
  }
  const out = await startUntil(env, /\/console#token=\S+\n/);

  const match = /staff console, signed in as the demo staff user:\n\s+(\S+)\n/.exec(out);
  expect(match).not.toBeNull();
  const url = new URL(match?.[1] as string);
  expect(`${url.origin}${url.pathname}${url.search}`).toBe(`http://localhost:${port}/console`);
  const token = new URLSearchParams(url.hash.slice(1)).get('token') as string;

  // The token is the demo staff user's, signed with the secret the local API verifies with.
  const client = new Client({ connectionString: testDb.url });
  await client.connect();
  const staff = await client
    .query<{ id: number; role: string }>(
      "SELECT id, role FROM users WHERE email = 'staff@example.com'",
    )
    .finally(() => client.end());
  expect(staff.rows[0]?.role).toBe('staff');
  const secret = fs.readFileSync(path.join(dataDir, 'dev-jwt-secret'), 'utf8').trim();
  const { payload } = await jwtVerify(token, new TextEncoder().encode(secret));
  expect(payload.sub).toBe(String(staff.rows[0]?.id));
  expect(out).toContain(`export STAFF_TOKEN=${token}`);
});
