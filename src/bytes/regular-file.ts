/**
 * Reading only what is a file. A crashed run's directories can hold anything a user or an
 * attacker planted: a FIFO blocks a read forever, a device (`/dev/zero`) never ends, and a
 * symlink to `/etc/passwd` would be read and quoted in an error. So only regular files are
 * read, and a symlink is followed only to a regular file in its own directory or below.
 */
import { constants } from 'node:fs';
import { lstat, open, realpath, stat, type FileHandle } from 'node:fs/promises';
import { dirname, sep } from 'node:path';
import { StorageError, fileSystemError } from '../errors.js';

/** Opens `path` for reading after `assertRegularFile`, without blocking on a FIFO swapped in meanwhile. */
export async function openRegularFile(path: string): Promise<FileHandle> {
  await assertRegularFile(path);
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK).catch((error: unknown) => {
    throw fileSystemError(error, path, 'open for reading');
  });
  const opened = await handle.stat().catch(async (error: unknown) => {
    await handle.close();
    throw fileSystemError(error, path, 'stat');
  });
  if (!opened.isFile()) {
    await handle.close();
    throw notRegular(path, describeKind(opened));
  }
  return handle;
}

/** NotFoundError when it does not exist; StorageError when it is anything but a regular file (or a link to one close by). */
export async function assertRegularFile(path: string): Promise<void> {
  const found = await lstat(path).catch((error: unknown) => {
    throw fileSystemError(error, path, 'read');
  });
  if (found.isFile()) return;
  if (found.isDirectory()) throw fileSystemError({ code: 'EISDIR' }, path, 'read');
  if (!found.isSymbolicLink()) throw notRegular(path, describeKind(found));
  const [target, home] = await Promise.all([realpath(path), realpath(dirname(path))]).catch((error: unknown) => {
    throw fileSystemError(error, path, 'follow the symbolic link');
  });
  if (!target.startsWith(home + sep)) throw new StorageError(`${path}: a symbolic link that leads outside its directory; not followed`);
  const followed = await stat(target).catch((error: unknown) => {
    throw fileSystemError(error, path, 'read');
  });
  if (!followed.isFile()) throw notRegular(path, `a symbolic link to ${describeKind(followed)}`);
}

function notRegular(path: string, kind: string): StorageError {
  return new StorageError(`${path}: not a regular file (${kind}); not read`);
}

function describeKind(found: { isFIFO(): boolean; isDirectory(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (found.isFIFO()) return 'a FIFO';
  if (found.isDirectory()) return 'a directory';
  if (found.isCharacterDevice() || found.isBlockDevice()) return 'a device';
  if (found.isSocket()) return 'a socket';
  return 'not a file';
}

/** The whole file, refused before reading when it is larger than `maxBytes`. */
export async function readRegularFile(path: string, maxBytes: number): Promise<Buffer> {
  const handle = await openRegularFile(path);
  try {
    const { size } = await handle.stat();
    if (size > maxBytes) throw new StorageError(`${path}: ${size} bytes, more than this tool reads whole (${maxBytes}); not read`);
    return await handle.readFile();
  } catch (error) {
    throw error instanceof StorageError ? error : fileSystemError(error, path, 'read');
  } finally {
    await handle.close();
  }
}
