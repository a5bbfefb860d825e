/**
 * Temporary files and directories that must not outlive the process: removed at exit, also
 * when a command-line program is ended by Ctrl-C or SIGTERM (`exitOnSignals`). A SIGKILL
 * runs nothing; what it leaves is removed by the next process that makes its own temp dir.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileSystemError } from '../errors.js';
import { isProcessAlive } from './process-alive.js';

const pending = new Set<string>();
let installed = false;

/** Registers `path` for removal at exit; the returned function unregisters it (call it once it is removed). */
export function removeOnExit(path: string): () => void {
  if (!installed) {
    installed = true;
    process.on('exit', () => {
      // A write still finishing on libuv's threads can add a file while the directory is emptied: retried (ENOTEMPTY).
      for (const registered of pending) rmSync(registered, { recursive: true, force: true, maxRetries: 3, retryDelay: 5 });
    });
  }
  pending.add(path);
  return () => pending.delete(path);
}

/** For a command-line program: SIGINT and SIGTERM end it with the shell's codes (130, 143), the registered paths removed. */
export function exitOnSignals(): void {
  process.once('SIGINT', () => process.exit(130));
  process.once('SIGTERM', () => process.exit(143));
}

let processTemp: string | undefined;

/**
 * This process's own directory under the system temp dir, made on first use and removed at
 * exit: every temporary file goes below it. Made synchronously, so no signal can come between
 * its creation and its registration.
 */
export function processTempDir(): string {
  if (processTemp === undefined) {
    removeDeadProcessesTempDirs();
    try {
      processTemp = mkdtempSync(join(tmpdir(), `${tempPrefix}${process.pid}-`));
    } catch (error) {
      throw fileSystemError(error, tmpdir(), 'create a temporary directory');
    }
    removeOnExit(processTemp);
  }
  return processTemp;
}

const tempPrefix = 'inspect-recover-';
/** `inspect-recover-<pid>-XXXXXX`, as `mkdtempSync` completes the prefix. */
const processTempName = new RegExp(`^${tempPrefix}(\\d+)-[A-Za-z0-9]{6}$`);

/**
 * What a SIGKILLed process left (a crashed recorder's working copy and spools): the temp dirs
 * named for a process that no longer exists on this host. A live pid's dir is kept, even when
 * the pid was reused: better a leftover than a running process's files gone.
 */
export function removeDeadProcessesTempDirs(): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const pid = processTempName.exec(name)?.[1];
    if (pid === undefined || Number(pid) === process.pid || isProcessAlive(Number(pid))) continue;
    rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}
