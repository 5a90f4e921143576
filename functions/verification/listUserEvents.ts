import { httpHandler } from '../../lib/route';
import { listEvents } from '../../lib/verification/history';
import { eventsQuery, userIdParam } from './schemas';

/** GET /users/{id}/verification/events: staff, or that user; anyone else 403. */
export const handler = httpHandler(
  { auth: 'user', params: { id: userIdParam }, query: eventsQuery },
  async ({ caller, params, query, ctx }) => listEvents({ sql: ctx.sql }, caller, params.id, query),
);
