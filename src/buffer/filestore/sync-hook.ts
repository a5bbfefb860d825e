/**
 * Connects a FilestoreSync to a SampleBufferDatabase (and so to EvalRecorder) through the DB's
 * BufferSyncHook, as Inspect's `--log-shared` does: every write requests a sync; at the normal end
 * of the run the filestore is deleted, and when the run stops without cleanup a last sync leaves the
 * filestore complete for recovery.
 *
 *   const recorder = await EvalRecorder.start(log, logStart, { sync: new FilestoreSyncHook({ intervalSeconds: 10 }) });
 */
import { storageFor } from '../../storage/storage-for.js';
import type { Storage } from '../../storage/storage.js';
import type { BufferDatabaseSnapshot } from '../database/open-snapshot.js';
import type { BufferSyncHook, SampleBufferDatabase } from '../database/writer.js';
import { filestoreDirForLog } from './layout.js';
import { openLiveBufferDatabase } from '../database/live-database.js';
import { FilestoreSync } from './sync.js';

export interface FilestoreSyncHookOptions {
  /** Inspect's `log_shared` seconds (its bare flag means 10). */
  intervalSeconds: number;
  /** Default `storageFor(bufferDir)`. */
  storage?: Storage;
  /** Default `filestoreDirForLog(<the DB's log location>)`. */
  bufferDir?: string;
  /** A sync, or the final step, failed; also kept in `lastError`. The writer never sees these. */
  onError?: (error: Error) => void;
}

export class FilestoreSyncHook implements BufferSyncHook {
  private attached: { sync: FilestoreSync; database: BufferDatabaseSnapshot } | undefined;
  private failure: Error | undefined;

  constructor(private readonly options: FilestoreSyncHookOptions) {}

  /** The sync, once the DB has had its first write. */
  get filestore(): FilestoreSync | undefined {
    return this.attached?.sync;
  }

  /** The latest failure: opening the DB, a scheduled sync, or the final sync or removal. */
  get lastError(): Error | undefined {
    return this.failure ?? this.attached?.sync.lastError;
  }

  changed(database: SampleBufferDatabase): void {
    try {
      this.attached ??= this.attach(database);
      this.attached.sync.requestSync();
    } catch (error) {
      this.fail(error);
    }
  }

  /** Never throws: the DB's own cleanup must still run. Failures go to `lastError` / `onError`. */
  async closed(_database: SampleBufferDatabase, cleanup: boolean): Promise<void> {
    const attached = this.attached;
    if (attached === undefined) return;
    try {
      if (cleanup) await attached.sync.remove();
      else await attached.sync.stop();
    } catch (error) {
      this.fail(error);
    } finally {
      attached.database.close();
    }
  }

  private attach(database: SampleBufferDatabase): { sync: FilestoreSync; database: BufferDatabaseSnapshot } {
    const bufferDir = this.options.bufferDir ?? filestoreDirForLog(database.logLocation);
    const live = openLiveBufferDatabase(database.path);
    try {
      const sync = new FilestoreSync({
        database: live,
        storage: this.options.storage ?? storageFor(bufferDir),
        bufferDir,
        intervalSeconds: this.options.intervalSeconds,
        onError: (error) => this.options.onError?.(error),
      });
      return { sync, database: live };
    } catch (error) {
      live.close();
      throw error;
    }
  }

  private fail(error: unknown): void {
    this.failure = error instanceof Error ? error : new Error(String(error));
    this.options.onError?.(this.failure);
  }
}
