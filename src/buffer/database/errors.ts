import { BufferDatabaseError } from '../../errors.js';
import { isSqliteError } from './sqlite.js';

/**
 * SQLite's own failures (not a database, corrupt page, I/O) as one line naming the original DB
 * file; any other error is a bug and is returned unchanged.
 */
export function fromSqliteError(error: unknown, sourcePath: string, action: string): unknown {
  if (!isSqliteError(error)) return error;
  const { message, code } = error as Error & { code: string };
  return new BufferDatabaseError(`${sourcePath}: cannot ${action}: ${message} (${code})`, error);
}
