import { httpHandler } from '../../lib/route';
import { listEvents } from '../../lib/verification/history';
import { eventsQuery } from './schemas';

/** GET /users/me/verification/events: the caller's own verification history. */
export const handler = httpHandler(
  { auth: 'user', query: eventsQuery },
  async ({ caller, query, ctx }) => listEvents({ sql: ctx.sql }, caller, caller.id, query),
);
