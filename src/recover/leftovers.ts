/**
 * The temporary files a killed writer leaves beside a log, recognised by name so that the next
 * recovery, resume or `--clean` of that log removes them once no writer of it can be alive:
 * staging copies of in-place recoveries (`.run.eval.recovering-<hex>`), the temp files of their
 * atomic writes (`..run.eval.recovering-<hex>.<hex>.tmp`), and those of the log's own atomic
 * replaces by a recorder, a resume or a recovery (`.run.eval.<hex>.tmp`), and those of its
 * lease record's writes (`..run.eval.recovery-lease.<hex>.tmp`, `.run.eval.recovery-lease.lock`). Local log dirs only:
 * S3 writes are whole-object PUTs, which leave nothing.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { isProcessAlive } from '../bytes/process-alive.js';
import { bufferDrivers } from '../buffer/drivers.js';
import { isTemporarySiblingOf, temporarySiblingWriter } from '../storage/local-storage.js';
import type { Storage } from '../storage/storage.js';
import { parentLocation } from './output-path.js';
import { leaseFileName, leaseHolder } from './recovery-lease.js';

/** A staging copy's name for an in-place recovery of `location`: hidden from listings (Inspect's and ours). */
export function stagingLocation(location: string): string {
  const slash = location.lastIndexOf('/');
  return `${location.slice(0, slash + 1)}${stagingNamePrefix(location)}${randomBytes(4).toString('hex')}`;
}

/** The start of every staging copy's name for this log: `.run.eval.recovering-`. */
function stagingNamePrefix(location: string): string {
  return `.${logFileName(location)}.recovering-`;
}

function logFileName(location: string): string {
  return location.slice(location.lastIndexOf('/') + 1);
}

/** Whether `name`, in the log's directory, is a leftover of a killed recovery of the log (a staging copy, or its temp file). */
function isStagingLeftover(name: string, location: string): boolean {
  const prefix = stagingNamePrefix(location);
  return name.startsWith(prefix) || (name.startsWith(`.${prefix}`) && name.endsWith('.tmp'));
}

/** Whether `name` is a file of a write of the log's lease record (its temp file, or the lock of a compare-and-swap). */
function isLeaseWriteFile(name: string, location: string): boolean {
  const lease = leaseFileName(logFileName(location));
  return isTemporarySiblingOf(name, lease) || name === `${lease}.lock`;
}

/** How old a file of a lease write must be to count as left over when its writer cannot be told. */
const leaseWriteGraceMs = 60_000;

/**
 * Whether the process that wrote a lease write's file is gone. Holding the lease does not keep
 * others from trying to take it, so such a file may be a live competitor's, written a moment
 * ago: it goes only when it names a dead process of this host (a lease record, or a lock's
 * pid), or, naming none that can be judged, once it is older than a minute.
 */
async function writtenByTheDead(storage: Storage, location: string): Promise<boolean> {
  const text = await storage.read(location, { maxBytes: 64 * 1024 }).then((bytes) => Buffer.from(bytes).toString('utf8')).catch(() => undefined);
  if (text === undefined) return false;
  const holder = leaseHolder(text) ?? (/^\d+$/.test(text) ? { host: hostname(), pid: Number(text) } : undefined);
  if (holder?.host === hostname()) return !isProcessAlive(holder.pid);
  const stat = await storage.stat(location).catch(() => undefined);
  return stat !== undefined && Date.now() - stat.mtimeMs > leaseWriteGraceMs;
}

export interface LeftoverOptions {
  /** A staging copy this process is writing: kept, with its temp files. */
  own?: string;
  /** A recovered copy this recovery writes (beside the log or elsewhere): the temp files of a killed write of it go too. */
  output?: string;
  /**
   * Also the temp files of the log's own atomic replaces: only when no writer of the log lives
   * (its run crashed or finished), since a live recorder's publish makes one for a moment.
   */
  publishTemps: boolean;
}

/**
 * Removes the leftovers of killed writers beside the log; their names. Call holding the log's
 * recovery lease: then no other recovery of it is writing a staging copy or its lease record.
 */
export async function removeLeftovers(storage: Storage, location: string, { own, output, publishTemps }: LeftoverOptions): Promise<string[]> {
  if (storage.kind !== 'local') return [];
  const ownName = own === undefined ? undefined : logFileName(own);
  const directory = parentLocation(location);
  const removed = await removeIn(storage, directory, async (name) => {
    if (ownName !== undefined && (name === ownName || isTemporarySiblingOf(name, ownName))) return false;
    if (isLeaseWriteFile(name, location)) {
      // A temp file names its writer: one killed before it wrote a byte is told apart from a competitor's.
      const writer = temporarySiblingWriter(name, leaseFileName(logFileName(location)));
      if (writer !== undefined && writer !== process.pid && !isProcessAlive(writer)) return true;
      return writtenByTheDead(storage, storage.join(directory, name));
    }
    return isStagingLeftover(name, location) || (publishTemps && isTemporarySiblingOf(name, logFileName(location)));
  });
  if (output !== undefined) removed.push(...(await removeIn(storage, parentLocation(output), (name) => isTemporarySiblingOf(name, logFileName(output)))));
  return removed;
}

async function removeIn(storage: Storage, directory: string, isLeftover: (name: string) => boolean | Promise<boolean>): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await storage.list(directory)) {
    if (!(await isLeftover(name))) continue;
    await storage.delete(storage.join(directory, name));
    removed.push(name);
  }
  return removed;
}

/**
 * The buffer of a run whose log has its header, left when a recovery was killed after it
 * replaced the log (or a writer after its last write): everything in it is in the log. Removed
 * when its writer is not alive; its location, or undefined when there was none to remove.
 */
export async function removeFinishedRunBuffer(location: string, { storage, dataDir, staleAfterMs }: { storage: Storage; dataDir?: string; staleAfterMs: number }): Promise<string | undefined> {
  for (const driver of bufferDrivers) {
    const located = await driver.locate(location, { storage, dataDir });
    if (!located || (await driver.liveWriter(located, { staleAfterMs, now: Date.now() })) !== undefined) continue;
    await driver.remove(located);
    return located.location;
  }
  return undefined;
}
