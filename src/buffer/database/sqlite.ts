/**
 * better-sqlite3, loaded on first use. It is a native module that compiles at install and can
 * fail to build; only reading or writing a buffer database needs it, so `show`, `--list` and a
 * recovery from the filestore work without it.
 */
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { SqliteUnavailableError } from '../../errors.js';

const require = createRequire(import.meta.url);
let loaded: typeof BetterSqlite3 | undefined;

export function sqlite(): typeof BetterSqlite3 {
  if (loaded === undefined) {
    try {
      loaded = require('better-sqlite3') as typeof BetterSqlite3;
    } catch (error) {
      throw new SqliteUnavailableError(
        `better-sqlite3 could not be loaded (${(error as Error).message.split('\n')[0]}): buffer databases cannot be read or written; reinstall it, letting its build run`,
        error,
      );
    }
  }
  return loaded;
}

/** Whether `error` is one of SQLite's own; false when better-sqlite3 was never loaded (then it cannot be). */
export function isSqliteError(error: unknown): boolean {
  return loaded !== undefined && error instanceof loaded.SqliteError;
}
