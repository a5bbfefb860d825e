/**
 * Which buffer a crashed log is recovered from (recovery.md §3): the newest buffer database
 * whose writer is dead, else the `.buffer/` filestore, else none (the log's flushed samples
 * alone). Unlike Inspect, a buffer still being written is judged running, and only on positive
 * evidence of a live writer, never on a file's times (a `cp -r` copy makes every file fresh):
 * - a database: a live process holds it open (writer-liveness.ts);
 * - our filestore: its heartbeat, which our writer beats on a timer while the run lives;
 * - Inspect's filestore (no heartbeat): the newest time recorded inside it is within a few sync
 *   intervals. Older than that but within `staleAfterMs`, a live run may be sitting in a long
 *   model call: it is recovered, but its buffer is kept ('uncertain').
 */
import { stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { listBufferDatabases } from '../buffer/database/candidates.js';
import { DatabaseBufferSource } from '../buffer/database/database-source.js';
import { inspectDataDir, parseBufferDatabaseFileName, sampleBufferDirName } from '../buffer/database/location.js';
import { FilestoreBufferSource } from '../buffer/filestore/filestore-source.js';
import { readHeartbeat, heartbeatFileName, isHeartbeatFresh } from '../buffer/filestore/heartbeat.js';
import { filestoreDirForLog, manifestFileName } from '../buffer/filestore/layout.js';
import { newestTimeMs, noBuffer, type SampleBufferSource } from '../buffer/sample-buffer-source.js';
import { fileWriterState } from '../buffer/writer-liveness.js';
import { isProcessAlive } from '../bytes/process-alive.js';
import { fileSystemError, NotFoundError } from '../errors.js';
import type { EvalSampleSummary, LogStart } from '../eval/schemas.js';
import { isS3Location } from '../storage/s3-location.js';
import type { Storage } from '../storage/storage.js';
import { storageFor } from '../storage/storage-for.js';
import type { WarningHandler } from '../warnings.js';

/** What the evidence says of the buffer's writer. */
export type WriterVerdict = 'crashed' | 'running' | 'uncertain';

export type BufferRef = { kind: 'database'; path: string } | { kind: 'filestore'; directory: string; storage: Storage };

export interface FoundBuffer {
  /** Where the buffer is; undefined when there is none. */
  buffer: BufferRef | undefined;
  /** Opened for reading (for a running buffer too: listing counts it, `force` recovers it). */
  source: SampleBufferSource;
  verdict: WriterVerdict;
  /** Why the verdict (running, uncertain), or where nothing was found (no buffer). */
  reason: string;
  /** The newest time the buffer (or, without one, the log) records, in ms. */
  lastActivityMs: number | undefined;
  /** A database found under another log directory's hash: the directory it was found in. */
  relocatedFrom?: string;
}

/** What the search needs of the log: its start, and the times of its flushed samples. */
export interface LogRecord {
  start(): Promise<LogStart>;
  summaryRows(): AsyncIterable<Pick<EvalSampleSummary, 'completed_at'>>;
}

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

/** Inspect's `--log-shared` default interval when the flag is given bare (true). */
const defaultSyncSeconds = 10;

export async function findSampleBuffer(location: string, log: LogRecord, options: FindBufferOptions): Promise<FoundBuffer> {
  const now = options.now ?? Date.now();
  const staleAfterMs = options.staleAfterMs ?? defaultStaleAfterMs;
  if (options.buffer !== undefined) return openNamedBuffer(options.buffer, log, options, now, staleAfterMs);

  const dataDir = options.dataDir ?? inspectDataDir();
  const databases = await listBufferDatabases(location, { dataDir });
  const live = databases.find((candidate) => candidate.alive);
  const dead = databases.find((candidate) => !candidate.alive);
  // A newer crashed DB beside an older live one is a retry that crashed after the live one stalled.
  const running = live !== undefined && (dead === undefined || live.mtimeMs >= dead.mtimeMs);
  const database = running ? live : dead;
  if (database) {
    const verdict = running ? 'running' : 'crashed';
    const found = await openDatabase(database.path, verdict, `its buffer database ${database.path}: ${database.reason}`, options.warn);
    return database.relocated ? { ...found, relocatedFrom: dirname(database.path) } : found;
  }

  const directory = filestoreDirForLog(location);
  if (await options.storage.stat(options.storage.join(directory, manifestFileName))) {
    return openFilestore(directory, options.storage, log, options, now, staleAfterMs);
  }
  const searched = `no database for it under ${join(dataDir, sampleBufferDirName)}, no ${options.storage.join(directory, manifestFileName)}`;
  return withoutBuffer(log, searched, now, staleAfterMs);
}

async function openDatabase(path: string, verdict: WriterVerdict, reason: string, warn: WarningHandler): Promise<FoundBuffer> {
  const source = await DatabaseBufferSource.open(path, warn);
  return closingOnError(source, async () => ({ buffer: { kind: 'database', path }, source, verdict, reason, lastActivityMs: await source.lastActivityMs() }));
}

async function openFilestore(
  directory: string,
  storage: Storage,
  log: LogRecord,
  options: FindBufferOptions,
  now: number,
  staleAfterMs: number,
): Promise<FoundBuffer> {
  const source = await FilestoreBufferSource.open(directory, { storage, warn: options.warn });
  return closingOnError(source, () => judgeFilestore(source, directory, storage, log, now, staleAfterMs));
}

/** Whether the filestore's writer lives: from its heartbeat, else from the newest time recorded inside it. */
async function judgeFilestore(
  source: SampleBufferSource,
  directory: string,
  storage: Storage,
  log: LogRecord,
  now: number,
  staleAfterMs: number,
): Promise<FoundBuffer> {
  const buffer = { kind: 'filestore', directory, storage } as const;
  const lastActivityMs = (await source.lastActivityMs()) ?? Date.parse((await log.start()).eval.created);
  const heartbeat = await readHeartbeat(storage, storage.join(directory, heartbeatFileName));
  if (heartbeat) {
    // On the writer's own host a dead pid settles it; elsewhere only the heartbeat's age can.
    const writerDead = heartbeat.host === hostname() && !isProcessAlive(heartbeat.pid);
    if (!writerDead && isHeartbeatFresh(heartbeat, now)) {
      const age = Math.round((now - Date.parse(heartbeat.time)) / 1000);
      const reason = `its filestore heartbeat from ${heartbeat.host} pid ${heartbeat.pid} is ${age}s old`;
      return { buffer, source, verdict: 'running', reason, lastActivityMs };
    }
    return { buffer, source, verdict: 'crashed', reason: `its writer's heartbeat stopped`, lastActivityMs };
  }
  const interval = syncIntervalSeconds((await log.start()).eval.config.log_shared);
  const age = now - lastActivityMs;
  const ago = formatAge(age);
  if (age < (3 * interval + 5) * 1000) {
    const reason = `its filestore recorded activity ${ago} ago (sync interval ${interval}s)`;
    return { buffer, source, verdict: 'running', reason, lastActivityMs };
  }
  if (age < staleAfterMs) {
    const reason = `its filestore last recorded activity ${ago} ago, within --stale-after (${formatAge(staleAfterMs)}): the run may still be waiting on a model`;
    return { buffer, source, verdict: 'uncertain', reason, lastActivityMs };
  }
  return { buffer, source, verdict: 'crashed', reason: `its filestore last recorded activity ${ago} ago`, lastActivityMs };
}

/** The buffer the user named: a `.db` file, or a `.buffer/<name>` directory (local or S3). */
async function openNamedBuffer(named: string, log: LogRecord, options: FindBufferOptions, now: number, staleAfterMs: number): Promise<FoundBuffer> {
  if (!isS3Location(named) && (await isRegularFile(named))) {
    const pid = parseBufferDatabaseFileName(named.slice(named.lastIndexOf('/') + 1))?.pid;
    const state = pid === undefined ? { alive: false, reason: 'named with --buffer' } : fileWriterState(pid, named);
    return openDatabase(named, state.alive ? 'running' : 'crashed', `its buffer database ${named}: ${state.reason}`, options.warn);
  }
  const storage = storageFor(named);
  const directory = named.replace(/\/+$/, '');
  if (!(await storage.stat(storage.join(directory, manifestFileName)))) {
    throw new NotFoundError(`${named}: --buffer names neither a buffer database file nor a filestore directory with a ${manifestFileName}`);
  }
  return openFilestore(directory, storage, log, options, now, staleAfterMs);
}

/**
 * No buffer: the log's flushed samples are all there is. Its newest recorded time (the start,
 * the journaled completions) says whether a writer elsewhere may still be adding to it.
 */
async function withoutBuffer(log: LogRecord, searched: string, now: number, staleAfterMs: number): Promise<FoundBuffer> {
  const times: unknown[] = [(await log.start()).eval.created];
  for await (const row of log.summaryRows()) times.push(row.completed_at);
  const lastActivityMs = newestTimeMs(times);
  const recent = lastActivityMs !== undefined && now - lastActivityMs < staleAfterMs;
  const reason = recent ? `it has no buffer and last recorded activity ${formatAge(now - lastActivityMs)} ago: a run elsewhere may still be writing it` : searched;
  return { buffer: undefined, source: noBuffer, verdict: recent ? 'uncertain' : 'crashed', reason, lastActivityMs };
}

/** Runs `judge`, closing the source when it throws: the caller only gets to close what is returned. */
async function closingOnError<T>(source: SampleBufferSource, judge: () => Promise<T>): Promise<T> {
  try {
    return await judge();
  } catch (error) {
    await source.close();
    throw error;
  }
}

async function isRegularFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new NotFoundError(`${path}: no such buffer (named with --buffer)`, error);
    throw fileSystemError(error, path, 'stat');
  }
}

function syncIntervalSeconds(logShared: number | boolean | null | undefined): number {
  if (typeof logShared === 'number' && logShared > 0) return logShared;
  return defaultSyncSeconds;
}

function formatAge(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} days`;
}
