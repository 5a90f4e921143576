import { DatabaseError } from 'sequelize';
import { errorResponse } from '../../lib/http';
import { errorForLog, logger } from '../../lib/logger';
import {
  databaseSettings,
  envForStartCheck,
  healthCacheSeconds,
  stageOf,
} from '../../lib/settings';
import { deliverySettings } from '../../lib/verification/settings';

// The settings rules of the security baseline, one describe per rule.

describe('production by default', () => {
  it.each(['prod', 'production', 'staging', 'prd', 'PROD', 'qa'])('%s is production', (stage) => {
    expect(stageOf({ STAGE: stage }).isProduction).toBe(true);
  });

  it.each(['dev', 'local', 'test', 'ci', 'DEV'])('%s is not production', (stage) => {
    expect(stageOf({ STAGE: stage }).isProduction).toBe(false);
  });

  it('is dev, not production, when STAGE is unset', () => {
    expect(stageOf({})).toEqual({ stage: 'dev', isProduction: false });
  });

  it('exempts the stages listed in NON_PRODUCTION_STAGES, and only those', () => {
    const env = { NON_PRODUCTION_STAGES: 'bench, Sandbox' };
    expect(stageOf({ ...env, STAGE: 'bench' }).isProduction).toBe(false);
    expect(stageOf({ ...env, STAGE: 'sandbox' }).isProduction).toBe(false);
    expect(stageOf({ ...env, STAGE: 'staging' }).isProduction).toBe(true);
  });
});

describe('transport on production', () => {
  const prod = { STAGE: 'prod' };

  it.each([
    ['postgres://u:p@db.example.com/app', 'none'],
    ['postgres://u:p@db.example.com/app?sslmode=disable', 'disable'],
    ['postgres://u:p@db.example.com/app?sslmode=prefer', 'prefer'],
  ])('refuses DATABASE_URL %s, naming the setting', (url, got) => {
    expect(() => databaseSettings({ ...prod, DATABASE_URL: url })).toThrow(
      `Configuration error: DATABASE_URL must ask for TLS on a production stage (sslmode=require, verify-ca or verify-full; got ${got})`,
    );
  });

  it.each(['require', 'verify-ca', 'verify-full'])('accepts sslmode=%s', (mode) => {
    const url = `postgres://u:p@db.example.com/app?sslmode=${mode}`;
    expect(databaseSettings({ ...prod, DATABASE_URL: url }).databaseUrl).toBe(url);
  });

  it('accepts a plain connection off production', () => {
    expect(() => databaseSettings({ DATABASE_URL: 'postgres://u@h/db' })).not.toThrow();
  });

  it('defers the check of a DATABASE_URL_SECRET_ID to when the secret is read', () => {
    const env = { ...prod, DATABASE_URL_SECRET_ID: 'prod/db' };
    expect(() => databaseSettings(envForStartCheck(env))).not.toThrow();
    // What the resolved secret then gives (runtimeEnv) is checked the same way.
    expect(() => databaseSettings({ ...prod, DATABASE_URL: 'postgres://u@h/db' })).toThrow(
      /DATABASE_URL must ask for TLS/,
    );
  });

  it('refuses an http:// CODE_WEBHOOK_URL on production only', () => {
    const env = { CODE_DELIVERY: 'webhook', CODE_WEBHOOK_URL: 'http://hooks.example.com/codes' };
    expect(() => deliverySettings(env, true)).toThrow(
      'Configuration error: CODE_WEBHOOK_URL must be an https:// URL on a production stage',
    );
    expect(deliverySettings(env, false).webhookUrl).toBe(env.CODE_WEBHOOK_URL);
    const https = { ...env, CODE_WEBHOOK_URL: 'https://hooks.example.com/codes' };
    expect(deliverySettings(https, true).webhookUrl).toBe(https.CODE_WEBHOOK_URL);
  });
});

describe('error logs', () => {
  const ADDRESS = 'carol@example.com';
  const databaseError = () => {
    const pgError = Object.assign(new Error('duplicate key value violates unique constraint'), {
      code: '23505',
      constraint: 'users_email_key',
      detail: `Key (email)=(${ADDRESS}) already exists.`,
    });
    const err = new DatabaseError(pgError as never);
    Object.assign(err, {
      sql: 'UPDATE users SET email = $1 WHERE id = $2',
      parameters: [ADDRESS, 7],
    });
    return err;
  };

  it('keep the SQL text, SQLSTATE and constraint of a database error, never its values', () => {
    const logged = JSON.stringify(errorForLog(databaseError()));
    expect(logged).not.toContain(ADDRESS);
    expect(JSON.parse(logged)).toMatchObject({
      code: '23505',
      constraint: 'users_email_key',
      sql: 'UPDATE users SET email = $1 WHERE id = $2',
    });
  });

  it('of an unhandled error in a request carry no SQL parameter', () => {
    // What reaches the logger is a plain object: Powertools writes it as given.
    const spy = jest.spyOn(logger, 'error').mockImplementation(() => undefined);
    let output: string;
    try {
      const res = errorResponse(databaseError(), 'req-1');
      expect(res.statusCode).toBe(500);
      output = JSON.stringify(spy.mock.calls);
    } finally {
      spy.mockRestore();
    }
    expect(output).toContain('unhandled error');
    expect(output).toContain('users_email_key');
    expect(output).not.toContain(ADDRESS);
  });
});

describe('health check reuse', () => {
  it('reuses a check for 5 seconds by default; 0 turns it off; a bad value names the setting', () => {
    expect(healthCacheSeconds({})).toBe(5);
    expect(healthCacheSeconds({ HEALTH_CACHE_SECONDS: '0' })).toBe(0);
    expect(healthCacheSeconds({ HEALTH_CACHE_SECONDS: '30' })).toBe(30);
    for (const bad of ['-1', 'five', '2.5', '61']) {
      expect(() => healthCacheSeconds({ HEALTH_CACHE_SECONDS: bad })).toThrow(
        /HEALTH_CACHE_SECONDS/,
      );
    }
  });
});
