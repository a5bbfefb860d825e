/**
 * Which buffer DB to recover a crashed local log from (sample-buffer.md §A.7, recovery.md §3.1):
 * DBs named `<log file name>.<pid>.db` whose writer is not alive on this machine (see
 * writer-liveness.ts: a live pid that does not hold the DB open is a reused one); the one whose
 * main `.db` file has the newest mtime wins. A log directory that was moved or renamed after the
 * crash leaves its DB under the old directory's hash: those are found by name as a last resort.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileSystemError } from '../../errors.js';
import { isS3Location } from '../../storage/s3-location.js';
import { fileWriterState, type WriterState } from '../writer-liveness.js';
import { absoluteLogPath, bufferDatabaseDir, inspectDataDir, localLogDirUri, parseBufferDatabaseFileName, sampleBufferDirName } from './location.js';

export interface BufferDatabaseCandidate {
  path: string;
  pid: number;
  mtimeMs: number;
  /** Its writer is alive here: the DB belongs to a running eval and must not be used. */
  alive: boolean;
  /** Why it is judged alive or not, for messages. */
  reason: string;
  /** Judged alive by a live pid alone (see WriterState). */
  unproven?: boolean;
  /** Found under another log directory's hash: the log dir was moved or renamed since the crash. */
  relocated: boolean;
}

export interface BufferDatabaseSearchOptions {
  /** Inspect's data dir; default `inspectDataDir()`. */
  dataDir?: string;
  /** Whether the DB's writer is alive; default `fileWriterState(pid, path).alive`. */
  isWriterAlive?: (pid: number, path: string) => boolean;
}

/**
 * The `file://` URIs under which Inspect may have hashed the log's directory: the absolute path as
 * given (what an eval with an absolute `--log-dir` uses) and, when different, its real path (what
 * an eval with a relative `--log-dir` uses, since it resolves symlinks).
 */
export async function logDirUriCandidates(logFile: string): Promise<string[]> {
  // An S3 log's DB is hashed from its directory URI as is (on the machine that ran the eval).
  if (isS3Location(logFile)) return [logFile.slice(0, logFile.lastIndexOf('/'))];
  const directory = dirname(absoluteLogPath(logFile));
  const uris = [localLogDirUri(directory)];
  const real = await realpath(directory).catch(() => undefined);
  if (real !== undefined) uris.push(localLogDirUri(real));
  return [...new Set(uris)];
}

/**
 * Every buffer DB of a local log, live or not, newest `.db` mtime first. When none is under the
 * log directory's own hash, the dead ones of that file name under any other hash (`relocated`).
 */
export async function listBufferDatabases(
  logFile: string,
  options: BufferDatabaseSearchOptions = {},
): Promise<BufferDatabaseCandidate[]> {
  const dataDir = options.dataDir ?? inspectDataDir();
  const logFileName = isS3Location(logFile) ? logFile.slice(logFile.lastIndexOf('/') + 1) : basename(absoluteLogPath(logFile));
  const directories = new Set((await logDirUriCandidates(logFile)).map((uri) => bufferDatabaseDir(uri, dataDir)));
  const candidates: BufferDatabaseCandidate[] = [];
  for (const directory of directories) candidates.push(...(await databasesIn(directory, logFileName, false, options)));
  if (candidates.length === 0) {
    const root = join(dataDir, sampleBufferDirName);
    for (const hash of await listDirectory(root)) {
      const directory = join(root, hash);
      if (directories.has(directory)) continue;
      // Elsewhere, a live one is another log's of the same name, never this one's.
      candidates.push(...(await databasesIn(directory, logFileName, true, options)).filter((candidate) => !candidate.alive));
    }
  }
  return candidates.sort(newestFirst);
}

async function databasesIn(
  directory: string,
  logFileName: string,
  relocated: boolean,
  options: BufferDatabaseSearchOptions,
): Promise<BufferDatabaseCandidate[]> {
  const found: BufferDatabaseCandidate[] = [];
  for (const name of await listDirectory(directory)) {
    const parsed = parseBufferDatabaseFileName(name);
    if (parsed?.logFileName !== logFileName) continue;
    const path = join(directory, name);
    const mtimeMs = await fileMtime(path);
    if (mtimeMs === undefined) continue;
    const state = options.isWriterAlive
      ? { alive: options.isWriterAlive(parsed.pid, path), reason: `process ${parsed.pid} (as the caller judges it)` }
      : fileWriterState(parsed.pid, path);
    found.push({ path, pid: parsed.pid, mtimeMs, ...state, relocated });
  }
  return found;
}

/**
 * The `-wal` files of a log's buffer whose `.db` is gone (a copy that took only the `-wal`): under
 * the log directory's hashes, else under any hash. Such a file cannot be read without its database.
 */
export async function listOrphanedWals(logFile: string, options: { dataDir?: string } = {}): Promise<string[]> {
  const dataDir = options.dataDir ?? inspectDataDir();
  const logFileName = isS3Location(logFile) ? logFile.slice(logFile.lastIndexOf('/') + 1) : basename(absoluteLogPath(logFile));
  const root = join(dataDir, sampleBufferDirName);
  const orphaned: string[] = [];
  for (const hash of await listDirectory(root)) {
    const directory = join(root, hash);
    const names = await listDirectory(directory);
    for (const name of names) {
      if (!name.endsWith('.db-wal')) continue;
      const database = name.slice(0, -'-wal'.length);
      if (parseBufferDatabaseFileName(database)?.logFileName === logFileName && !names.includes(database)) orphaned.push(join(directory, name));
    }
  }
  return orphaned.sort();
}

/** Whether the writer named in a buffer DB's file name still writes it; undefined when the name carries no pid. */
export function databaseWriterState(path: string): WriterState | undefined {
  const pid = parseBufferDatabaseFileName(basename(path))?.pid;
  return pid === undefined ? undefined : fileWriterState(pid, path);
}

/** The newest DB whose writer is not alive; undefined when there is none. */
export function chooseCrashedBufferDatabase(
  candidates: readonly BufferDatabaseCandidate[],
): BufferDatabaseCandidate | undefined {
  return candidates.filter((candidate) => !candidate.alive).sort(newestFirst)[0];
}

/** `listBufferDatabases` then `chooseCrashedBufferDatabase`. */
export async function findCrashedBufferDatabase(
  logFile: string,
  options: BufferDatabaseSearchOptions = {},
): Promise<BufferDatabaseCandidate | undefined> {
  return chooseCrashedBufferDatabase(await listBufferDatabases(logFile, options));
}

// Equal mtimes fall back to the path so the choice is deterministic (Inspect's is glob order).
function newestFirst(a: BufferDatabaseCandidate, b: BufferDatabaseCandidate): number {
  return b.mtimeMs - a.mtimeMs || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
}

async function listDirectory(directory: string): Promise<string[]> {
  try {
    return await readdir(directory);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw fileSystemError(error, directory, 'list directory');
  }
}

/** mtime of a regular file; undefined when it vanished meanwhile or is not a file. */
async function fileMtime(path: string): Promise<number | undefined> {
  try {
    const stats = await stat(path);
    return stats.isFile() ? stats.mtimeMs : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fileSystemError(error, path, 'stat');
  }
}
