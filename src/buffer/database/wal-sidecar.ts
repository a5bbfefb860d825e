/**
 * Whether a WAL-mode database travelled without its `-wal` (sample-buffer.md §A.2). A crashed
 * writer leaves its `-wal` beside the `.db` (it held a connection open), and most of a crashed
 * buffer's rows live there; our writer leaves rollback mode behind when it closes cleanly. So a
 * `.db` whose header says WAL with no `-wal` beside it was copied alone: rows written since its
 * last checkpoint are gone.
 */
import { lstat } from 'node:fs/promises';
import { openRegularFile } from '../../bytes/regular-file.js';

/** Header bytes 18 and 19: the file format's write and read versions, 2 in WAL mode. */
const versionOffset = 18;
const walVersion = 2;

export async function isWalModeWithoutWal(path: string): Promise<boolean> {
  if (!(await isWalMode(path))) return false;
  return !(await exists(`${path}-wal`));
}

/** A file that is not a regular one (a FIFO, a device) is not read here: opening the database says what it is. */
async function isWalMode(path: string): Promise<boolean> {
  const handle = await openRegularFile(path).catch(() => undefined);
  if (!handle) return false;
  try {
    const bytes = Buffer.alloc(2);
    const { bytesRead } = await handle.read(bytes, 0, 2, versionOffset);
    return bytesRead === 2 && bytes[0] === walVersion && bytes[1] === walVersion;
  } finally {
    await handle.close();
  }
}

/** Anything there counts, a FIFO too (never opened here). */
async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined)) !== undefined;
}

/** What to say of a `.db` copied without its `-wal`. */
export function walMissingMessage(path: string): string {
  return `${path} is in WAL mode but has no ${path}-wal beside it: samples written since its last checkpoint are missing; copy its -wal and -shm files from the machine that ran the eval beside it, and recover again`;
}
