import type { Database } from '../../lib/db';
import { ApiCall, expectErrorShape } from '../helpers/api';
import { ApiStack, startApiStackWithWebhook } from '../helpers/apiStack';
import { buildUser, unique } from '../helpers/factories';
import { tokenFor } from '../helpers/tokens';
import type { WebhookCapture } from '../helpers/webhookCapture';

// Revocation and the history endpoints over HTTP, through serverless-offline.

let stack: ApiStack & { webhook: WebhookCapture };
let db: Database;
let api: ApiCall;
let webhook: WebhookCapture;

beforeAll(async () => {
  stack = await startApiStackWithWebhook({
    VERIFICATION_CODE_PEPPER: 'e2e-events-pepper-0123456789abcdef',
  });
  ({ db, api, webhook } = stack);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

async function person(role: 'user' | 'staff' = 'user') {
  const user = await buildUser(db.models, { email: `e2e-ev-${unique()}@example.com`, role });
  return { user, token: await tokenFor(user.id) };
}

interface Page {
  items: { id: string; type: string; channel: string | null; actorId: number | null }[];
  nextCursor: string | null;
}

describe('history and revocation over HTTP', () => {
  it('a user reads their own history newest first; staff revoke; the history tells it', async () => {
    const { user, token } = await person();
    const { user: staff, token: staffToken } = await person('staff');
    expect(
      (await api('POST', '/verification/codes', { token, body: { channel: 'email' } })).status,
    ).toBe(201);
    const code = webhook.codeFor(user.email as string);
    expect(
      (await api('POST', '/verification/verify', { token, body: { channel: 'email', code } }))
        .status,
    ).toBe(200);

    const revoked = await api('POST', `/users/${user.id}/verification/revoke`, {
      token: staffToken,
      body: { channel: 'email', reason: 'the mailbox was taken over' },
    });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ userId: user.id, isEmailVerified: false });
    expectErrorShape(
      await api('POST', `/users/${user.id}/verification/revoke`, {
        token: staffToken,
        body: { channel: 'email', reason: 'again' },
      }),
      409,
      'not_verified',
    );

    const mine = await api<Page>('GET', '/users/me/verification/events', { token });
    expect(mine.status).toBe(200);
    expect(mine.body.items.map((i) => [i.type, i.actorId])).toEqual([
      ['status_changed', staff.id],
      ['verification_revoked', staff.id],
      ['status_changed', null],
      ['code_verified', null],
      ['code_sent', null],
    ]);

    // Two at a time, with the cursor; the same events.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `&cursor=${cursor}` : '';
      const page = await api<Page>('GET', `/users/${user.id}/verification/events?limit=2${query}`, {
        token: staffToken,
      });
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((i) => i.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(mine.body.items.map((i) => i.id));

    const filtered = await api<Page>('GET', '/users/me/verification/events?type=status_changed', {
      token,
    });
    expect(filtered.body.items).toHaveLength(2);
  });

  it('answers 403, 400 and 404 as documented', async () => {
    const { user, token } = await person();
    const { user: staff, token: staffToken } = await person('staff');
    const { user: other } = await person();

    expectErrorShape(
      await api('GET', `/users/${other.id}/verification/events`, { token }),
      403,
      'forbidden',
    );
    expect((await api('GET', `/users/${user.id}/verification/events`, { token })).status).toBe(200);
    expectErrorShape(
      await api('GET', '/users/2147483000/verification/events', { token: staffToken }),
      404,
      'not_found',
    );
    for (const query of ['type=nope', 'limit=0', 'limit=101', 'cursor=%21%21', 'extra=1']) {
      expectErrorShape(
        await api('GET', `/users/me/verification/events?${query}`, { token }),
        400,
        'invalid_request',
      );
    }

    const revoke = (who: string, id: number, body: unknown) =>
      api('POST', `/users/${id}/verification/revoke`, { token: who, body });
    expectErrorShape(
      await revoke(token, other.id, { channel: 'email', reason: 'x' }),
      403,
      'forbidden',
    );
    expectErrorShape(
      await revoke(staffToken, staff.id, { channel: 'email', reason: 'x' }),
      403,
      'self_review',
    );
    for (const body of [
      { channel: 'email' },
      { channel: 'email', reason: '' },
      { channel: 'email', reason: '   ' },
      { channel: 'email', reason: 'r'.repeat(2001) },
      { channel: 'fax', reason: 'x' },
      { reason: 'x' },
    ]) {
      expectErrorShape(await revoke(staffToken, user.id, body), 400, 'invalid_request');
    }
    expectErrorShape(
      await revoke(staffToken, 2147483000, { channel: 'email', reason: 'x' }),
      404,
      'not_found',
    );
    expectErrorShape(
      await revoke(staffToken, user.id, { channel: 'phone', reason: 'x' }),
      409,
      'not_verified',
    );
  });
});
