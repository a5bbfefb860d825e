/**
 * Opens a private copy of a buffer DB. A crashed DB usually has a hot WAL holding most of its rows
 * (sample-buffer.md §A.2): SQLite replays it only on a connection that may write, and that would
 * change the original files. So the main file and its sidecars are copied, with the same base
 * name, into a fresh temp directory and the copy is opened; the original is only ever read as bytes.
 */
import { chmod, copyFile, mkdtemp } from 'node:fs/promises';
import { processTempDir } from '../../bytes/exit-cleanup.js';
import { assertRegularFile } from '../../bytes/regular-file.js';
import { rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { openSqlite, type SqliteDatabase } from './sqlite.js';
import { fileSystemError, InspectRecoverError, NotFoundError, BufferDatabaseError } from '../../errors.js';
import { fromSqliteError } from './errors.js';

/** `-journal` too: a pre-WAL DB that crashed mid-transaction needs its hot journal rolled back. */
const sidecarSuffixes = ['-wal', '-shm', '-journal'] as const;

const requiredTables = ['task_database', 'samples', 'events', 'attachments'] as const;

/** What the DB has of the tables and columns that older Inspect versions did not write. */
export interface BufferDatabaseLayout {
  /** `message_pool` (absent before 2026-04-14). */
  hasMessagePool: boolean;
  /** `call_pool` (absent before 2026-04-14). */
  hasCallPool: boolean;
  /** `samples.sample_metadata` and `samples.sample_metadata_hash` (absent before 2026-07-28). */
  hasSampleMetadata: boolean;
}

export interface BufferDatabaseSnapshot {
  /** The original DB file the copy was made from (used in messages). */
  readonly sourcePath: string;
  /** A query-only connection to the copy. */
  readonly database: SqliteDatabase;
  readonly layout: BufferDatabaseLayout;
  /** Closes the connection and deletes the copy. Safe to call twice. */
  close(): void;
}

export async function openBufferDatabaseSnapshot(sourcePath: string): Promise<BufferDatabaseSnapshot> {
  await assertRegularFile(sourcePath);
  const scratchDir = await mkdtemp(join(processTempDir(), 'buffer-')).catch((error: unknown) => {
    throw fileSystemError(error, processTempDir(), 'create a temporary directory');
  });
  const removeScratch = () => rmSync(scratchDir, { recursive: true, force: true });
  let database: SqliteDatabase | undefined;
  try {
    const copyPath = await copyWithSidecars(sourcePath, scratchDir);
    database = openCopy(copyPath, sourcePath);
    const layout = readLayout(database, sourcePath);
    const opened = database;
    let closed = false;
    return {
      sourcePath,
      database: opened,
      layout,
      close() {
        if (closed) return;
        closed = true;
        try {
          opened.close();
        } finally {
          removeScratch();
        }
      },
    };
  } catch (error) {
    database?.close();
    removeScratch();
    throw error;
  }
}

/** Copies `<name>` and each existing `<name>-wal|-shm|-journal`; returns the copy's main path. */
async function copyWithSidecars(sourcePath: string, scratchDir: string): Promise<string> {
  const copyPath = join(scratchDir, basename(sourcePath));
  await copyPrivately(sourcePath, copyPath);
  for (const suffix of sidecarSuffixes) {
    await copyPrivately(sourcePath + suffix, copyPath + suffix, { optional: true });
  }
  return copyPath;
}

// copyFile keeps the source's mode; Inspect's files may be read-only, and SQLite needs to write the
// copy (WAL replay, -shm), so the copy is made owner-writable.
async function copyPrivately(from: string, to: string, options: { optional?: boolean } = {}): Promise<void> {
  try {
    // A FIFO or a link to /dev/zero planted as `-wal` would make the copy hang or never end.
    await assertRegularFile(from);
    await copyFile(from, to);
  } catch (error) {
    if (options.optional && error instanceof NotFoundError) return;
    throw error instanceof InspectRecoverError ? error : fileSystemError(error, from, 'copy');
  }
  await chmod(to, 0o600).catch((error: unknown) => {
    throw fileSystemError(error, to, 'make writable');
  });
}

function openCopy(copyPath: string, sourcePath: string): SqliteDatabase {
  try {
    const database = openSqlite(copyPath, { fileMustExist: true });
    // Guards against writing by mistake; WAL recovery on first read is still allowed.
    database.pragma('query_only = ON');
    // Recovery reads each page about once: a 16 MB page cache (better-sqlite3's) would only make
    // memory grow with the buffer; SQLite's own default (2 MB) keeps it flat.
    database.pragma('cache_size = -2000');
    return database;
  } catch (error) {
    throw fromSqliteError(error, sourcePath, 'open the SQLite database');
  }
}

/** Which optional tables and columns a buffer DB has; a clear error for a file that is not one. */
export function readLayout(database: SqliteDatabase, sourcePath: string): BufferDatabaseLayout {
  let tables: Set<string>;
  let sampleColumns: Set<string>;
  try {
    // The first read is where SQLite notices a file that is not a database, and replays the WAL.
    tables = new Set(
      database.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[],
    );
    sampleColumns = new Set(database.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('samples') as string[]);
  } catch (error) {
    throw fromSqliteError(error, sourcePath, 'read the SQLite database');
  }
  const missing = requiredTables.filter((table) => !tables.has(table));
  if (missing.length > 0) {
    throw new BufferDatabaseError(
      `${sourcePath}: not an Inspect sample buffer database (missing table${missing.length > 1 ? 's' : ''} ${missing.join(', ')})`,
    );
  }
  return {
    hasMessagePool: tables.has('message_pool'),
    hasCallPool: tables.has('call_pool'),
    hasSampleMetadata: sampleColumns.has('sample_metadata') && sampleColumns.has('sample_metadata_hash'),
  };
}
