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
import { readJsonEvalLog } from '../eval/json-log.js';
import { isS3Location } from '../storage/s3-location.js';
import type { Storage } from '../storage/storage.js';
import { storageFor } from '../storage/storage-for.js';
import { StrictModeError, warnings, warningSink, type RecoveryWarning, type WarningOptions } from '../warnings.js';
import type { LogRecord } from '../buffer/buffer-driver.js';
import { findSampleBuffer } from './find-buffer.js';
import { mapConcurrently } from './concurrency.js';
import type { FinishedRuns } from './finished-runs.js';
import { scanLogs, type ScannedLog } from './log-scan.js';
import { taskFromLogName } from './log-file-task.js';
import { supersededLogs } from './superseded.js';
import { checkpointsOf, type LogCheckpoints } from './checkpoints.js';
import { removeDeadProcessesTempDirs } from '../bytes/exit-cleanup.js';

export type RecoverableStatus = 'crashed' | 'running' | 'recovered' | 'superseded';

/** A log to recover, as the library lists it; the CLI's `--list --json` gives it Inspect's snake_case keys (listingJson). */
export interface RecoverableEvalLog {
  name: string;
  /** As Inspect lists it: from the file's name (`hold-retry` for a task `hold_retry`; '' for a name without `_`). */
  task: string;
  totalSamples: number;
  flushedSamples: number;
  completedSamples: number;
  inProgressSamples: number;
  /** `none`: no buffer was found; only the flushed samples can be recovered. */
  source: BufferSourceKind;
  status: RecoverableStatus;
  /** ISO time the run last recorded something (inside its buffer, else its log): not a file's mtime, which a copy resets. */
  lastActivity: string | null;
  /** The log as found (a path under the log dir, or an s3:// URI). */
  path: string;
  /** A finished log of the same run (eval_id and run_id), whatever its name, when one exists already. */
  recoveredPath?: string;
  /** Status `superseded`: the newest log of its task (eval_set's next attempt), which `--all` recovers instead. */
  supersededBy?: string;
  /** Its agent checkpoints (`<log base>.checkpoints/` beside it), from which eval-retry resumes its samples. */
  checkpoints?: LogCheckpoints;
}

/** A listing entry with Inspect's keys first (so scripts written against `inspect log recover --list` keep working), then ours. */
export function listingJson(log: RecoverableEvalLog): Record<string, unknown> {
  return {
    name: log.name,
    task: log.task,
    total_samples: log.totalSamples,
    flushed_samples: log.flushedSamples,
    completed_samples: log.completedSamples,
    in_progress_samples: log.inProgressSamples,
    source: log.source,
    status: log.status,
    last_activity: log.lastActivity,
    path: log.path,
    ...(log.recoveredPath === undefined ? {} : { recovered_path: log.recoveredPath }),
    ...(log.supersededBy === undefined ? {} : { superseded_by: log.supersededBy }),
    ...(log.checkpoints === undefined ? {} : { checkpoints: log.checkpoints }),
  };
}

/** Crashed logs are opened whole and their buffers found: fewer at a time than headers. */
const describeConcurrency = 4;

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
  const { logs: scanned, runs } = await scanLogs(storage, logDir.replace(/[/\\]+$/, ''));
  const warn = warningSink(options);
  const unfinished = scanned.filter((log) => !log.finished);
  const superseded = supersededLogs(scanned);
  // Described a few at a time; warnings and entries then come in listing order.
  const described = await mapConcurrently(unfinished, describeConcurrency, async (log) => {
    const noted: RecoveryWarning[] = [];
    try {
      if (log.error !== undefined) throw log.error;
      const entry =
        log.format === 'json'
          ? await describeJsonLog(log.location, storage, options, noted)
          : await describe(log, storage, { ...options, runs, supersededBy: superseded.get(log.location) }, noted);
      return { entry, noted };
    } catch (error) {
      return { error, noted };
    }
  });
  const logs: RecoverableEvalLog[] = [];
  described.forEach(({ entry, error, noted }, index) => {
    for (const warning of noted) warn(warning);
    if (entry) logs.push(entry);
    if (error === undefined) return;
    if (error instanceof StrictModeError) throw error;
    // One bad file must not hide the others; it is named rather than silently dropped.
    const path = unfinished[index]!.location;
    const reason = error instanceof Error ? error.message : String(error);
    const message = `${reason.includes(path) ? reason : `${path}: ${reason}`} (left out of the listing)`;
    warn(warnings.logUnreadable(message, { path }, path));
  });
  return logs;
}

