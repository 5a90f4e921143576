import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { handler } from '../../functions/migrate';
import { logger } from '../../lib/logger';
import { captureEmf } from '../helpers/emf';
import {
  ALL_MIGRATIONS,
  LATEST,
  newestFirst,
  ADD_VERIFICATION,
  CREATE_USERS,
  metaRows,
  migrationFixtures,
  schemaSnapshot,
} from './helpers';

const fixtures = migrationFixtures();
const ALL = ALL_MIGRATIONS;

interface Received {
  method: string | undefined;
  contentType: string | undefined;
  body: Record<string, unknown>;
}

/** A stand-in for CloudFormation's pre-signed response URL. */
let server: http.Server;
let received: Received[] = [];
let responseUrl: string;

/** Calls the handler with DATABASE_URL set to `url` (the helpers keep using the server's URL). */
async function invoke(url: string, event: unknown) {
  const serverUrl = process.env.DATABASE_URL;
  process.env.DATABASE_URL = url;
  try {
    return await handler(event);
  } finally {
    process.env.DATABASE_URL = serverUrl;
  }
}

beforeAll(async () => {
  logger.setLogLevel('SILENT');
  server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (chunk) => (data += chunk));
    req.on('end', () => {
      received.push({
        method: req.method,
        contentType: req.headers['content-type'],
        body: JSON.parse(data) as Record<string, unknown>,
      });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  responseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cfn-response?sig=x`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await fixtures.cleanup();
});

beforeEach(() => {
  received = [];
});

function customResourceEvent(requestType: 'Create' | 'Update' | 'Delete') {
  return {
    RequestType: requestType,
    ServiceToken:
      'arn:aws:lambda:eu-west-1:123456789012:function:verification-service-prod-migrate',
    ResponseURL: responseUrl,
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/verification-service-prod/guid',
    RequestId: `request-${requestType}`,
    LogicalResourceId: 'DatabaseMigrations',
    ResourceType: 'Custom::DatabaseMigrations',
    ResourceProperties: { ServiceToken: 'x', Version: '1' },
    ...(requestType === 'Create'
      ? {}
      : { PhysicalResourceId: 'DatabaseMigrations-database-migrations' }),
  };
}

describe('migrate handler, direct invocation', () => {
  it('takes an empty event as up and returns the result', async () => {
    const url = await fixtures.emptyDatabase();
    const result = await invoke(url, {});
    expect(result).toMatchObject({ command: 'up', ran: ALL, executed: ALL, pending: [] });
    expect(await invoke(url, { command: 'status' })).toMatchObject({ command: 'status', ran: [] });
  });

  it('stamps forward and back without running anything', async () => {
    const url = await fixtures.emptyDatabase();
    const schema = await schemaSnapshot(url);
    expect(await invoke(url, { command: 'stamp' })).toMatchObject({
      command: 'stamp',
      ran: ALL,
      executed: ALL,
      pending: [],
    });
    expect(await invoke(url, { command: 'stamp', to: CREATE_USERS })).toMatchObject({
      ran: newestFirst(ALL.slice(1)),
      executed: [CREATE_USERS],
    });
    expect(await invoke(url, { command: 'stamp', to: 'base' })).toMatchObject({
      ran: [CREATE_USERS],
      executed: [],
      pending: ALL,
    });
    expect(await metaRows(url)).toEqual([]);
    expect(await schemaSnapshot(url)).toEqual(schema);
  });

  it.each([
    [{ command: 'rollback' }, /Unknown command/],
    [{ command: 'stamp', to: 'nope.cjs' }, /Unknown migration/],
    [{ command: 'down', to: 'base' }, /is for stamp only/],
    [{ command: 'up', to: 'nope.cjs' }, /Unknown migration/],
    [{ command: 'down', to: ADD_VERIFICATION }, /is not executed/],
  ])('throws for %j and changes nothing', async (event, message) => {
    const url = await fixtures.emptyDatabase();
    await invoke(url, { command: 'up', to: CREATE_USERS });
    const before = { meta: await metaRows(url), schema: await schemaSnapshot(url) };
    await expect(invoke(url, event)).rejects.toThrow(message);
    expect({ meta: await metaRows(url), schema: await schemaSnapshot(url) }).toEqual(before);
  });

  it('throws a configuration error naming DATABASE_URL when it is missing', async () => {
    await expect(invoke('', { command: 'status' })).rejects.toThrow(/DATABASE_URL is required/);
  });
});

describe('migrate handler, CloudFormation custom resource', () => {
  it('Create runs up and answers SUCCESS before returning', async () => {
    const url = await fixtures.emptyDatabase();
    await expect(invoke(url, customResourceEvent('Create'))).resolves.toBeUndefined();
    expect(received).toEqual([
      {
        method: 'PUT',
        contentType: '',
        body: {
          Status: 'SUCCESS',
          PhysicalResourceId: 'DatabaseMigrations-database-migrations',
          StackId: expect.stringContaining(':stack/verification-service-prod/'),
          RequestId: 'request-Create',
          LogicalResourceId: 'DatabaseMigrations',
          Data: { Ran: String(ALL.length), Latest: LATEST },
        },
      },
    ]);
    expect(await metaRows(url)).toEqual(ALL);

    received = [];
    await invoke(url, customResourceEvent('Update'));
    expect(received[0]?.body).toMatchObject({
      Status: 'SUCCESS',
      RequestId: 'request-Update',
      Data: { Ran: '0', Latest: LATEST },
    });
  });

  it('answers FAILED with the reason, and does not throw, when migrations cannot run', async () => {
    const url = await fixtures.emptyDatabase();
    const missing = new URL(url);
    missing.pathname = '/no_such_database_for_migrations';
    await expect(
      invoke(missing.toString(), customResourceEvent('Create')),
    ).resolves.toBeUndefined();
    expect(received).toHaveLength(1);
    expect(received[0]?.body).toMatchObject({
      Status: 'FAILED',
      Reason: expect.stringContaining('no_such_database_for_migrations'),
      RequestId: 'request-Create',
      LogicalResourceId: 'DatabaseMigrations',
      PhysicalResourceId: 'DatabaseMigrations-database-migrations',
    });
    expect(await metaRows(url)).toBeNull();
  });

  it('answers FAILED for a configuration error', async () => {
    await expect(invoke('', customResourceEvent('Update'))).resolves.toBeUndefined();
    expect(received[0]?.body).toMatchObject({
      Status: 'FAILED',
      Reason: expect.stringContaining('DATABASE_URL'),
    });
  });

  it('Delete answers SUCCESS and leaves the database alone', async () => {
    const url = await fixtures.emptyDatabase();
    await invoke(url, { command: 'up' });
    const before = { meta: await metaRows(url), schema: await schemaSnapshot(url) };
    await expect(invoke(url, customResourceEvent('Delete'))).resolves.toBeUndefined();
    expect(received[0]?.body).toMatchObject({
      Status: 'SUCCESS',
      RequestId: 'request-Delete',
      PhysicalResourceId: 'DatabaseMigrations-database-migrations',
    });
    expect({ meta: await metaRows(url), schema: await schemaSnapshot(url) }).toEqual(before);
  });
});

describe('a failed migration run is counted (MigrationFailed, for the alarm)', () => {
  const failures = (emf: Awaited<ReturnType<typeof captureEmf>>['emf']) =>
    emf.filter((line) => 'MigrationFailed' in line).map((line) => line.MigrationFailed);

  beforeEach(() => {
    received = [];
  });

  it('when a run throws, and when a custom-resource run answers FAILED instead; not when it succeeds', async () => {
    const url = await fixtures.emptyDatabase();
    const thrown = await captureEmf(() =>
      invoke(url, { command: 'down', to: CREATE_USERS }).then(
        () => 'resolved',
        () => 'threw',
      ),
    );
    expect(thrown.result).toBe('threw');
    expect(failures(thrown.emf)).toEqual([1]);

    const missing = new URL(url);
    missing.pathname = '/no_such_database_for_migrations';
    const answered = await captureEmf(() =>
      invoke(missing.toString(), customResourceEvent('Create')),
    );
    expect(received[0]?.body).toMatchObject({ Status: 'FAILED' });
    expect(failures(answered.emf)).toEqual([1]);

    const ok = await captureEmf(() => invoke(url, { command: 'status' }));
    expect(failures(ok.emf)).toEqual([]);
  });
});
