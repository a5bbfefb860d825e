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
  await mkdir(dirname(log), { recursive: true });
  const child = spawn(process.execPath, [join(repoRoot, 'dist', 'bench', 'crash-child.js'), log, dataDir, String(samples), ...(options.shared ? ['shared'] : [])], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...(options.tempDir ? { TMPDIR: options.tempDir } : {}) },
  });
  let counts: RecordedCrash['counts'] | undefined;
  for await (const line of createInterface({ input: child.stdout! })) {
    if (!line.startsWith('ready ')) continue;
    counts = JSON.parse(line.slice('ready '.length)) as RecordedCrash['counts'];
    break;
  }
  if (!counts) throw new Error(`the recorder child for ${samples} samples exited before its crash point`);
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  return { log, dataDir, counts };
}
