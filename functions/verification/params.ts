import { badRequest } from '../../lib/errors';

/** A path user id: a positive integer in canonical form that fits users.id (int4). */
export function parseUserId(raw: string | undefined): number {
  if (raw === undefined || !/^[1-9][0-9]{0,9}$/.test(raw) || Number(raw) > 2147483647) {
    throw badRequest(
      'The path parameter id must be a user id: a whole number from 1 to 2147483647',
    );
  }
  return Number(raw);
}
