/**
 * A crashed run recorded the way a user's crashes: the real EvalRecorder in a child process
 * (bench/crash-child.ts), SIGKILLed at its crash point with samples flushed, finished but
 * unflushed, and cut off. With `shared`, its buffer is mirrored to `.buffer/` beside the log.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot } from './shared-fixtures.js';

export interface RecordedCrash {
  log: string;
  dataDir: string;
  /** What the child reported at its crash point. */
  counts: { flushed: number; unflushed: number; inProgress: number };
}

export async function recordCrashedRun(log: string, dataDir: string, samples: number, options: { shared?: boolean; tempDir?: string } = {}): Promise<RecordedCrash> {
  const ready = await killAtReady(join(repoRoot, 'dist', 'bench', 'crash-child.js'), [log, dataDir, String(samples), ...(options.shared ? ['shared'] : [])], log, options.tempDir);
  return { log, dataDir, counts: JSON.parse(ready) as RecordedCrash['counts'] };
}

/**
 * A run that ends with hung samples (test/support/hung-run-child.ts): every one of `samples`
 * started, all but `hung` finished, then SIGKILLed, as an operator kills a run that will not end.
 */
export async function recordHungRun(log: string, dataDir: string, { samples, hung, logBuffer }: { samples: number; hung: number; logBuffer: number }): Promise<void> {
  await killAtReady(join(repoRoot, 'dist', 'test', 'support', 'hung-run-child.js'), [log, dataDir, String(samples), String(hung), String(logBuffer)], log);
}

/** Runs a recorder child until it prints `ready <payload>`, SIGKILLs it, and returns the payload. */
async function killAtReady(script: string, args: string[], log: string, tempDir?: string): Promise<string> {
  await mkdir(dirname(log), { recursive: true });
  const child = spawn(process.execPath, [script, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...(tempDir ? { TMPDIR: tempDir } : {}) },
  });
  let ready: string | undefined;
  for await (const line of createInterface({ input: child.stdout! })) {
    if (line !== 'ready' && !line.startsWith('ready ')) continue;
    ready = line.slice('ready '.length);
    break;
  }
  if (ready === undefined) throw new Error(`the recorder child for ${log} exited before its crash point`);
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  return ready;
}
