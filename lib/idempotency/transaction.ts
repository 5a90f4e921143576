import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { sequelizeSqlPool } from '../db';
import { withSession } from '../sql';
import { keyInUse, type IdempotentRequest } from './request';
import { claimKey, RECORD_SQL, recordValues } from './store';

/**
 * `sequelize.transaction(work)` for a keyed request: the key is claimed first
 * (or the request is answered from it), and the answer — what `work` returns,
 * with the route's success status — is written over the claim inside the same
 * transaction as the effect, so the two commit together. Without a key it is
 * `sequelize.transaction(work)`.
 */
export async function idempotentTransaction<T>(
  sequelize: Sequelize,
  idem: IdempotentRequest | undefined,
  now: Date,
  work: (transaction: Transaction) => Promise<T>,
): Promise<T> {
  if (!idem) return sequelize.transaction(work);
  await withSession(sequelizeSqlPool(sequelize), (sql) => claimKey(sql, idem, now));
  const result = await sequelize.transaction(async (transaction) => {
    const value = await work(transaction);
    const answer = { status: idem.successStatus, body: JSON.stringify(value), retryAfter: null };
    const stored = await sequelize.query(RECORD_SQL, {
      bind: recordValues(idem, now, 'done', answer),
      type: QueryTypes.SELECT,
      transaction,
    });
    // The claim was taken over (this request outlived its lease): the effect
    // must not commit without its answer.
    if (stored.length !== 1) throw keyInUse();
    return value;
  });
  idem.recorded = true;
  return result;
}
