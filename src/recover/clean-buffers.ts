/**
 * `--clean`: the sample buffers left behind, found by every buffer driver for the directories
 * under a log dir, and deleted when their log finished, was recovered, was superseded by a newer
 * attempt of its task (eval_set's retries), or no longer exists.
 * Inspect deletes a buffer when its run finishes and leaves the others; this says what it
 * removes and how many bytes that frees. A buffer whose writer may still be alive is kept,
 * and so is the buffer of a log that is still to be recovered (it is that log's only copy of
 * its unflushed samples), or whose recovery lease another process holds.
 */
import { basename } from 'node:path';
import type { BufferKind } from '../buffer/buffer-driver.js';
import { bufferDrivers } from '../buffer/drivers.js';
import { bufferDirName } from '../buffer/filestore/layout.js';
import { LogLeasedError } from '../errors.js';
import type { Storage, StoredFile } from '../storage/storage.js';
import { storageFor } from '../storage/storage-for.js';
import { defaultStaleAfterMs } from './find-buffer.js';
import { removeLeftovers } from './leftovers.js';
import { scanLogs, type ScannedLog } from './log-scan.js';
import { parentLocation } from './output-path.js';
import { supersededLogs, supersededReason } from './superseded.js';
import { baseOfCheckpointsDir, checkpointsSuffix, isInsideCheckpoints, type LogCheckpoints } from './checkpoints.js';
import { leaseLocation, RecoveryLease } from './recovery-lease.js';

export interface CleanOptions {
  storage?: Storage;
  dataDir?: string;
  /** Say what would be removed; remove nothing. */
  dryRun?: boolean;
  /** As recovery's: a filestore without a heartbeat that recorded something more recently than this may be live. */
  staleAfterMs?: number;
  /** Remove orphaned agent checkpoints too (a `<base>.checkpoints/` whose log is gone); by default they are only listed. */
  checkpoints?: boolean;
  /** Called as each buffer is judged. */
  onBuffer?: (buffer: CleanedBuffer) => void;
}

export interface CleanedBuffer {
  buffer: string;
  /** `checkpoints`: an orphaned `<base>.checkpoints/` directory (removed only with the `checkpoints` option). */
  kind: BufferKind | 'checkpoints';
  log: string;
  /** `would-remove`: on a dry run, what `removed` would have been. */
  status: 'removed' | 'would-remove' | 'kept';
  reason: string;
  bytes: number;
  dryRun?: boolean;
}

export interface CleanSummary {
  buffers: number;
  removed: number;
  kept: number;
  /** Bytes the removed buffers held (would hold, on a dry run). */
  bytesFreed: number;
  /** Files killed writers left beside the logs (staging copies, temp files, dead holders' leases), removed; none on a dry run. */
  leftoversRemoved: number;
  dryRun: boolean;
}

export async function cleanBuffers(logDir: string, options: CleanOptions = {}): Promise<{ buffers: CleanedBuffer[]; summary: CleanSummary }> {
  const root = logDir.replace(/[/\\]+$/, '');
  const storage = options.storage ?? storageFor(root);
  const now = Date.now();
  const staleAfterMs = options.staleAfterMs ?? defaultStaleAfterMs;
  // One listing of the log dir serves the scan, the directories to search and whether a log (or its recovered copy) exists.
  const walked = await storage.walk(root);
  const present = new Set(walked.map((file) => file.location));
  const scan = await scanLogs(storage, root, { readOnly: options.dryRun, walked });
  const scanned = new Map(scan.logs.map((log) => [log.location, log]));
  const superseded = supersededLogs(scan.logs);
  const directories = directoriesUnder(storage, root, walked);
  const buffers: CleanedBuffer[] = [];
  for (const driver of bufferDrivers) {
    for (const owned of await driver.enumerate([...directories], { storage, dataDir: options.dataDir })) {
      const judged = async (): Promise<{ orphan: boolean; reason: string }> => {
        const log = scanned.get(owned.log);
        if (log?.finished) return { orphan: true, reason: `its log finished${log.header ? ` (status ${log.header.status})` : ''}` };
        if (!present.has(owned.log)) return { orphan: true, reason: 'its log no longer exists' };
        // The scan read the crashed log's start: its run (none when the start does not read, and the buffer is then kept).
        const recovered = log?.format === 'eval' ? scan.runs.copyOf(owned.log, log.started ?? {}) : undefined;
        if (recovered !== undefined) return { orphan: true, reason: `its log was recovered to ${recovered}` };
        // eval_set retried the task: only the newest attempt is recovered, so an older one's buffer is not needed.
        const newer = superseded.get(owned.log);
        if (newer !== undefined) return { orphan: true, reason: `its log is ${supersededReason(newer)}` };
        return { orphan: false, reason: 'its log is still to be recovered' };
      };
      const { orphan, reason } = await judged();
      let status: CleanedBuffer['status'] = 'kept';
      let why = reason;
      if (orphan) {
        const live = await driver.liveWriter(owned, { staleAfterMs, now });
        if (live !== undefined) why = `${reason}, but its writer may still be alive: ${live}`;
        else if (options.dryRun) status = 'would-remove';
        else {
          const removed = await removeUnlessLeased(storage, owned.log, present.has(owned.log), () => driver.remove(owned));
          if (removed === true) status = 'removed';
          else why = `${reason}, but ${removed}`;
        }
      }
      const cleaned: CleanedBuffer = { buffer: owned.location, kind: owned.kind, log: owned.log, status, reason: why, bytes: owned.bytes, ...(options.dryRun ? { dryRun: true } : {}) };
      buffers.push(cleaned);
      options.onBuffer?.(cleaned);
    }
  }
  for (const { path, bytes, log } of orphanedCheckpoints(storage, root, walked, present)) {
    const reason = `orphaned agent checkpoints: neither ${log} nor its recovered copy exists`;
    let status: CleanedBuffer['status'] = 'kept';
    if (options.checkpoints && options.dryRun) status = 'would-remove';
    else if (options.checkpoints) {
      await storage.deleteTree(path);
      status = 'removed';
    }
    const cleaned: CleanedBuffer = {
      buffer: path,
      kind: 'checkpoints',
      log,
      status,
      reason: options.checkpoints ? reason : `${reason} (--clean --checkpoints removes them)`,
      bytes,
      ...(options.dryRun ? { dryRun: true } : {}),
    };
    buffers.push(cleaned);
    options.onBuffer?.(cleaned);
  }
  const leftoversRemoved = options.dryRun ? 0 : await removeLeftoversBesideLogs(storage, [...scanned.values()], walked);
  const removed = buffers.filter((buffer) => buffer.status !== 'kept');
  return {
    buffers,
    summary: {
      buffers: buffers.length,
      removed: removed.length,
      kept: buffers.length - removed.length,
      bytesFreed: removed.reduce((sum, buffer) => sum + buffer.bytes, 0),
      leftoversRemoved,
      dryRun: options.dryRun === true,
    },
  };
}

