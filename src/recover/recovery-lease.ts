/**
 * One recovery of a log at a time. Before it reads anything, a recovery creates a small lease
 * record beside the log (`.<log file name>.recovery-lease`) with a conditional write: an
 * exclusive create locally, `If-None-Match: *` on S3. It renews the lease while it works
 * (`If-Match` on the version it holds) and deletes it when done. A second recovery of the same
 * log stops with a line naming the holder; a lease whose holder is dead (on this host) or whose
 * expiry has passed is taken over, again conditionally, so two takers cannot both win.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import { isProcessAlive } from '../bytes/process-alive.js';
import { LogLeasedError } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import { removeOnExit } from '../bytes/exit-cleanup.js';
import { localPath } from '../storage/local-storage.js';

export const LeaseRecordSchema = z.looseObject({
  host: z.string(),
  pid: z.number().int(),
  started: z.string(),
  expires: z.string(),
  token: z.string(),
});
export type LeaseRecord = z.infer<typeof LeaseRecordSchema>;

export interface LeaseOptions {
  /** How long a lease lives without renewal; default 60 s. It is renewed every third of that. */
  ttlMs?: number;
}

const defaultTtlMs = 60_000;

export function leaseLocation(storage: Storage, logLocation: string): string {
  const cut = Math.max(logLocation.lastIndexOf('/'), logLocation.lastIndexOf('\\'));
  const directory = cut < 0 ? '.' : logLocation.slice(0, cut);
  return storage.join(directory, leaseFileName(logLocation.slice(cut + 1)));
}

/** The host and pid a lease record names, or undefined when the text is not one (a write cut short). */
export function leaseHolder(text: string): { host: string; pid: number } | undefined {
  return decode(Buffer.from(text, 'utf8'));
}

/** The lease record's file name beside the log file `logFile`. */
export function leaseFileName(logFile: string): string {
  return `.${logFile}.recovery-lease`;
}

export class RecoveryLease {
  private renewal: NodeJS.Timeout | undefined;
  private lost: string | undefined;
  private renewing: Promise<void> = Promise.resolve();

  private readonly forgetAtExit: (() => void) | undefined;

  private constructor(
    private readonly storage: Storage,
    readonly location: string,
    private record: LeaseRecord,
    private etag: string,
    private readonly ttlMs: number,
  ) {
    this.renewal = setInterval(() => {
      this.renewing = this.renew();
    }, Math.max(1000, ttlMs / 3));
    this.renewal.unref();
    // A local lease goes with its process even on Ctrl-C; on S3 it expires.
    this.forgetAtExit = storage.kind === 'local' ? removeOnExit(localPath(location)) : undefined;
  }

  /** Takes the lease on `logLocation`, or throws LogLeasedError naming the holder. */
  static async acquire(storage: Storage, logLocation: string, options: LeaseOptions = {}): Promise<RecoveryLease> {
    const ttlMs = options.ttlMs ?? defaultTtlMs;
    const location = leaseLocation(storage, logLocation);
    const record = newRecord(ttlMs);
    const created = await storage.createExclusive(location, encode(record));
    if (created !== undefined) return new RecoveryLease(storage, location, record, created, ttlMs);

    const current = await storage.readTagged(location);
    if (current === undefined) {
      // Released between our create and our read: one more try, then it is someone else's.
      const again = await storage.createExclusive(location, encode(record));
      if (again !== undefined) return new RecoveryLease(storage, location, record, again, ttlMs);
      throw new LogLeasedError(`${logLocation} is being recovered by another process (${location})`);
    }
    const holder = decode(current.data);
    const stale = staleness(holder);
    if (stale === undefined) {
      throw new LogLeasedError(`${logLocation} is being recovered by ${describeHolder(holder)} (lease ${location})`);
    }
    const taken = await storage.replaceIfTagged(location, encode(record), current.etag);
    if (taken === undefined) {
      throw new LogLeasedError(`${logLocation} is being recovered by another process, which took over a lease that was ${stale} (${location})`);
    }
    return new RecoveryLease(storage, location, record, taken, ttlMs);
  }

  /** Throws LogLeasedError when a live holder has the lease on `logLocation` (a dry run's check: nothing is written). */
  static async assertFree(storage: Storage, logLocation: string): Promise<void> {
    const location = leaseLocation(storage, logLocation);
    const current = await storage.readTagged(location);
    if (current === undefined) return;
    const holder = decode(current.data);
    if (staleness(holder) === undefined) throw new LogLeasedError(`${logLocation} is being recovered by ${describeHolder(holder)} (lease ${location})`);
  }

  /** Throws when the lease was lost (another process took it over after it expired): nothing may be published then. */
  async assertHeld(): Promise<void> {
    await this.renewing;
    if (!this.lost && (await this.storage.readTagged(this.location))?.etag !== this.etag) this.lost = 'another process took it over';
    if (this.lost) throw new LogLeasedError(`${this.location}: the recovery lease was lost (${this.lost}); nothing was published`);
  }

  /**
   * Ends renewal and deletes the lease if it is still ours, in one conditional request (as
   * litestream releases its lease): a lease another process took over in between is left to it.
   */
  async release(): Promise<void> {
    clearInterval(this.renewal);
    this.renewal = undefined;
    await this.renewing;
    this.forgetAtExit?.();
    if (this.lost) return;
    await this.storage.deleteIfTagged(this.location, this.etag).catch(() => undefined);
  }

  private async renew(): Promise<void> {
    if (this.lost || this.renewal === undefined) return;
    const record = { ...this.record, expires: new Date(Date.now() + this.ttlMs).toISOString() };
    try {
      const etag = await this.storage.replaceIfTagged(this.location, encode(record), this.etag);
      if (etag === undefined) {
        this.lost = 'another process replaced it';
        return;
      }
      this.record = record;
      this.etag = etag;
    } catch (error) {
      // A failed renewal is not yet a lost lease: the next one may go through before expiry.
      if (Date.parse(this.record.expires) <= Date.now()) this.lost = `it expired: ${(error as Error).message}`;
    }
  }
}

function newRecord(ttlMs: number): LeaseRecord {
  const now = Date.now();
  return {
    host: hostname(),
    pid: process.pid,
    started: new Date(now).toISOString(),
    expires: new Date(now + ttlMs).toISOString(),
    token: randomBytes(12).toString('hex'),
  };
}

function encode(record: LeaseRecord): string {
  return `${JSON.stringify(record, null, 2)}\n`;
}

function decode(data: Uint8Array): LeaseRecord | undefined {
  try {
    const parsed = LeaseRecordSchema.safeParse(JSON.parse(Buffer.from(data).toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Why a lease may be taken over, or undefined while its holder may still be working. */
function staleness(holder: LeaseRecord | undefined): string | undefined {
  // An unreadable record is not ours to judge young or old: treat it as expired.
  if (holder === undefined) return 'unreadable';
  if (holder.host === hostname() && !isProcessAlive(holder.pid)) return `held by process ${holder.pid}, which is gone`;
  const expires = Date.parse(holder.expires);
  if (!Number.isFinite(expires) || expires <= Date.now()) return `past its expiry (${holder.expires})`;
  return undefined;
}

function describeHolder(holder: LeaseRecord | undefined): string {
  if (!holder) return 'another process';
  return `${holder.host} pid ${holder.pid} (since ${holder.started}, lease until ${holder.expires})`;
}
