// Starts a cluster with scripts/embedded-postgres.mjs (found relative to this
// file, so a copy of both runs from another folder), prints
// {"url","pid","scratch","dataDir"} as one JSON line, and stops it when stdin
// closes, printing {"stopped":true}.
//   node embeddedPostgresDriver.mjs [dataDir]
import { startEmbeddedPostgres } from '../../scripts/embedded-postgres.mjs';

const [dataDir] = process.argv.slice(2);
const server = await startEmbeddedPostgres(dataDir ? { dataDir } : {});
const { url, pid, scratch } = server;
process.stdout.write(`${JSON.stringify({ url, pid, scratch, dataDir: server.dataDir })}\n`);
process.stdin.on('end', async () => {
  await server.stop();
  process.stdout.write(`${JSON.stringify({ stopped: true })}\n`);
});
process.stdin.resume();
