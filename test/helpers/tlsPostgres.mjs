// A throwaway PostgreSQL with ssl=on, for the TLS tests. Run as a child process
// (scripts/embedded-postgres.mjs is ESM, Jest runs CommonJS):
//   node tlsPostgres.mjs <server.crt> <server.key>
// prints {"port": N} once it accepts connections, and stops on SIGTERM or when
// its stdin closes.
import fs from 'node:fs';
import path from 'node:path';
import { startEmbeddedPostgres } from '../../scripts/embedded-postgres.mjs';

const [certFile, keyFile] = process.argv.slice(2);
const server = await startEmbeddedPostgres({
  handleSignals: false,
  // Relative paths are relative to the data folder.
  postgresFlags: [
    '-c',
    'ssl=on',
    '-c',
    'ssl_cert_file=server.crt',
    '-c',
    'ssl_key_file=server.key',
  ],
  afterInit(dataDir, account) {
    // The server runs as the data folder's owner and wants its key private to it.
    for (const [from, name] of [
      [certFile, 'server.crt'],
      [keyFile, 'server.key'],
    ]) {
      const to = path.join(dataDir, name);
      fs.copyFileSync(from, to);
      fs.chmodSync(to, 0o600);
      if (account) fs.chownSync(to, account.uid, account.gid);
    }
  },
});
process.stdout.write(`${JSON.stringify({ port: server.port })}\n`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.stop();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
