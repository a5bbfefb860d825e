/**
 * Which buffer DB to recover a crashed local log from (sample-buffer.md §A.7, recovery.md §3.1):
 * DBs named `<log file name>.<pid>.db` whose pid is not a live process on this machine; the one
 * whose main `.db` file has the newest mtime wins.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileSystemError } from '../../errors.js';
import { isS3Location } from '../../storage/s3-location.js';
import { absoluteLogPath, bufferDatabaseDir, inspectDataDir, localLogDirUri, parseBufferDatabaseFileName } from './location.js';

export interface BufferDatabaseCandidate {
  path: string;
  pid: number;
  mtimeMs: number;
  /** A process with this pid exists here: the DB may belong to a running eval and must not be used. */
  alive: boolean;
}

export interface BufferDatabaseSearchOptions {
  /** Inspect's data dir; default `inspectDataDir()`. */
  dataDir?: string;
  /** Liveness test; default `isProcessAlive`. */
  isProcessAlive?: (pid: number) => boolean;
}

// pid_t is a signed 32-bit integer; anything larger cannot name a process (and Node refuses it).
const maxPid = 2 ** 31 - 1;

/**
 * `process.kill(pid, 0)`: ESRCH means no such process; EPERM means it exists but belongs to
 * someone else. Any other failure counts as alive, so that a DB is never taken from a running eval.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid < 0 || pid > maxPid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
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

/** Every buffer DB of a local log, live or not, newest `.db` mtime first. */
export async function listBufferDatabases(
  logFile: string,
  options: BufferDatabaseSearchOptions = {},
): Promise<BufferDatabaseCandidate[]> {
  const dataDir = options.dataDir ?? inspectDataDir();
  const alive = options.isProcessAlive ?? isProcessAlive;
  const logFileName = isS3Location(logFile) ? logFile.slice(logFile.lastIndexOf('/') + 1) : basename(absoluteLogPath(logFile));
  const directories = new Set((await logDirUriCandidates(logFile)).map((uri) => bufferDatabaseDir(uri, dataDir)));
  const candidates: BufferDatabaseCandidate[] = [];
  for (const directory of directories) {
    for (const name of await listDirectory(directory)) {
      const parsed = parseBufferDatabaseFileName(name);
      if (parsed?.logFileName !== logFileName) continue;
      const path = join(directory, name);
      const mtimeMs = await fileMtime(path);
      if (mtimeMs === undefined) continue;
      candidates.push({ path, pid: parsed.pid, mtimeMs, alive: alive(parsed.pid) });
    }
  }
  return candidates.sort(newestFirst);
}

/** The newest DB whose pid is not alive; undefined when there is none. */
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
