#!/usr/bin/env node
// npm run token -- <userId> [expiresIn]: prints a bearer token for the local API.
import { devToken } from './dev-env.mjs';

const [userId, expiresIn] = process.argv.slice(2);
if (!userId || !/^[1-9]\d*$/.test(userId)) {
  console.error('usage: npm run token -- <userId> [expiresIn, e.g. 12h]');
  process.exit(2);
}
console.log(await devToken(userId, expiresIn ? { expiresIn } : {}));
