/**
 * A query-only connection to a buffer DB that another connection is still writing. In WAL mode
 * (sample-buffer.md §A.2) readers and the writer do not block each other, and a read transaction
 * sees one committed state; so the filestore sync reads the live DB directly, where recovery
 * (open-snapshot.ts) reads a private copy of a crashed one.
 */
import { openSqlite, type SqliteDatabase } from './sqlite.js';
import { fromSqliteError } from './errors.js';
import { readLayout, type BufferDatabaseSnapshot } from './open-snapshot.js';

/** Inspect's busy timeout: the writer may hold its lock for a while during a checkpoint. */
const busyTimeoutMs = 30_000;

/** Opens `path` (which must exist) for reading; `close()` closes this connection only. */
export function openLiveBufferDatabase(path: string): BufferDatabaseSnapshot {
  let database: SqliteDatabase | undefined;
  try {
    database = openSqlite(path, { fileMustExist: true, timeout: busyTimeoutMs });
    database.pragma('query_only = ON');
    const layout = readLayout(database, path);
    const opened = database;
    return {
      sourcePath: path,
      database: opened,
      layout,
      close() {
        if (opened.open) opened.close();
      },
    };
  } catch (error) {
    database?.close();
    throw fromSqliteError(error, path, 'open the live sample buffer database');
  }
}
