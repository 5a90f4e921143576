// Local development settings kept under .data/ so that tokens and data survive
// restarts of `npm start`. Nothing here is used on a deployed stage.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Local state: .data/ in the project, or VS_DATA_DIR (tests use a folder of their own). */
export const DATA_DIR = process.env.VS_DATA_DIR
  ? path.resolve(process.env.VS_DATA_DIR)
  : path.join(ROOT, '.data');

/** A random value generated once and stored in .data/<name>. */
export function persistentSecret(name, bytes = 32) {
  fs.mkdirSync(DATA_DIR, { recursive: true });
  const file = path.join(DATA_DIR, name);
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  const value = randomBytes(bytes).toString('base64url');
  fs.writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return value;
}

/** The HS256 secret of local runs: AUTH_JWT_SECRET, or one kept in .data/. */
export function devJwtSecret() {
  return process.env.AUTH_JWT_SECRET || persistentSecret('dev-jwt-secret');
}

/** A bearer token for a user id, signed the way the local API verifies it. */
export async function devToken(userId, { expiresIn = '12h' } = {}) {
  const claim = process.env.AUTH_USER_ID_CLAIM || 'sub';
  const jwt = new SignJWT(claim === 'sub' ? {} : { [claim]: String(userId) })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime(expiresIn);
  if (claim === 'sub') jwt.setSubject(String(userId));
  if (process.env.AUTH_ISSUER) jwt.setIssuer(process.env.AUTH_ISSUER);
  if (process.env.AUTH_AUDIENCE) jwt.setAudience(process.env.AUTH_AUDIENCE);
  return jwt.sign(new TextEncoder().encode(devJwtSecret()));
}
