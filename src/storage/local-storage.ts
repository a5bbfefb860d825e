import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileByteSource } from '../bytes/file-byte-source.js';
import { fileSystemError, InspectRecoverError, StorageError, UsageError } from '../errors.js';
import type { Storage, StorageStat } from './storage.js';

/** A local path, or a `file://` URI turned into one. */
export function localPath(location: string): string {
  if (!location.startsWith('file:')) return location;
  try {
    return fileURLToPath(location);
  } catch (error) {
    throw new UsageError(`${location}: not a usable file:// URI (${(error as Error).message})`);
  }
}

/** Files on local disk. Writes go to a sibling temp file that is fsynced, then renamed over the target. */
export class LocalStorage implements Storage {
  readonly kind = 'local' as const;

  async read(location: string): Promise<Uint8Array> {
    const path = localPath(location);
    return readFile(path).catch((error: unknown) => {
      throw fileSystemError(error, path, 'read');
    });
  }

  async readRange(location: string, offset: number, length: number): Promise<Uint8Array> {
    const source = new FileByteSource(localPath(location));
    try {
      return await source.read(offset, length);
    } finally {
      await source.close();
    }
  }

  byteSource(location: string): FileByteSource {
    return new FileByteSource(localPath(location));
  }

  async write(location: string, data: Uint8Array | string): Promise<void> {
    await replaceAtomically(localPath(location), async (tempPath) => {
      const file = await open(tempPath, 'wx');
      try {
        await file.writeFile(data);
        await file.sync();
      } finally {
        await file.close();
      }
    });
  }

  async writeFromFile(location: string, sourcePath: string): Promise<void> {
    const source = localPath(sourcePath);
    const sourceStat = await stat(source).catch((error: unknown) => {
      throw fileSystemError(error, source, 'read');
    });
    if (sourceStat.isDirectory()) throw fileSystemError({ code: 'EISDIR' }, source, 'read');
    await replaceAtomically(localPath(location), async (tempPath) => {
      await copyFile(source, tempPath);
      const copy = await open(tempPath, 'r+');
      try {
        await copy.sync();
      } finally {
        await copy.close();
      }
    });
  }

  async copy(from: string, to: string): Promise<void> {
    await this.writeFromFile(to, from);
  }

  async list(directory: string): Promise<string[]> {
    const path = localPath(directory);
    try {
      return (await readdir(path)).sort();
    } catch (error) {
      // Like an S3 prefix with nothing under it: a missing directory, or a file, lists as empty.
      if (isErrorCode(error, 'ENOENT', 'ENOTDIR')) return [];
      throw fileSystemError(error, path, 'list');
    }
  }

  async delete(location: string): Promise<void> {
    const path = localPath(location);
    await unlink(path).catch((error: unknown) => {
      if (!isErrorCode(error, 'ENOENT', 'ENOTDIR')) throw fileSystemError(error, path, 'delete');
    });
  }

  async deleteTree(directory: string): Promise<void> {
    const path = localPath(directory);
    await rm(path, { recursive: true, force: true }).catch((error: unknown) => {
      throw fileSystemError(error, path, 'delete');
    });
  }

  async stat(location: string): Promise<StorageStat | undefined> {
    const path = localPath(location);
    try {
      const found = await stat(path);
      if (found.isDirectory()) throw fileSystemError({ code: 'EISDIR' }, path, 'stat');
      // Each write renames a new inode into place, so the inode tells apart two same-size writes
      // that land within one tick of the file system's coarse mtime clock.
      return { size: found.size, mtimeMs: found.mtimeMs, etag: `${found.size}-${found.mtimeMs}-${found.ino}` };
    } catch (error) {
      if (isErrorCode(error, 'ENOENT', 'ENOTDIR')) return undefined;
      throw error instanceof InspectRecoverError ? error : fileSystemError(error, path, 'stat');
    }
  }

  join(directory: string, ...names: string[]): string {
    return join(localPath(directory), ...names);
  }
}

/** Creates `path` through `fill(tempPath)` (which must fsync), then renames it into place. */
async function replaceAtomically(path: string, fill: (tempPath: string) => Promise<void>): Promise<void> {
  const directory = dirname(path);
  await mkdir(directory, { recursive: true }).catch((error: unknown) => {
    throw writeError(error, path);
  });
  // Keep the name short enough for NAME_MAX even for long target names.
  const tempPath = join(directory, `.${basename(path).slice(0, 200)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await fill(tempPath);
    await rename(tempPath, path);
  } catch (error) {
    await rm(tempPath, { force: true }).catch(() => undefined);
    throw writeError(error, path);
  }
  await syncDirectory(directory);
}

/** Makes the rename itself durable. Some platforms cannot fsync a directory; the rename is still atomic there. */
async function syncDirectory(directory: string): Promise<void> {
  try {
    const handle = await open(directory, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // best effort, see above
  }
}

/** A write into a path whose parent is a file cannot succeed: that is a storage refusal, not a missing file. */
function writeError(error: unknown, path: string): InspectRecoverError {
  if (error instanceof InspectRecoverError) return error;
  if (isErrorCode(error, 'ENOTDIR', 'EEXIST')) {
    return new StorageError(`${path}: cannot write: a parent of this path is a file, not a directory`, error);
  }
  return fileSystemError(error, path, 'write');
}

function isErrorCode(error: unknown, ...codes: string[]): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && codes.includes(code);
}
