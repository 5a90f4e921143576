import { httpHandler } from '../../lib/route';
import { readVerification } from '../../lib/verification/service';
import { userIdParam } from './schemas';

/** GET /users/{id}/verification: staff, or that user; anyone else gets the same 404 as an unknown id. */
export const handler = httpHandler(
  { auth: 'user', params: { id: userIdParam } },
  async ({ caller, params, ctx }) => readVerification({ sql: ctx.sql }, caller, params.id),
);
