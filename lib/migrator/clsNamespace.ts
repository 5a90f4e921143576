import { AsyncLocalStorage } from 'node:async_hooks';
import { Sequelize } from 'sequelize';

/**
 * The part of a cls-hooked namespace that Sequelize v6 uses (`Sequelize.useCLS`):
 * `run` opens a context (sequelize.transaction(cb) runs `cb` inside it), `set`
 * stores the transaction there, `get` is read by every query and model call that
 * has no explicit `transaction` option, and `bind` is only checked for.
 * Built on AsyncLocalStorage, so no extra dependency.
 */
export class AsyncLocalNamespace {
  private readonly storage = new AsyncLocalStorage<Map<string, unknown>>();

  get(key: string): unknown {
    return this.storage.getStore()?.get(key);
  }

  set<T>(key: string, value: T): T {
    this.storage.getStore()?.set(key, value);
    return value;
  }

  /** Runs `fn` synchronously in a child context (inheriting the current values), as cls-hooked does. */
  run<T>(fn: (context: Map<string, unknown>) => T): Map<string, unknown> {
    const context = new Map(this.storage.getStore() ?? []);
    this.storage.run(context, () => fn(context));
    return context;
  }

  bind<F extends (...args: never[]) => unknown>(fn: F): F {
    const context = this.storage.getStore();
    if (!context) return fn;
    return ((...args: Parameters<F>) => this.storage.run(context, () => fn(...args))) as F;
  }
}

let installed = false;

/**
 * Makes queries issued inside `sequelize.transaction(async () => ...)` join that
 * transaction without an explicit `transaction` option: migrations written for
 * sequelize-cli call `queryInterface.sequelize.query(sql)` and know nothing of
 * ours. The setting is global to the Sequelize class; it only affects code that
 * already runs inside a managed transaction callback.
 */
export function installTransactionContext(): void {
  if (installed) return;
  Sequelize.useCLS(new AsyncLocalNamespace() as unknown as Parameters<typeof Sequelize.useCLS>[0]);
  installed = true;
}
