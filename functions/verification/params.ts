import { badRequest } from '../../lib/errors';

/** A path user id: a positive integer in canonical form that fits users.id (int4). */
export function parseUserId(raw: string | undefined): number {
  if (raw === undefined || !/^[1-9][0-9]{0,9}$/.test(raw) || Number(raw) > 2147483647) {
    throw badRequest('id must be a positive integer user id');
  }
  return Number(raw);
}
