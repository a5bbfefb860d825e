import { InspectRecoverError } from '../../errors.js';
import { isSqliteError } from './sqlite.js';

/** A file that should be an Inspect sample-buffer database is not one, or SQLite cannot read it. */
export class BufferDatabaseError extends InspectRecoverError {
  constructor(message: string, cause?: unknown) {
    super('BUFFER_DATABASE', message, { cause });
  }
}

/**
 * SQLite's own failures (not a database, corrupt page, I/O) as one line naming the original DB
 * file; any other error is a bug and is returned unchanged.
 */
export function fromSqliteError(error: unknown, sourcePath: string, action: string): unknown {
  if (!isSqliteError(error)) return error;
  const { message, code } = error as Error & { code: string };
  return new BufferDatabaseError(`${sourcePath}: cannot ${action}: ${message} (${code})`, error);
}
