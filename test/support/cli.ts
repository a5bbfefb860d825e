import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './shared-fixtures.js';

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `inspect-recover` bin in a child process, as a user would. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  const result = spawnSync(process.execPath, [join(repoRoot, 'bin/inspect-recover.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Asserts the shape every expected failure must have: one line, no stack frames. */
export function isOneLineError(stderr: string): boolean {
  const lines = stderr.trimEnd().split('\n');
  return lines.length === 1 && lines[0]!.startsWith('inspect-recover: ') && !/\n\s+at /.test(stderr);
}
