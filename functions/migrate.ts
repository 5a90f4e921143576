// Placeholder until the migration runner lands (issue 2).
export const handler = async (): Promise<{ ok: boolean }> => ({ ok: true });
