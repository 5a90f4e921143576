/**
 * The staff maker-checker queue (SPEC §4, §5): users file approval requests,
 * staff other than the requester and the subject approve or reject them, and
 * the requester may cancel. The rules of who may do what are lib/policies.ts;
 * this module is the service's public face:
 * - create.ts: filing a request (one pending per subject and type);
 * - read.ts: one request, and keyset pages of them (cursor.ts);
 * - decide.ts: approve, reject and cancel, each one conditional UPDATE;
 * - rows.ts: the table's columns and their JSON; types.ts: inputs and outputs.
 */
export { createRequest } from './create';
export { encodeCursor } from './cursor';
export { cancelRequest, decideRequest } from './decide';
export { getRequest, listRequests } from './read';
export { toJson } from './rows';
export * from './types';
export type { Caller } from '../policies';
