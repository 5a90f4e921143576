import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import type { Channel } from '../../models/verification';
import type { EventType, OutboxMessage } from './types';

export interface EventRecord {
  userId: number;
  /** Who did it: null for the user themself (or the database). */
  actorId: number | null;
  type: EventType;
  channel: Channel | null;
  /** Never a code or an unmasked address. */
  details: Record<string, unknown>;
  at: Date;
}

/** The actor of an action on `subjectId`'s verification: null when it is their own. */
export const actorFor = (callerId: number, subjectId: number): number | null =>
  callerId === subjectId ? null : callerId;

/**
 * Writes an event (and, for the published types, its outbox row) inside the
 * caller's transaction; the outbox message to publish after the commit, if any.
 */
export async function recordEvent(
  sequelize: Sequelize,
  transaction: Transaction,
  event: EventRecord,
): Promise<OutboxMessage | null> {
  const [row] = await sequelize.query<{ message: OutboxMessage | null }>(
    `SELECT verification_record_event($1::int, $2::int, $3::text, $4::text, $5::jsonb, $6::timestamptz) AS message`,
    {
      bind: [
        event.userId,
        event.actorId,
        event.type,
        event.channel,
        JSON.stringify(event.details),
        event.at.toISOString(),
      ],
      type: QueryTypes.SELECT,
      transaction,
    },
  );
  return row?.message ?? null;
}
