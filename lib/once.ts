/**
 * An async value built once per container on first use. A failed build is not
 * kept, so the next call tries again (a database or secret store that was briefly
 * unreachable does not poison the container).
 */
export function onceAsync<T>(build: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= build().catch((err: unknown) => {
      pending = undefined;
      throw err;
    });
    return pending;
  };
}
