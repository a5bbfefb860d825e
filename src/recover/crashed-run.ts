/**
 * Locating a crashed run (recovery.md §3, §7 rule 1): its log opened (refused when it is not a
 * crashed `.eval`), its start read, and the buffer it is recovered from found and judged. What
 * recovering it starts from; a batch locates each log once.
 */
import type { FoundBuffer } from '../buffer/buffer-driver.js';
import { EvalLogFormatError, LogFinishedError, RecoveryNotAvailable, ZipFormatError } from '../errors.js';
import { EvalLogReader } from '../eval/eval-log-reader.js';
import type { LogStart } from '../eval/schemas.js';
import type { Storage, StorageStat } from '../storage/storage.js';
import { warnings, type WarningHandler } from '../warnings.js';
import { findSampleBuffer } from './find-buffer.js';

export interface CrashedRun {
  location: string;
  storage: Storage;
  log: EvalLogReader;
  start: LogStart;
  found: FoundBuffer;
  /** Closes the log and the buffer (safe to call twice). */
  close(): Promise<void>;
}

export interface LocateRunOptions {
  storage: Storage;
  /** The log's stat, when the caller has just taken it: the log is then read pinned to that version without asking again. */
  stat?: StorageStat;
  warn: WarningHandler;
  dataDir?: string;
  buffer?: string;
  staleAfterMs?: number;
  maxEntrySize?: number;
}

export async function locateCrashedRun(location: string, options: LocateRunOptions): Promise<CrashedRun> {
  const { storage, warn } = options;
  const log = await openCrashedLog(storage, location, { stat: options.stat, maxEntrySize: options.maxEntrySize, onWarning: warn });
  try {
    const start = await log.start();
    const found = await findSampleBuffer(location, log, { storage, dataDir: options.dataDir, buffer: options.buffer, staleAfterMs: options.staleAfterMs, warn });
    if (found.relocatedFrom !== undefined) {
      warn(
        warnings.bufferRelocated(
          `The buffer database of ${location} was found under another log directory's hash (the log directory moved since the crash): ${found.relocatedFrom}`,
          { found: found.relocatedFrom },
        ),
      );
    }
    return {
      location,
      storage,
      log,
      start,
      found,
      close: async () => {
        await found.source.close();
        await log.close();
      },
    };
  } catch (error) {
    await log.close();
    throw error;
  }
}

/** Opens the crashed log, refusing anything that is not one. */
async function openCrashedLog(
  storage: Storage,
  location: string,
  { stat, ...options }: { stat?: StorageStat; maxEntrySize?: number; onWarning: WarningHandler },
): Promise<EvalLogReader> {
  let reader: EvalLogReader;
  try {
    reader = await EvalLogReader.open(storage.byteSource(location, stat), { salvage: true, ...options });
  } catch (error) {
    if (error instanceof ZipFormatError || error instanceof EvalLogFormatError) {
      throw new RecoveryNotAvailable(`Log is not recoverable: ${error.message}`);
    }
    throw error;
  }
  if (reader.finished) {
    const status = (await reader.header().catch(() => undefined))?.status ?? 'finished';
    await reader.close();
    throw new LogFinishedError(`Log is not recoverable: ${location} is not a crashed log (status ${status}; it has header.json)`);
  }
  return reader;
}
