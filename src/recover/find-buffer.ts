/**
 * Which buffer a crashed log is recovered from (recovery.md §3): the newest buffer database
 * whose writer is dead, else the `.buffer/` filestore. Unlike Inspect, a buffer that is still
 * being written is reported as running: a database whose pid is alive here, or a filestore
 * whose heartbeat (or, for Inspect's, whose manifest) is fresher than its sync interval allows.
 */
import { join } from 'node:path';
import { hostname } from 'node:os';
import { isProcessAlive, listBufferDatabases } from '../buffer/database/candidates.js';
import { DatabaseBufferSource } from '../buffer/database/database-source.js';
import { inspectDataDir, sampleBufferDirName } from '../buffer/database/location.js';
import { FilestoreBufferSource } from '../buffer/filestore/filestore-source.js';
import { readHeartbeat, heartbeatFileName, isHeartbeatFresh } from '../buffer/filestore/heartbeat.js';
import { filestoreDirForLog, manifestFileName } from '../buffer/filestore/layout.js';
import type { SampleBufferSource } from '../buffer/sample-buffer-source.js';
import type { EvalLogReader } from '../eval/eval-log-reader.js';
import type { Storage } from '../storage/storage.js';
import type { WarningHandler } from '../warnings.js';

/** A buffer that recovery can read. */
export type ReadableBuffer = { state: 'database'; path: string; lastActivityMs: number } | { state: 'filestore'; directory: string; lastActivityMs: number };

export type LocatedBuffer =
  | { state: 'none'; searched: string }
  /** A writer still seems to use it; `buffer` is what recovery would read if forced. */
  | { state: 'running'; reason: string; source: 'database' | 'filestore'; lastActivityMs: number; buffer: ReadableBuffer }
  | ReadableBuffer;

export interface LocateOptions {
  storage: Storage;
  dataDir?: string;
  /** For tests: the clock, in ms. */
  now?: number;
}

/** Inspect's `--log-shared` default interval when the flag is given bare (true). */
const defaultSyncSeconds = 10;

export async function locateSampleBuffer(location: string, log: EvalLogReader, options: LocateOptions): Promise<LocatedBuffer> {
  const dataDir = options.dataDir ?? inspectDataDir();
  const databases = await listBufferDatabases(location, { dataDir });
  const live = databases.find((candidate) => candidate.alive);
  const crashed = databases.find((candidate) => !candidate.alive);
  if (live && (!crashed || live.mtimeMs >= crashed.mtimeMs)) {
    const buffer = { state: 'database', path: live.path, lastActivityMs: live.mtimeMs } as const;
    return { state: 'running', source: 'database', reason: `its buffer database is held by live process ${live.pid} (${live.path})`, lastActivityMs: live.mtimeMs, buffer };
  }
  if (crashed) return { state: 'database', path: crashed.path, lastActivityMs: crashed.mtimeMs };

  const directory = filestoreDirForLog(location);
  const manifest = await options.storage.stat(options.storage.join(directory, manifestFileName));
  if (!manifest) {
    return { state: 'none', searched: `no database for it under ${join(dataDir, sampleBufferDirName)}, no ${options.storage.join(directory, manifestFileName)}` };
  }
  const now = options.now ?? Date.now();
  const heartbeat = await readHeartbeat(options.storage, options.storage.join(directory, heartbeatFileName));
  if (heartbeat) {
    const lastActivityMs = Date.parse(heartbeat.time);
    // On the writer's own host a dead pid settles it; elsewhere only the heartbeat's age can.
    const writerDead = heartbeat.host === hostname() && !isProcessAlive(heartbeat.pid);
    if (!writerDead && isHeartbeatFresh(heartbeat, now)) {
      const reason = `its filestore heartbeat from ${heartbeat.host} pid ${heartbeat.pid} is ${Math.round((now - lastActivityMs) / 1000)}s old`;
      return { state: 'running', source: 'filestore', reason, lastActivityMs, buffer: { state: 'filestore', directory, lastActivityMs } };
    }
    return { state: 'filestore', directory, lastActivityMs };
  }
  // Inspect's own filestore has no heartbeat: a manifest rewritten within a few sync intervals is live.
  const interval = syncIntervalSeconds((await log.start()).eval.config.log_shared);
  const age = now - manifest.mtimeMs;
  if (age < (3 * interval + 5) * 1000) {
    const reason = `its filestore manifest was rewritten ${Math.round(age / 1000)}s ago (sync interval ${interval}s)`;
    return { state: 'running', source: 'filestore', reason, lastActivityMs: manifest.mtimeMs, buffer: { state: 'filestore', directory, lastActivityMs: manifest.mtimeMs } };
  }
  return { state: 'filestore', directory, lastActivityMs: manifest.mtimeMs };
}

function syncIntervalSeconds(logShared: number | boolean | null | undefined): number {
  if (typeof logShared === 'number' && logShared > 0) return logShared;
  return defaultSyncSeconds;
}

export async function openSampleBuffer(
  located: ReadableBuffer,
  options: { storage: Storage; warn: WarningHandler },
): Promise<SampleBufferSource> {
  return located.state === 'database'
    ? DatabaseBufferSource.open(located.path, options.warn)
    : FilestoreBufferSource.open(located.directory, options);
}
