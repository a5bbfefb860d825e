import type { SampleBufferSource } from '../sample-buffer-source.js';
import type { BufferedSampleEntry, BufferedSample } from '../buffered-sample.js';
import { warnings, type WarningHandler } from '../../warnings.js';
import { BufferDatabaseError } from '../../errors.js';
import { BufferDatabaseReader } from './reader.js';
import { removeBufferDatabase } from './remove.js';
import { newestTimeMs } from '../sample-buffer-source.js';
import { isWalModeWithoutWal, walMissingMessage } from './wal-sidecar.js';

/** A crashed eval's SQLite buffer (read from a private copy) as a recovery source. */
export class DatabaseBufferSource implements SampleBufferSource {
  readonly kind = 'database' as const;

  private constructor(
    readonly location: string,
    private readonly reader: BufferDatabaseReader,
    private readonly warn: WarningHandler,
  ) {}

  static async open(databasePath: string, warn: WarningHandler): Promise<DatabaseBufferSource> {
    if (await isWalModeWithoutWal(databasePath)) warn(warnings.walMissing(walMissingMessage(databasePath), { database: databasePath }));
    return new DatabaseBufferSource(databasePath, await BufferDatabaseReader.open(databasePath), warn);
  }

  async samples(): Promise<BufferedSampleEntry[]> {
    return this.reader.sampleListing();
  }

  /**
   * `task_database.last_updated` (SQLite's CURRENT_TIMESTAMP: `YYYY-MM-DD HH:MM:SS`, in UTC).
   * When it is missing or not such a time, the newest completion of a buffered sample.
   */
  async lastActivityMs(): Promise<number | undefined> {
    const stamp = this.reader.lastUpdated();
    const ms = stamp?.type === 'text' ? Date.parse(`${stamp.text!.replace(' ', 'T')}Z`) : NaN;
    if (Number.isFinite(ms)) return ms;
    if (stamp !== undefined && stamp.type !== 'null') {
      const value = describeValue(stamp);
      this.warn(warnings.valueInvalid(`${this.location}: task_database.last_updated is ${value}, not a time: the run's last activity is taken from its samples instead`, { field: 'task_database.last_updated', value }));
    }
    return newestTimeMs(this.reader.sampleListing().map((entry) => entry.completedAt));
  }

  async read(entry: BufferedSampleEntry): Promise<BufferedSample> {
    const { id, epoch } = entry;
    const stored = this.reader.sampleMetadata(id, epoch);
    if (stored.status === 'unreadable') {
      this.warn(warnings.metadataUnreadable(`Unable to read sample metadata for id=${id} epoch=${epoch}: ${stored.reason}`, { sample: { id, epoch }, reason: stored.reason }));
    }
    const sample = this.reader.sample(id, epoch);
    if (!sample) throw new BufferDatabaseError(`${this.location}: sample id=${id} epoch=${epoch} is no longer in the database`);
    return {
      summary: sample.summary,
      completed: entry.completed,
      events: this.reader.events(id, epoch).map((row) => row.event),
      attachments: this.reader.attachments(id, epoch),
      messagePool: this.reader.messagePool(id, epoch).map((row) => row.message),
      callPool: this.reader.callPool(id, epoch).map((row) => row.value),
      ...(stored.status === 'present' ? { metadata: stored.metadata } : {}),
    };
  }

  async close(): Promise<void> {
    this.reader.close();
  }

  /** Deletes the DB and its sidecars, and the hash directory when it is left empty. */
  async remove(): Promise<void> {
    await removeBufferDatabase(this.location);
  }
}

/** A stored value of any SQLite type, short, for a message: `integer 4611686018427387904`, `text "x"`. */
function describeValue({ type, text }: { type: string; text: string | null }): string {
  const shown = type === 'text' ? JSON.stringify(text) : String(text);
  return `${type} ${shown.length > 40 ? `${shown.slice(0, 37)}...` : shown}`;
}
