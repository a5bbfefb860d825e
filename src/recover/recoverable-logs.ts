/**
 * The logs under a directory that need recovery (recovery.md §2), newest first: every `.eval`
 * (or `.json`) whose status is still `started`. Beyond Inspect's listing, logs whose buffer is
 * gone are listed too (source `none`: their flushed samples can still be recovered), and each
 * says whether it crashed, is still running, or was already recovered, and when it last recorded
 * anything. A running log shows its real counts.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BufferSourceKind } from '../buffer/sample-buffer-source.js';
import { EvalLogReader } from '../eval/eval-log-reader.js';
import { isJsonLogName, readJsonEvalLog } from '../eval/json-log.js';
import { isS3Location } from '../storage/s3-location.js';
import type { Storage } from '../storage/storage.js';
import { storageFor } from '../storage/storage-for.js';
import { StrictModeError, warnings, warningSink, type WarningOptions } from '../warnings.js';
import type { LogRecord } from '../buffer/buffer-driver.js';
import { findSampleBuffer } from './find-buffer.js';
import { defaultOutputPath } from './output-path.js';
import { removeDeadProcessesTempDirs } from '../bytes/exit-cleanup.js';

export type RecoverableStatus = 'crashed' | 'running' | 'recovered';

/** Inspect's listing keys (so scripts written against it keep working), then ours. */
export interface RecoverableEvalLog {
  name: string;
  task: string;
  total_samples: number;
  flushed_samples: number;
  completed_samples: number;
  in_progress_samples: number;
  /** `none`: the buffer is gone; only the flushed samples can be recovered. */
  source: BufferSourceKind;
  status: RecoverableStatus;
  /** ISO time the run last recorded something (inside its buffer, else its log): not a file's mtime, which a copy resets. */
  last_activity: string | null;
  /** The log as found (a path under the log dir, or an s3:// URI). */
  path: string;
  /** The recovered log, when one exists already. */
  recovered_path?: string;
}

export interface ListOptions extends WarningOptions {
  storage?: Storage;
  dataDir?: string;
  /** As `recoverEvalLog`'s: how long a buffer without a heartbeat may belong to a live run. */
  staleAfterMs?: number;
}

export async function recoverableEvalLogs(logDir: string, options: ListOptions = {}): Promise<RecoverableEvalLog[]> {
  // What crashed processes left in the temp dir goes too: a sweep of crashed runs should leave no debris.
  removeDeadProcessesTempDirs();
  const storage = options.storage ?? storageFor(logDir);
  const found: { path: string; mtimeMs: number }[] = [];
  for (const path of await evalLogsUnder(storage, logDir.replace(/[/\\]+$/, ''))) {
    const stat = await storage.stat(path);
    if (stat) found.push({ path, mtimeMs: stat.mtimeMs });
  }
  found.sort((a, b) => b.mtimeMs - a.mtimeMs);
  const warn = warningSink(options);
  const logs: RecoverableEvalLog[] = [];
  for (const { path } of found) {
    try {
      const entry = path.endsWith('.json') ? await describeJsonLog(path, storage, options) : await describe(path, storage, options);
      if (entry) logs.push(entry);
    } catch (error) {
      if (error instanceof StrictModeError) throw error;
      // One bad file must not hide the others; it is named rather than silently dropped.
      const reason = error instanceof Error ? error.message : String(error);
      const message = `${reason.includes(path) ? reason : `${path}: ${reason}`} (left out of the listing)`;
      warn(warnings.logUnreadable(message, { path }, path));
    }
  }
  return logs;
}

async function describe(path: string, storage: Storage, options: ListOptions): Promise<RecoverableEvalLog | undefined> {
  // Most logs in a directory are finished: tell those apart without holding their directories.
  // A log cut short (a partial copy) is listed from its whole entries, as recovery reads it.
  const glance = await EvalLogReader.open(storage.byteSource(path), { headerOnly: true, salvage: true });
  const finished = glance.finished;
  await glance.close();
  if (finished) return undefined;
  const log = await EvalLogReader.open(storage.byteSource(path), { salvage: true });
  try {
    return await listing(path, log, log.sampleCount(), storage, options);
  } finally {
    await log.close();
  }
}

/** A `.json` log still `started`: listed as Inspect lists it (its buffer can only be a database). */
async function describeJsonLog(path: string, storage: Storage, options: ListOptions): Promise<RecoverableEvalLog | undefined> {
  const { header, samples } = await readJsonEvalLog(storage, path);
  if ((header.status ?? 'started') !== 'started') return undefined;
  const record = {
    start: async () => ({ version: header.version ?? 2, eval: header.eval, plan: header.plan ?? {} }),
    summaryRows: async function* () {
      for (const sample of samples) yield { completed_at: sample.completed_at };
    },
  };
  return listing(path, record, new Set(samples.map((sample) => `${typeof sample.id}:${sample.id}:${sample.epoch}`)).size, storage, options);
}

async function listing(path: string, log: LogRecord, flushed: number, storage: Storage, options: ListOptions): Promise<RecoverableEvalLog | undefined> {
  const found = await findSampleBuffer(path, log, { storage, dataDir: options.dataDir, staleAfterMs: options.staleAfterMs, warn: warningSink(options) });
  try {
    const recoveredPath = defaultOutputPath(path);
    const recovered = (await storage.stat(recoveredPath)) !== undefined;
    // Recovered, and no buffer left over: nothing more to do (Inspect leaves these out too).
    if (recovered && found.source.kind === 'none') return undefined;
    const { eval: spec } = await log.start();
    let completed = 0;
    let inProgress = 0;
    for (const sample of await found.source.samples()) sample.completed ? completed++ : inProgress++;
    return {
      name: isS3Location(path) ? path : pathToFileURL(resolve(path)).href,
      task: spec.task,
      total_samples: (spec.dataset.samples ?? 0) * (spec.config.epochs ?? 1),
      flushed_samples: flushed,
      completed_samples: completed,
      in_progress_samples: inProgress,
      source: found.source.kind,
      status: found.verdict === 'running' ? 'running' : recovered ? 'recovered' : 'crashed',
      last_activity: found.lastActivityMs === undefined ? null : new Date(found.lastActivityMs).toISOString(),
      path,
      ...(recovered ? { recovered_path: recoveredPath } : {}),
    };
  } finally {
    await found.source.close();
  }
}

/**
 * Logs under a directory, at any depth, leaving out `.buffer` and other dot directories: every
 * `.eval`, and `.json` files named as Inspect names logs (an ISO timestamp first).
 */
async function evalLogsUnder(storage: Storage, directory: string): Promise<string[]> {
  const logs: string[] = [];
  for (const name of await storage.list(directory)) {
    if (name.startsWith('.')) continue;
    const location = storage.join(directory, name);
    if (name.endsWith('.eval')) {
      if (!name.endsWith('-recovered.eval')) logs.push(location);
    } else if (name.endsWith('.json')) {
      if (isJsonLogName(name)) logs.push(location);
    } else {
      logs.push(...(await evalLogsUnder(storage, location)));
    }
  }
  return logs;
}