async function describe(
  scanned: ScannedLog,
  storage: Storage,
  options: ListOptions & { runs: FinishedRuns; supersededBy?: string },
  noted: RecoveryWarning[],
): Promise<RecoverableEvalLog | undefined> {
  // A log cut short (a partial copy) is listed from its whole entries, as recovery reads it.
  const log = await EvalLogReader.open(storage.byteSource(scanned.location, scanned.stat), { salvage: true });
  try {
    return await listing(scanned.location, log, log.sampleCount(), storage, options, noted);
  } finally {
    await log.close();
  }
}

/** A `.json` log still `started`: listed as Inspect lists it (its buffer can only be a database). */
async function describeJsonLog(path: string, storage: Storage, options: ListOptions, noted: RecoveryWarning[]): Promise<RecoverableEvalLog | undefined> {
  const { header, samples } = await readJsonEvalLog(storage, path);
  if ((header.status ?? 'started') !== 'started') return undefined;
  const record = {
    start: async () => ({ version: header.version ?? 2, eval: header.eval, plan: header.plan ?? {} }),
    summaryRows: async function* () {
      for (const sample of samples) yield { completed_at: sample.completed_at };
    },
  };
  return listing(path, record, new Set(samples.map((sample) => `${typeof sample.id}:${sample.id}:${sample.epoch}`)).size, storage, options, noted);
}

async function listing(
  path: string,
  log: LogRecord,
  flushed: number,
  storage: Storage,
  options: ListOptions & { runs?: FinishedRuns; supersededBy?: string },
  noted: RecoveryWarning[],
): Promise<RecoverableEvalLog | undefined> {
  const warn = (warning: RecoveryWarning) => void noted.push(warning.log === undefined ? { ...warning, log: path } : warning);
  const found = await findSampleBuffer(path, log, { storage, dataDir: options.dataDir, staleAfterMs: options.staleAfterMs, warn });
  try {
    const { eval: spec } = await log.start();
    // A recovered copy under any name: a finished log of the same run beside it.
    const recoveredPath = options.runs?.copyOf(path, { evalId: spec.eval_id, runId: spec.run_id });
    const recovered = recoveredPath !== undefined;
    // Recovered, and no buffer left over: nothing more to do (Inspect leaves these out too).
    if (recovered && found.source.kind === 'none') return undefined;
    let completed = 0;
    let inProgress = 0;
    for (const sample of await found.source.samples()) sample.completed ? completed++ : inProgress++;
    const checkpoints = await checkpointsOf(storage, path);
    return {
      name: isS3Location(path) ? path : pathToFileURL(resolve(path)).href,
      task: taskFromLogName(path),
      totalSamples: (spec.dataset.samples ?? 0) * (spec.config.epochs ?? 1),
      flushedSamples: flushed,
      completedSamples: completed,
      inProgressSamples: inProgress,
      source: found.source.kind,
      status: found.verdict === 'running' ? 'running' : recovered ? 'recovered' : options.supersededBy !== undefined ? 'superseded' : 'crashed',
      lastActivity: found.lastActivityMs === undefined ? null : new Date(found.lastActivityMs).toISOString(),
      path,
      ...(recovered ? { recoveredPath } : {}),
      ...(options.supersededBy !== undefined && !recovered && found.verdict !== 'running' ? { supersededBy: options.supersededBy } : {}),
      ...(checkpoints ? { checkpoints } : {}),
    };
  } finally {
    await found.source.close();
  }
}
