/**
 * The logs under a directory that need recovery (recovery.md §2), newest first: every `.eval`
 * whose status is still `started` and that has a sample buffer. Beyond Inspect's listing, each
 * says whether it crashed, is still running, or was already recovered, and when it last moved.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EvalLogReader } from '../eval/eval-log-reader.js';
import { isS3Location } from '../storage/s3-location.js';
import type { Storage } from '../storage/storage.js';
import { storageFor } from '../storage/storage-for.js';
import { StrictModeError, warningSink, type WarningOptions } from '../warnings.js';
import { locateSampleBuffer, openSampleBuffer } from './find-buffer.js';
import { defaultOutputPath } from './output-path.js';

export type RecoverableStatus = 'crashed' | 'running' | 'recovered';

/** Inspect's listing keys (so scripts written against it keep working), then ours. */
export interface RecoverableEvalLog {
  name: string;
  task: string;
  total_samples: number;
  flushed_samples: number;
  completed_samples: number;
  in_progress_samples: number;
  source: 'database' | 'filestore';
  status: RecoverableStatus;
  /** ISO time of the newest sign of life: the buffer's last write, or the log's. */
  last_activity: string;
  /** The log as found (a path under the log dir, or an s3:// URI). */
  path: string;
  /** The recovered log, when one exists already. */
  recovered_path?: string;
}

export interface ListOptions extends WarningOptions {
  storage?: Storage;
  dataDir?: string;
}

export async function recoverableEvalLogs(logDir: string, options: ListOptions = {}): Promise<RecoverableEvalLog[]> {
  const storage = options.storage ?? storageFor(logDir);
  const found: { path: string; mtimeMs: number }[] = [];
  for (const path of await evalLogsUnder(storage, logDir.replace(/[/\\]+$/, ''))) {
    const stat = await storage.stat(path);
    if (stat) found.push({ path, mtimeMs: stat.mtimeMs });
  }
  found.sort((a, b) => b.mtimeMs - a.mtimeMs);
  const warn = warningSink(options);
  const logs: RecoverableEvalLog[] = [];
  for (const { path, mtimeMs } of found) {
    try {
      const entry = await describe(path, mtimeMs, storage, options);
      if (entry) logs.push(entry);
    } catch (error) {
      if (error instanceof StrictModeError) throw error;
      // One bad file must not hide the others; it is named rather than silently dropped.
      const reason = error instanceof Error ? error.message : String(error);
      const message = `${reason.includes(path) ? reason : `${path}: ${reason}`} (left out of the listing)`;
      warn({ code: 'LOG_UNREADABLE', message, details: { path } });
    }
  }
  return logs;
}

async function describe(path: string, mtimeMs: number, storage: Storage, options: ListOptions): Promise<RecoverableEvalLog | undefined> {
  // Most logs in a directory are finished: tell those apart without holding their directories.
  const glance = await EvalLogReader.open(storage.byteSource(path), { headerOnly: true });
  const finished = glance.finished;
  await glance.close();
  if (finished) return undefined;
  const log = await EvalLogReader.open(storage.byteSource(path));
  try {
    const buffer = await locateSampleBuffer(path, log, { storage, dataDir: options.dataDir });
    if (buffer.state === 'none') return undefined;
    const recoveredPath = defaultOutputPath(path);
    const recovered = (await storage.stat(recoveredPath)) !== undefined;
    const { eval: spec } = await log.start();
    let completed = 0;
    let inProgress = 0;
    if (buffer.state !== 'running') {
      const source = await openSampleBuffer(buffer, { storage, warn: warningSink(options) });
      try {
        for (const sample of await source.samples()) sample.completed ? completed++ : inProgress++;
      } finally {
        await source.close();
      }
    }
    return {
      name: isS3Location(path) ? path : pathToFileURL(resolve(path)).href,
      task: spec.task,
      total_samples: (spec.dataset.samples ?? 0) * (spec.config.epochs ?? 1),
      flushed_samples: log.sampleCount(),
      completed_samples: completed,
      in_progress_samples: inProgress,
      source: buffer.state === 'running' ? buffer.source : buffer.state,
      status: buffer.state === 'running' ? 'running' : recovered ? 'recovered' : 'crashed',
      last_activity: new Date(Math.max(mtimeMs, buffer.lastActivityMs)).toISOString(),
      path,
      ...(recovered ? { recovered_path: recoveredPath } : {}),
    };
  } finally {
    await log.close();
  }
}

/** `.eval` files under a directory, at any depth, leaving out `.buffer` and other dot directories. */
async function evalLogsUnder(storage: Storage, directory: string): Promise<string[]> {
  const logs: string[] = [];
  for (const name of await storage.list(directory)) {
    if (name.startsWith('.')) continue;
    const location = storage.join(directory, name);
    if (name.endsWith('.eval')) {
      if (!name.endsWith('-recovered.eval')) logs.push(location);
    } else {
      logs.push(...(await evalLogsUnder(storage, location)));
    }
  }
  return logs;
}
