import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDatabaseUrl, sequelizeOptions } from '../../lib/connection.cjs';

const URL_BASE = 'postgres://app:pa%40ss@db.example.com:6432/verification';

describe('sslmode → node-pg ssl options (libpq meanings)', () => {
  let dir: string;
  let caFile: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'vs-ca-'));
    caFile = path.join(dir, 'bundle.pem');
    writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('takes the URL apart, decoding the password', () => {
    expect(parseDatabaseUrl(URL_BASE)).toEqual({
      host: 'db.example.com',
      port: 6432,
      database: 'verification',
      username: 'app',
      password: 'pa@ss',
      ssl: false,
    });
  });

  it('disable, allow, prefer and no sslmode: no TLS', () => {
    for (const mode of ['disable', 'allow', 'prefer']) {
      expect(parseDatabaseUrl(`${URL_BASE}?sslmode=${mode}`).ssl).toBe(false);
    }
  });

  it('require: encrypts without checking the certificate, whatever the CA file', () => {
    expect(parseDatabaseUrl(`${URL_BASE}?sslmode=require`, { caFile }).ssl).toEqual({
      rejectUnauthorized: false,
    });
  });

  it('verify-full: checks chain and host name against DATABASE_CA_FILE', () => {
    const ssl = parseDatabaseUrl(`${URL_BASE}?sslmode=verify-full`, { caFile }).ssl;
    expect(ssl).toEqual({ rejectUnauthorized: true, ca: expect.stringContaining('fake') });
    expect(ssl && 'checkServerIdentity' in ssl).toBe(false);
  });

  it('verify-full without a CA file: checks against the system trust store', () => {
    expect(parseDatabaseUrl(`${URL_BASE}?sslmode=verify-full`).ssl).toEqual({
      rejectUnauthorized: true,
    });
  });

  it('verify-ca: checks the chain, skips the host name', () => {
    const ssl = parseDatabaseUrl(`${URL_BASE}?sslmode=verify-ca`, { caFile }).ssl;
    expect(ssl).toMatchObject({ rejectUnauthorized: true, ca: expect.stringContaining('fake') });
    if (!ssl) throw new Error('expected TLS options');
    expect(ssl.checkServerIdentity?.('other.host', {} as never)).toBeUndefined();
  });

  it('passes the TLS options to Sequelize (which would drop sslmode itself)', () => {
    const opts = sequelizeOptions(`${URL_BASE}?sslmode=require`);
    expect(opts.dialectOptions.ssl).toEqual({ rejectUnauthorized: false });
  });

  it('names the setting, never the password, when something is wrong', () => {
    const errors = [
      () => parseDatabaseUrl(`${URL_BASE}?sslmode=verify-everything`),
      () => parseDatabaseUrl(`${URL_BASE}?sslmode=verify-full`, { caFile: path.join(dir, 'none') }),
      () => parseDatabaseUrl('mysql://app:pa%40ss@h/db'),
      () => parseDatabaseUrl('not a url pa@ss'),
    ].map((fn) => {
      try {
        fn();
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error('expected an error');
    });
    expect(errors[0]).toMatch(/^DATABASE_URL has an unknown sslmode "verify-everything"/);
    expect(errors[1]).toMatch(/^DATABASE_CA_FILE cannot be read: .*none \(ENOENT\)/);
    expect(errors[2]).toMatch(/^DATABASE_URL must start with postgres:\/\//);
    expect(errors[3]).toMatch(/^DATABASE_URL is not a valid URL/);
    for (const message of errors) expect(message).not.toMatch(/pa@ss|pa%40ss/);
  });
});
