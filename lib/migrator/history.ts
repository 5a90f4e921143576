import { QueryTypes, Sequelize, Transaction } from 'sequelize';

/**
 * SequelizeMeta, the history table shared with sequelize-cli: one row per
 * applied migration, named by its file name with the extension. With
 * `migrationTimestamps: true` (config/database.cjs) sequelize-cli gives each row
 * `createdAt` and `updatedAt`; the runner makes and writes the table the same way.
 */
export const META_TABLE = 'SequelizeMeta';

export interface HistoryRow {
  name: string;
  /** When the migration was applied or stamped; null for rows older than the time columns. */
  appliedAt: Date | null;
}

/** SequelizeMeta's column names with their defaults (an empty map when there is no table). */
async function historyColumns(sequelize: Sequelize): Promise<Map<string, string | null>> {
  const rows = await sequelize.query<{ column_name: string; column_default: string | null }>(
    `SELECT column_name, column_default FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = $1`,
    { bind: [META_TABLE], type: QueryTypes.SELECT, logging: false },
  );
  return new Map(rows.map((r) => [r.column_name, r.column_default]));
}

/** The names in SequelizeMeta, oldest file first, without creating the table. */
export async function readExecuted(sequelize: Sequelize): Promise<string[]> {
  return (await readHistory(sequelize)).map((row) => row.name);
}

/** SequelizeMeta with the time of each row, without creating or changing anything. */
export async function readHistory(sequelize: Sequelize): Promise<HistoryRow[]> {
  const columns = await historyColumns(sequelize);
  if (columns.size === 0) return [];
  const time = columns.has('createdAt') ? '"createdAt"' : 'NULL::timestamptz';
  return sequelize.query<HistoryRow>(
    `SELECT name, ${time} AS "appliedAt" FROM "${META_TABLE}" ORDER BY name`,
    { type: QueryTypes.SELECT, logging: false },
  );
}

/**
 * Creates SequelizeMeta as sequelize-cli does, or gives one made without
 * timestamps (sequelize-cli's default configuration) its `createdAt` and
 * `updatedAt` columns. Both columns default to now(), so that either tool,
 * configured either way, can write a row. Rows already there keep a null time:
 * nobody knows when they ran.
 */
export async function prepareHistoryTable(sequelize: Sequelize): Promise<void> {
  const columns = await historyColumns(sequelize);
  if (columns.size === 0) {
    await sequelize.query(
      `CREATE TABLE IF NOT EXISTS "${META_TABLE}" (
         name VARCHAR(255) NOT NULL PRIMARY KEY,
         "createdAt" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
         "updatedAt" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
       )`,
    );
    return;
  }
  const missing = ['createdAt', 'updatedAt'].filter((c) => !columns.get(c)?.includes('now()'));
  if (missing.length === 0) return;
  await sequelize.transaction(async (transaction) => {
    for (const column of missing) {
      await sequelize.query(
        `ALTER TABLE "${META_TABLE}" ADD COLUMN IF NOT EXISTS "${column}" TIMESTAMP WITH TIME ZONE`,
        { transaction },
      );
      await sequelize.query(
        `ALTER TABLE "${META_TABLE}" ALTER COLUMN "${column}" SET DEFAULT now()`,
        { transaction },
      );
    }
  });
}

/** Writes a history row, in `transaction` when given. */
export async function recordRow(
  sequelize: Sequelize,
  name: string,
  transaction: Transaction | undefined,
): Promise<void> {
  await sequelize.query(
    `INSERT INTO "${META_TABLE}" (name, "createdAt", "updatedAt") VALUES ($1, now(), now())`,
    { bind: [name], transaction: transaction ?? null },
  );
}

/** Deletes a history row, in `transaction` when given. */
export async function deleteRow(
  sequelize: Sequelize,
  name: string,
  transaction: Transaction | undefined,
): Promise<void> {
  await sequelize.query(`DELETE FROM "${META_TABLE}" WHERE name = $1`, {
    bind: [name],
    transaction: transaction ?? null,
  });
}
