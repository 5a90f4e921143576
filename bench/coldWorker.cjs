'use strict';
// One cold start in a fresh process: time `require` of a bundled handler, then
// (when an event is given) its first request. Prints one JSON line, with the
// minor page faults of each (memory the process touched for the first time).
//   node bench/coldWorker.cjs <handler.js> <exportName> [event.json]
const fs = require('fs');

const [file, exportName, eventFile] = process.argv.slice(2);
const faults = () => process.resourceUsage().minorPageFault;
const faultsBefore = faults();
const started = process.hrtime.bigint();
const mod = require(file);
const loadMs = Number(process.hrtime.bigint() - started) / 1e6;
const loadFaults = faults() - faultsBefore;

async function main() {
  const result = { loadMs, loadFaults };
  if (eventFile) {
    const event = JSON.parse(fs.readFileSync(eventFile, 'utf8'));
    const context = {
      awsRequestId: 'cold',
      functionName: 'bench',
      getRemainingTimeInMillis: () => 10000,
    };
    const before = faults();
    const t = process.hrtime.bigint();
    const response = await mod[exportName](event, context);
    result.firstRequestMs = Number(process.hrtime.bigint() - t) / 1e6;
    result.firstRequestFaults = faults() - before;
    result.statusCode = response && response.statusCode;
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
  // Lambda would freeze the container here; end instead of waiting for idle pools.
  process.exit(0);
}

main().catch((err) => {
  process.stdout.write(`${JSON.stringify({ loadMs, error: String(err && err.stack) })}\n`);
  process.exit(1);
});
