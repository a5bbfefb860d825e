import { rm, rmdir } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { sampleBufferDirName } from './location.js';

/** The DB file and the sidecars SQLite may leave beside it. */
export function bufferDatabaseFiles(path: string): string[] {
  return ['', '-wal', '-shm', '-journal'].map((suffix) => path + suffix);
}

/**
 * Deletes the DB and its sidecars, and its hash directory when that is left empty. Only a
 * `samplebuffer/<hash>` directory, which Inspect (or our writer) made for it: a database the user
 * copied into a folder of their own leaves that folder alone.
 */
export async function removeBufferDatabase(path: string): Promise<void> {
  for (const file of bufferDatabaseFiles(path)) await rm(file, { force: true });
  const directory = dirname(path);
  if (/^[0-9a-f]{64}$/.test(basename(directory)) && basename(dirname(directory)) === sampleBufferDirName) await rmdir(directory).catch(() => undefined);
}
