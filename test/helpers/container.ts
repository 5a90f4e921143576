/**
 * One "Lambda container": a fresh Node process that loads a handler module and
 * invokes it with API Gateway v2 events read as JSON lines on stdin, answering each
 * with a JSON line on stdout. Tests start several to act as concurrent containers.
 *   tsx test/helpers/container.ts <handler module path>
 */
import path from 'node:path';
import readline from 'node:readline';

export const ANSWER_MARK = '@@container ';

async function main(): Promise<void> {
  const modulePath = process.argv[2];
  if (!modulePath) throw new Error('usage: container.ts <handler module>');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(path.resolve(modulePath)) as {
    handler: (event: unknown, context: unknown) => Promise<unknown>;
  };
  process.stdout.write(`${ANSWER_MARK}${JSON.stringify({ ready: true })}\n`);
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    const started = Date.now();
    const result = await mod.handler(JSON.parse(line), { awsRequestId: 'container' });
    process.stdout.write(`${ANSWER_MARK}${JSON.stringify({ result, ms: Date.now() - started })}\n`);
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  });
}
