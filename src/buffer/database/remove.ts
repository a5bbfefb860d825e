import { rm, rmdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The DB file and the sidecars SQLite may leave beside it. */
export function bufferDatabaseFiles(path: string): string[] {
  return ['', '-wal', '-shm', '-journal'].map((suffix) => path + suffix);
}

/** Deletes the DB and its sidecars, and its hash directory when that is left empty. */
export async function removeBufferDatabase(path: string): Promise<void> {
  for (const file of bufferDatabaseFiles(path)) await rm(file, { force: true });
  await rmdir(dirname(path)).catch(() => undefined);
}
