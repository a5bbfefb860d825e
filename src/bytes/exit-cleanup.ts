/**
 * Temporary files and directories that must not outlive the process: removed at exit, also
 * when a command-line program is ended by Ctrl-C or SIGTERM (`exitOnSignals`). A SIGKILL
 * runs nothing; what it leaves is found and removed by the next run that looks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileSystemError } from '../errors.js';

const pending = new Set<string>();
let installed = false;

/** Registers `path` for removal at exit; the returned function unregisters it (call it once it is removed). */
export function removeOnExit(path: string): () => void {
  if (!installed) {
    installed = true;
    process.on('exit', () => {
      for (const registered of pending) rmSync(registered, { recursive: true, force: true });
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
    try {
      processTemp = mkdtempSync(join(tmpdir(), 'inspect-recover-'));
    } catch (error) {
      throw fileSystemError(error, tmpdir(), 'create a temporary directory');
    }
    removeOnExit(processTemp);
  }
  return processTemp;
}
