/** A request that cannot be carried out as asked; nothing was changed. */
export class MigrationRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationRequestError';
  }
}

/** Another run held the advisory lock for longer than MIGRATION_LOCK_WAIT_MS. */
export class MigrationLockError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationLockError';
  }
}

/** A migration failed while being planned; the plan's transaction was rolled back. */
export class MigrationPlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationPlanError';
  }
}
