import { createHash, randomBytes } from 'node:crypto';
import { copyFile, link, mkdir, open, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileByteSource } from '../bytes/file-byte-source.js';
import { readRegularFile } from '../bytes/regular-file.js';
import { fileSystemError, InspectRecoverError, NotFoundError, StorageError, UsageError } from '../errors.js';
import { defaultReadLimit, type ReadOptions, type Storage, type StorageStat, type StoredFile } from './storage.js';

const taggedReadLimit = 1024 * 1024;

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

  async read(location: string, { maxBytes = defaultReadLimit }: ReadOptions = {}): Promise<Uint8Array> {
    return readRegularFile(localPath(location), maxBytes);
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
    await replaceAtomically(localPath(location), (tempPath) => writeDurably(tempPath, data));
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

  /** Symlinked directories are not followed (a link back up would never end); everything else is listed. */
  async walk(directory: string): Promise<StoredFile[]> {
    const root = localPath(directory);
    const files: StoredFile[] = [];
    const visit = async (path: string, relative: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(path, { withFileTypes: true });
      } catch (error) {
        if (isErrorCode(error, 'ENOENT', 'ENOTDIR')) return;
        throw fileSystemError(error, path, 'list');
      }
      for (const entry of entries) {
        const location = join(path, entry.name);
        const below = relative === '' ? entry.name : `${relative}/${entry.name}`;
        if (entry.isDirectory()) {
          await visit(location, below);
          continue;
        }
        // Anything else is listed, a FIFO or a device too: whoever opens it says what it is.
        const found = await this.stat(location).catch(() => undefined);
        if (found) files.push({ location, relative: below, stat: found });
      }
    };
    await visit(root, '');
    return files.sort((a, b) => (a.location < b.location ? -1 : a.location > b.location ? 1 : 0));
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

  async createExclusive(location: string, data: Uint8Array | string): Promise<string | undefined> {
    const path = localPath(location);
    await mkdir(dirname(path), { recursive: true }).catch((error: unknown) => {
      throw writeError(error, path);
    });
    // Filled under a temp name, then linked into place: link() fails when the name exists, and
    // a reader never sees the record half-written.
    const tempPath = temporarySibling(path);
    try {
      await writeDurably(tempPath, data);
      await link(tempPath, path);
    } catch (error) {
      if (isErrorCode(error, 'EEXIST')) return undefined;
      throw writeError(error, path);
    } finally {
      await rm(tempPath, { force: true }).catch(() => undefined);
    }
    return contentTag(data);
  }

  async readTagged(location: string): Promise<{ data: Uint8Array; etag: string } | undefined> {
    const path = localPath(location);
    try {
      // Tagged records are leases: a few hundred bytes.
      const data = await readRegularFile(path, taggedReadLimit);
      return { data, etag: contentTag(data) };
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  /**
   * Compare-and-swap under a short-lived lock file (taken with an exclusive create; one older
   * than `staleLockMs` is a crashed holder's and is broken): compare, then replace atomically.
   */
  async replaceIfTagged(location: string, data: Uint8Array | string, etag: string): Promise<string | undefined> {
    const path = localPath(location);
    const lockPath = `${path}.lock`;
    await takeLock(lockPath);
    try {
      const current = await this.readTagged(path);
      if (current?.etag !== etag) return undefined;
      await this.write(path, data);
      return contentTag(data);
    } finally {
      await rm(lockPath, { force: true }).catch(() => undefined);
    }
  }

  /** Compare-and-delete under the same lock as `replaceIfTagged`. */
  async deleteIfTagged(location: string, etag: string): Promise<boolean> {
    const path = localPath(location);
    const lockPath = `${path}.lock`;
    await takeLock(lockPath);
    try {
      if ((await this.readTagged(path))?.etag !== etag) return false;
      await this.delete(path);
      return true;
    } finally {
      await rm(lockPath, { force: true }).catch(() => undefined);
    }
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

const staleLockMs = 10_000;

async function takeLock(lockPath: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(lockPath, String(process.pid), { flag: 'wx' });
      return;
    } catch (error) {
      if (!isErrorCode(error, 'EEXIST')) throw writeError(error, lockPath);
    }
    const held = await stat(lockPath).catch(() => undefined);
    if (held && Date.now() - held.mtimeMs > staleLockMs) await rm(lockPath, { force: true });
    if (attempt > 2000) throw new StorageError(`${lockPath}: cannot take the lock: another process holds it`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A local file's version tag: a hash of its bytes (records written here carry a unique token). */
function contentTag(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 32);
}

async function writeDurably(path: string, data: Uint8Array | string): Promise<void> {
  const file = await open(path, 'wx');
  try {
    await file.writeFile(data);
    await file.sync();
  } finally {
    await file.close();
  }
}

/**
 * `.<target>.<pid>-<hex>.tmp`: the writer's pid in the name says whether a temp file left beside
 * a target is a killed writer's, even when it was killed before writing a byte into it.
 */
function temporarySibling(path: string): string {
  // Keep the name short enough for NAME_MAX even for long target names.
  return join(dirname(path), `.${basename(path).slice(0, 200)}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
}

/** Temp names as written now, and as written before the pid was in them. */
const temporarySuffix = /^(?:(\d+)-)?[0-9a-f]{12}\.tmp$/;

/** Whether `name` is a temp file of an atomic write of the file named `target` in the same directory (what a killed write leaves). */
export function isTemporarySiblingOf(name: string, target: string): boolean {
  return temporarySuffixOf(name, target) !== undefined;
}

/** The pid of the process that made a temp file of `target`'s atomic writes, when its name carries one. */
export function temporarySiblingWriter(name: string, target: string): number | undefined {
  const pid = temporarySuffixOf(name, target)?.[1];
  return pid === undefined ? undefined : Number(pid);
}

/** The temp-name suffix of `name` after `.<target>.`, matched; undefined when `name` is no temp file of `target`. */
function temporarySuffixOf(name: string, target: string): RegExpExecArray | undefined {
  const prefix = `.${target.slice(0, 200)}.`;
  return (name.startsWith(prefix) && temporarySuffix.exec(name.slice(prefix.length))) || undefined;
}

/** Creates `path` through `fill(tempPath)` (which must fsync), then renames it into place. */
async function replaceAtomically(path: string, fill: (tempPath: string) => Promise<void>): Promise<void> {
  const directory = dirname(path);
  await mkdir(directory, { recursive: true }).catch((error: unknown) => {
    throw writeError(error, path);
  });
  const tempPath = temporarySibling(path);
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
