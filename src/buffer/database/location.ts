/**
 * Where Inspect keeps the sample-buffer database of a log (sample-buffer.md §A.1):
 * `<data dir>/samplebuffer/<sha256(log dir URI)>/<log file name>.<pid>.db`.
 * Shared by the reader (to find a crashed run's DB) and the writer (to create one).
 */
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, posix, resolve, win32 } from 'node:path';

export const sampleBufferDirName = 'samplebuffer';

export interface DataDirEnvironment {
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  homeDir?: string;
}

/**
 * platformdirs' `user_data_path("inspect_ai")`: `$XDG_DATA_HOME/inspect_ai` (a blank value counts as
 * unset) else `~/.local/share/inspect_ai`; macOS and Windows use their own application-data folders.
 */
export function inspectDataDir(environment: DataDirEnvironment = {}): string {
  const env = environment.env ?? process.env;
  const platform = environment.platform ?? process.platform;
  const home = environment.homeDir ?? homedir();
  switch (platform) {
    case 'darwin':
      return posix.join(home, 'Library', 'Application Support', 'inspect_ai');
    case 'win32': {
      const localAppData = env.LOCALAPPDATA?.trim() ? env.LOCALAPPDATA : win32.join(home, 'AppData', 'Local');
      // platformdirs repeats the app name as the "app author" on Windows.
      return win32.join(localAppData, 'inspect_ai', 'inspect_ai');
    }
    default: {
      const xdgDataHome = env.XDG_DATA_HOME?.trim() ? env.XDG_DATA_HOME : posix.join(home, '.local', 'share');
      return posix.join(xdgDataHome, 'inspect_ai');
    }
  }
}

/**
 * The `file://` URI Inspect hashes for a local log directory: `file://` + the absolute path exactly
 * as the eval used it (fsspec does no percent-encoding and no `..` normalisation), trailing
 * separators stripped. Windows paths get forward slashes (`file://C:/...`; unverified against Inspect).
 */
export function localLogDirUri(absoluteLogDir: string, platform: NodeJS.Platform = process.platform): string {
  const path = platform === 'win32' ? absoluteLogDir.replaceAll('\\', '/') : absoluteLogDir;
  return stripTrailingSeparators(`file://${path}`);
}

/**
 * Where to look for a log's buffer database on the machine that ran its eval, and how to point at
 * a copy: what a "no buffer" message ends with.
 */
export function bufferDatabaseHint(logFileName: string): string {
  return (
    `if the eval ran on another machine (a pod), its buffer database is there, at $XDG_DATA_HOME/inspect_ai/${sampleBufferDirName}/<hash of the log dir>/${logFileName}.<pid>.db ` +
    `($XDG_DATA_HOME is usually ~/.local/share): copy it with its -wal and -shm files and name it with --buffer FILE, or copy the whole inspect_ai folder and name it with --data-dir DIR`
  );
}

/** Lowercase hex SHA-256 of the log dir URI (trailing `/` and `\` stripped, as Inspect does). */
export function logDirHash(logDirUri: string): string {
  return createHash('sha256').update(stripTrailingSeparators(logDirUri), 'utf8').digest('hex');
}

/** `<data dir>/samplebuffer/<hash>`: the directory holding every buffer DB of logs in that log dir. */
export function bufferDatabaseDir(logDirUri: string, dataDir: string = inspectDataDir()): string {
  return join(dataDir, sampleBufferDirName, logDirHash(logDirUri));
}

export function bufferDatabaseFileName(logFileName: string, pid: number): string {
  return `${logFileName}.${pid}.db`;
}

/**
 * Splits `<log file name>.<pid>.db` from the right on its last two dots, as Inspect does;
 * undefined when the name does not have that shape or the pid is not a decimal number.
 */
export function parseBufferDatabaseFileName(fileName: string): { logFileName: string; pid: number } | undefined {
  const match = /^(.+)\.(\d+)\.db$/.exec(fileName);
  if (!match) return undefined;
  const pid = Number(match[2]);
  return Number.isSafeInteger(pid) ? { logFileName: match[1]!, pid } : undefined;
}

/** The absolute form of a local log path the way the eval would have seen it (no symlink resolution). */
export function absoluteLogPath(logFile: string): string {
  return isAbsolute(logFile) ? logFile : resolve(logFile);
}

/** Where a process with `pid` (default: this one) keeps the buffer DB of a local `.eval` log. */
export function bufferDatabasePathForLog(
  logFile: string,
  options: { pid?: number; dataDir?: string } = {},
): string {
  const absolute = absoluteLogPath(logFile);
  const directory = bufferDatabaseDir(localLogDirUri(dirname(absolute)), options.dataDir ?? inspectDataDir());
  return join(directory, bufferDatabaseFileName(basename(absolute), options.pid ?? process.pid));
}

function stripTrailingSeparators(text: string): string {
  return text.replace(/[/\\]+$/, '');
}
