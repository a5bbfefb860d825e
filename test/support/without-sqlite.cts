/**
 * Preloaded with `node --require`, makes every SQLite engine unloadable (better-sqlite3, as on a
 * machine where its native build failed, and node:sqlite, as on Node 20, through `require` and
 * through `process.getBuiltinModule`, which answers undefined there): what runs without one can
 * be tested as users meet it.
 */
import Module = require('node:module');

type Load = (request: string, ...rest: unknown[]) => unknown;
const loader = Module as unknown as { _load: Load };
const load = loader._load;
loader._load = function (this: unknown, request: string, ...rest: unknown[]): unknown {
  if (request === 'better-sqlite3' || request === 'node:sqlite') throw Object.assign(new Error(`Cannot find module '${request}'`), { code: 'MODULE_NOT_FOUND' });
  return load.call(this, request, ...rest);
};

const getBuiltinModule = process.getBuiltinModule.bind(process) as (id: string) => unknown;
process.getBuiltinModule = ((id: string) => (id === 'node:sqlite' || id === 'sqlite' ? undefined : getBuiltinModule(id))) as typeof process.getBuiltinModule;