/**
 * The leftovers of killed writers beside each log that has any (local log dirs): taken under
 * the log's lease, which a dead holder's lease gives up (and releasing deletes). The log's own
 * temp files go only when it finished: a crashed log's recorder may still be writing.
 */
async function removeLeftoversBesideLogs(storage: Storage, logs: readonly ScannedLog[], walked: readonly StoredFile[]): Promise<number> {
  if (storage.kind !== 'local') return 0;
  // The logs that hidden files are named after (`.run.eval.…`, `..run.eval.…`): one pass over the listing.
  const named = new Set<string>();
  for (const file of walked) {
    const hidden = /^\.{1,2}(.+?\.eval)\./.exec(basename(file.location));
    if (hidden) named.add(storage.join(parentLocation(file.location), hidden[1]!));
  }
  const leases = new Set(walked.map((file) => file.location));
  let removed = 0;
  for (const log of logs) {
    if (!named.has(log.location)) continue;
    await removeUnlessLeased(storage, log.location, true, async () => {
      removed += (await removeLeftovers(storage, log.location, { publishTemps: log.finished === true })).length;
    });
    // A dead holder's lease file: taking it over and releasing it removed it.
    if (leases.has(leaseLocation(storage, log.location)) && (await storage.stat(leaseLocation(storage, log.location))) === undefined) removed++;
  }
  return removed;
}

/** Deletes under the log's recovery lease (a recovery under way may still be reading the buffer); true, or why not. */
async function removeUnlessLeased(storage: Storage, log: string, logExists: boolean, remove: () => Promise<void>): Promise<true | string> {
  if (!logExists) {
    await remove();
    return true;
  }
  let lease: RecoveryLease;
  try {
    lease = await RecoveryLease.acquire(storage, log);
  } catch (error) {
    if (error instanceof LogLeasedError) return error.message;
    throw error;
  }
  try {
    await remove();
    return true;
  } finally {
    await lease.release();
  }
}

/**
 * The checkpoints directories under the log dir whose log is gone: neither `<base>.eval` nor
 * `<base>-recovered.eval` beside them. Those of a log that exists are never touched.
 */
function orphanedCheckpoints(storage: Storage, root: string, walked: readonly StoredFile[], present: ReadonlySet<string>): Array<LogCheckpoints & { log: string }> {
  const found = new Map<string, number>();
  for (const file of walked) {
    const parts = file.relative.split('/');
    const at = parts.findIndex((part, index) => index < parts.length - 1 && part.endsWith(checkpointsSuffix));
    if (at < 0 || parts.slice(0, at).some((part) => part.startsWith('.'))) continue;
    const path = storage.join(root, ...parts.slice(0, at + 1));
    found.set(path, (found.get(path) ?? 0) + file.stat.size);
  }
  const orphans: Array<LogCheckpoints & { log: string }> = [];
  for (const [path, bytes] of found) {
    const [directory, base] = [parentLocation(path), baseOfCheckpointsDir(path)];
    const log = storage.join(directory, `${base}.eval`);
    if (!present.has(log) && !present.has(storage.join(directory, `${base}-recovered.eval`))) orphans.push({ path, bytes, log });
  }
  return orphans;
}

/** The log dir and every directory below it that holds files (outside dot directories and checkpoints), or a `.buffer`. */
function directoriesUnder(storage: Storage, root: string, walked: readonly StoredFile[]): Set<string> {
  const directories = new Set([root]);
  for (const file of walked) {
    if (isInsideCheckpoints(file.relative)) continue;
    const parts = file.relative.split('/');
    const buffer = parts.indexOf(bufferDirName);
    if (buffer >= 0) directories.add(buffer === 0 ? root : storage.join(root, ...parts.slice(0, buffer)));
    else if (!parts.some((part) => part.startsWith('.'))) directories.add(parentLocation(file.location));
  }
  return directories;
}
