/**
 * Which buffer a crashed log is recovered from (recovery.md §3): the first buffer driver's
 * (buffer/drivers.ts) that finds one, each judging its own writer's liveness; else none (the
 * log's flushed samples alone). Unlike Inspect, a buffer still being written is judged running,
 * and only on positive evidence of a live writer, never on a file's times (a `cp -r` copy makes
 * every file fresh).
 */
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { formatAge, type FoundBuffer, type LogRecord, type OpenOptions } from '../buffer/buffer-driver.js';
import { listOrphanedWals } from '../buffer/database/candidates.js';
import { inspectDataDir, sampleBufferDirName } from '../buffer/database/location.js';
import { bufferDrivers } from '../buffer/drivers.js';
import { filestoreDirForLog, manifestFileName } from '../buffer/filestore/layout.js';
import { newestTimeMs, noBuffer } from '../buffer/sample-buffer-source.js';
import { BufferUnreadableError, fileSystemError, NotFoundError } from '../errors.js';
import { isS3Location } from '../storage/s3-location.js';
import type { Storage } from '../storage/storage.js';
import { warnings, type WarningHandler } from '../warnings.js';

export interface FindBufferOptions {
  storage: Storage;
  dataDir?: string;
  /** A database file or `.buffer/<name>` directory named by the user, instead of searching. */
  buffer?: string;
  /** How long after its last recorded activity a run without a heartbeat may still be alive; default 1 hour. */
  staleAfterMs?: number;
  warn: WarningHandler;
  /** For tests: the clock, in ms. */
  now?: number;
}

export const defaultStaleAfterMs = 3600_000;

export async function findSampleBuffer(location: string, log: LogRecord, options: FindBufferOptions): Promise<FoundBuffer> {
  const open: OpenOptions = { log, warn: options.warn, staleAfterMs: options.staleAfterMs ?? defaultStaleAfterMs, now: options.now ?? Date.now() };
  if (options.buffer !== undefined) return openNamedBuffer(options.buffer, open);
  const unreadable: string[] = [];
  for (const driver of bufferDrivers) {
    const located = await driver.locate(location, { storage: options.storage, dataDir: options.dataDir });
    if (!located) continue;
    try {
      return await driver.open(located, open);
    } catch (error) {
      // A buffer unreadable as a whole costs only itself: the next one, or the flushed samples.
      if (!(error instanceof BufferUnreadableError)) throw error;
      unreadable.push(error.message);
    }
  }
  const dataDir = options.dataDir ?? inspectDataDir();
  const orphanedWals = await listOrphanedWals(location, { dataDir });
  for (const wal of orphanedWals) {
    const database = wal.slice(0, -'-wal'.length);
    options.warn(warnings.walMissing(`${wal} has no ${basename(database)} beside it: a -wal holds only the changes since the last checkpoint and cannot be read alone; copy the .db from the machine that ran the eval beside it, and recover again`, { database }));
  }
  const searched = unreadable.length > 0 ? unreadable.join('; ') : `no database for it under ${join(dataDir, sampleBufferDirName)}, no ${options.storage.join(filestoreDirForLog(location), manifestFileName)}`;
  return withoutBuffer(searched, open);
}

/** The buffer the user named: a `.db` file, or a `.buffer/<name>` directory (local or S3). */
async function openNamedBuffer(named: string, open: OpenOptions): Promise<FoundBuffer> {
  if (!isS3Location(named)) await assertExists(named);
  for (const driver of bufferDrivers) {
    const located = await driver.locateNamed(named);
    if (located) return driver.open(located, open);
  }
  throw new NotFoundError(`${named}: --buffer names neither a buffer database file nor a filestore directory with a ${manifestFileName}`);
}

/**
 * No buffer: the log's flushed samples are all there is. Its newest recorded time (the start,
 * the journaled completions) says whether a writer elsewhere may still be adding to it.
 */
async function withoutBuffer(searched: string, { log, now, staleAfterMs }: OpenOptions): Promise<FoundBuffer> {
  const times: unknown[] = [(await log.start()).eval.created];
  // A damaged journal entry tells nothing of the time; the recovery's own pass warns of it.
  for await (const row of log.summaryRows({ onDamaged: () => undefined })) times.push(row.completed_at);
  const lastActivityMs = newestTimeMs(times);
  const recent = lastActivityMs !== undefined && now - lastActivityMs < staleAfterMs;
  const reason = recent ? `it has no buffer and last recorded activity ${formatAge(now - lastActivityMs)} ago: a run elsewhere may still be writing it` : searched;
  return { source: noBuffer, verdict: recent ? 'uncertain' : 'crashed', reason, lastActivityMs };
}

async function assertExists(path: string): Promise<void> {
  try {
    await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new NotFoundError(`${path}: no such buffer (named with --buffer)`, error);
    throw fileSystemError(error, path, 'stat');
  }
}
