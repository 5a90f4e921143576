/**
 * The process environment as the settings modules read it. A module of its own
 * so that settings.ts and secrets.ts, which need each other's values, share
 * the type without importing each other.
 */
export type Env = Record<string, string | undefined>;
