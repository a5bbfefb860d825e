import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { CliResult } from './cli.js';
import { repoRoot } from './shared-fixtures.js';

/**
 * Runs the real `inspect-recover` bin in a child process from `cwd`, with a private data dir
 * (XDG_DATA_HOME) unless the caller's env says otherwise, stdout and stderr piped. Async, so
 * that tests in other files keep running meanwhile.
 */
export function runCliIn(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, XDG_DATA_HOME: join(cwd, 'no-such-data-home') };
  delete childEnv.INSPECT_LOG_DIR;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin/inspect-recover.js'), ...args], {
      cwd,
      env: { ...childEnv, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Terminal control: carriage returns and escape sequences (a progress bar). */
export function hasTerminalControl(text: string): boolean {
  return /[\r\x1b]/.test(text);
}
