/**
 * The writing side of Inspect's sample-buffer database (sample-buffer.md Part A): the SQLite file a
 * running eval keeps next to its `.eval` so that samples not yet flushed into the log survive a crash.
 * Same location, schema, pragmas, JSON text and write operations as Inspect's `SampleBufferDatabase`,
 * so Inspect (`inspect log recover`, the viewer) and BufferDatabaseReader read it as one of its own.
 * Every write is one transaction that also bumps `task_database.version`, the viewer's change etag.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { rm, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { openSqlite, type SqliteDatabase, type SqliteStatement } from './sqlite.js';
import { fileSystemError, BufferDatabaseError } from '../../errors.js';
import type { EvalSampleSummary } from '../../eval/schemas.js';
import { bufferKey, type SampleId, type SampleRef } from '../../sample-ref.js';
import { isS3Location } from '../../storage/s3-location.js';
import { condenseEvents, condenseSummary, emptyRows, SamplePools, type CondensedRows } from '../condense.js';
import { formatIndentedJson, formatPythonDumps } from '../pretty-json.js';
import { shortUuid } from '../short-uuid.js';
import { fromSqliteError } from './errors.js';
import { bufferDatabaseDir, bufferDatabaseFileName, bufferDatabasePathForLog, inspectDataDir } from './location.js';
import { sampleBufferSchemaSql, writerPragmas } from './schema-sql.js';
import type { BufferEvent, TaskMetric } from '../schemas.js';

/**
 * Where a filestore sync (sample-buffer.md Part B) plugs in. Inspect triggers its sync after every
 * write and deletes the filestore when the run ends normally; this hook gives it those two moments.
 */
export interface BufferSyncHook {
  /** After each committed write; `version` is the new `task_database.version`. Must not throw. */
  changed(database: SampleBufferDatabase, version: number): void;
  /**
   * Once, after the connection closed and before a cleanup deletes the files (awaited).
   * `cleanup` is true at the normal end of a run, when Inspect also deletes the filestore.
   */
  closed?(database: SampleBufferDatabase, cleanup: boolean): void | Promise<void>;
}

export interface SampleBufferDatabaseOptions {
  /** Inspect's data dir; default `inspectDataDir()` (`$XDG_DATA_HOME/inspect_ai` on Linux). */
  dataDir?: string;
  /** The pid in the file name, which tells crashed DBs from live ones; default this process's. */
  pid?: number;
  sync?: BufferSyncHook;
}

export interface CompleteSampleOptions {
  /** The full sample metadata (the summary may carry a thinned copy); kept from earlier when omitted. */
  metadata?: Record<string, unknown>;
}

/** `sample_metadata_hash` when the full metadata equals the summary's: no side file is needed. */
const metadataInSummary = 'summary';
const databaseFileSuffixes = ['', '-wal', '-shm'] as const;

export class SampleBufferDatabase {
  /** Pool indices of running samples, dropped at completion as Inspect does. */
  private readonly running = new Map<string, SamplePools>();
  private readonly statements = new Map<string, SqliteStatement>();
  private closed = false;

  private constructor(
    readonly logLocation: string,
    /** The `.db` file; `-wal` and `-shm` sit next to it. */
    readonly path: string,
    private readonly database: SqliteDatabase,
    private readonly sync: BufferSyncHook | undefined,
  ) {}

  /**
   * Creates `<data dir>/samplebuffer/<sha256(log dir URI)>/<log file name>.<pid>.db` in WAL mode
   * with Inspect's schema and its one `task_database` row. `logLocation` is a local path or an
   * `s3://` URI. Refuses to reuse an existing file.
   */
  static create(logLocation: string, options: SampleBufferDatabaseOptions = {}): SampleBufferDatabase {
    const path = databasePathFor(logLocation, options.dataDir ?? inspectDataDir(), options.pid ?? process.pid);
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (error) {
      throw fileSystemError(error, dirname(path), 'create the sample buffer directory');
    }
    if (existsSync(path)) throw new BufferDatabaseError(`${path}: a sample buffer database already exists there`);
    let database: SqliteDatabase | undefined;
    try {
      database = openSqlite(path, { timeout: 30_000 });
      for (const pragma of writerPragmas) database.pragma(pragma);
      // Inspect keeps the current mode when WAL is unavailable (network filesystems); so does this.
      database.pragma('journal_mode = WAL');
      const created = database;
      created.transaction(() => {
        created.exec(sampleBufferSchemaSql);
        created.prepare('INSERT INTO task_database (version) VALUES (1)').run();
      })();
    } catch (error) {
      database?.close();
      for (const suffix of databaseFileSuffixes) rmSync(path + suffix, { force: true });
      throw fromSqliteError(error, path, 'create the sample buffer database');
    }
    return new SampleBufferDatabase(logLocation, path, database, options.sync);
  }

  /**
   * A sample begins: its summary has `id, epoch, uuid, input, choices, target, metadata`, no
   * `started_at`/`completed_at`, and `completed: false`. A sample started again (a retry) is a
   * new attempt: whatever the buffer still holds of an earlier one goes, so no reader ever joins
   * this attempt's summary with that one's events or pools.
   */
  startSample(summary: EvalSampleSummary): void {
    const key = bufferKey(summary.id, summary.epoch);
    const rows = emptyRows();
    const data = formatIndentedJson(condenseSummary(summary, rows));
    this.write('start sample', () => {
      this.deleteSampleRows(String(summary.id), summary.epoch);
      this.insertAttachments(String(summary.id), summary.epoch, rows);
      this.statement('INSERT INTO samples (id, epoch, data) VALUES (?, ?, ?)').run(String(summary.id), summary.epoch, data);
    });
    this.running.set(key, new SamplePools());
  }

  /**
   * Appends events of a running sample, condensed (§A.5), with the attachment and pool rows they
   * refer to. The buffer is insert-only: an updated event (a pending model call resolved) is logged
   * again with the same `uuid` and becomes a new row with the same `event_id`. An event without a
   * `uuid` gets a fresh `event_id`, so it can never be updated.
   */
  logEvents(id: SampleId, epoch: number, events: readonly BufferEvent[]): void {
    if (events.length === 0) return;
    const pools = this.running.get(bufferKey(id, epoch));
    if (!pools) throw new BufferDatabaseError(`${this.path}: sample ${String(id)} (epoch ${epoch}) is not running: start it before logging events`);
    const rows = emptyRows();
    const condensed = condenseEvents(events, pools, rows);
    const sampleId = String(id);
    let version: number;
    try {
      version = this.transact('log events', () => {
        this.insertAttachments(sampleId, epoch, rows);
        const insertMessage = this.statement('INSERT OR IGNORE INTO message_pool (sample_id, sample_epoch, msg_id, data) VALUES (?, ?, ?, ?)');
        for (const row of rows.messages) insertMessage.run(sampleId, epoch, row.hash, row.data);
        const insertCall = this.statement('INSERT OR IGNORE INTO call_pool (sample_id, sample_epoch, hash, data) VALUES (?, ?, ?, ?)');
        for (const row of rows.calls) insertCall.run(sampleId, epoch, row.hash, row.data);
        const insertEvent = this.statement('INSERT INTO events (event_id, sample_id, sample_epoch, data) VALUES (?, ?, ?, ?)');
        for (const event of condensed) insertEvent.run(eventId(event), sampleId, epoch, formatIndentedJson(event));
      });
    } catch (error) {
      pools.discard(rows);
      throw error;
    }
    this.sync?.changed(this, version);
  }

  /**
   * A sample finished (success, error or limit): its row gets the final summary (`completed_at`,
   * scores, `error` message...) and, when given, the full metadata with its hash: `summary` when it
   * equals the summary's metadata, else the SHA-256 hex of the stored JSON text.
   */
  completeSample(id: SampleId, epoch: number, summary: EvalSampleSummary, options: CompleteSampleOptions = {}): void {
    const sampleId = String(id);
    const rows = emptyRows();
    const data = formatIndentedJson(condenseSummary(summary, rows));
    const metadata = options.metadata === undefined ? undefined : formatIndentedJson(options.metadata);
    const metadataHash = metadata === undefined ? undefined : sameJson(options.metadata, summary.metadata ?? {}) ? metadataInSummary : sha256Hex(metadata);
    this.write('complete sample', () => {
      this.insertAttachments(sampleId, epoch, rows);
      const update = this.statement(
        `UPDATE samples SET data = ?, sample_metadata = COALESCE(?, sample_metadata), sample_metadata_hash = COALESCE(?, sample_metadata_hash)
         WHERE id = ? AND epoch = ?`,
      );
      const { changes } = update.run(data, metadata ?? null, metadataHash ?? null, sampleId, epoch);
      // Rolls the transaction back: completing a sample that was never started is a harness bug.
      if (changes === 0) throw new BufferDatabaseError(`${this.path}: sample ${sampleId} (epoch ${epoch}) was never started`);
    });
    this.running.delete(bufferKey(id, epoch));
  }

  /** The running metric display: a list of `{scorer, name, value, reducer?, params?}`. */
  updateMetrics(metrics: readonly TaskMetric[]): void {
    const json = formatIndentedJson(metrics);
    this.write('update metrics', () => this.statement('UPDATE task_database SET metrics = ?').run(json));
  }

  /** Deletes every row of these samples, as Inspect does once they are flushed into the `.eval`. */
  removeSamples(samples: readonly SampleRef[]): void {
    if (samples.length === 0) return;
    this.write('remove samples', () => {
      for (const { id, epoch } of samples) this.deleteSampleRows(String(id), epoch);
    });
    for (const { id, epoch } of samples) this.running.delete(bufferKey(id, epoch));
  }

  /**
   * Closes the connection. `cleanup: true` is the normal end of a run: the `.db`, `-wal` and `-shm`
   * files are deleted, then the `<hash>` directory if it is empty. Without cleanup the files stay for
   * recovery. Safe to call twice.
   */
  async close({ cleanup }: { cleanup: boolean }): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A cleanly closed buffer kept for later reads whole from its `.db` alone: leaving WAL mode says so,
    // and lets a WAL-mode `.db` without a `-wal` mean a copy that left it behind (wal-sidecar.ts).
    if (!cleanup) this.leaveWalMode();
    this.database.close();
    await this.sync?.closed?.(this, cleanup);
    if (cleanup) await removeDatabaseFiles(this.path);
  }

  private leaveWalMode(): void {
    try {
      this.database.pragma('journal_mode = DELETE');
    } catch {
      // Another connection still has it open (a reader): it stays in WAL mode, complete with its -wal.
    }
  }

  private deleteSampleRows(sampleId: string, epoch: number): void {
    for (const table of ['events', 'attachments', 'message_pool', 'call_pool']) {
      this.statement(`DELETE FROM ${table} WHERE sample_id = ? AND sample_epoch = ?`).run(sampleId, epoch);
    }
    this.statement('DELETE FROM samples WHERE id = ? AND epoch = ?').run(sampleId, epoch);
  }

  private insertAttachments(sampleId: string, epoch: number, rows: CondensedRows): void {
    const insert = this.statement('INSERT OR IGNORE INTO attachments (sample_id, sample_epoch, hash, content) VALUES (?, ?, ?, ?)');
    for (const [hash, content] of rows.attachments) insert.run(sampleId, epoch, hash, content);
  }

  /** `transact`, then tells the sync hook. */
  private write(action: string, work: () => void): void {
    const version = this.transact(action, work);
    this.sync?.changed(this, version);
  }

  /** Runs `work` and the version bump in one transaction; returns the new version. */
  private transact(action: string, work: () => void): number {
    if (this.closed) throw new BufferDatabaseError(`${this.path}: cannot ${action}: the sample buffer database is closed`);
    const bump = this.statement('UPDATE task_database SET version = version + 1, last_updated = CURRENT_TIMESTAMP RETURNING version');
    try {
      return this.database.transaction(() => {
        work();
        return (bump.get() as { version: number }).version;
      })();
    } catch (error) {
      throw fromSqliteError(error, this.path, action);
    }
  }

  private statement(sql: string): SqliteStatement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.database.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

/** Local paths hash their absolute directory's `file://` URI; `s3://` locations hash their prefix URI. */
function databasePathFor(logLocation: string, dataDir: string, pid: number): string {
  if (!isS3Location(logLocation)) return bufferDatabasePathForLog(logLocation, { pid, dataDir });
  const slash = logLocation.lastIndexOf('/');
  return join(bufferDatabaseDir(logLocation.slice(0, slash), dataDir), bufferDatabaseFileName(logLocation.slice(slash + 1), pid));
}


function eventId(event: BufferEvent): string {
  return typeof event.uuid === 'string' && event.uuid !== '' ? event.uuid : shortUuid();
}

/** Python's `==` on the parsed values (a summary's metadata is never null there): key order does not matter. */
function sameJson(a: unknown, b: unknown): boolean {
  return formatPythonDumps(a, { sortKeys: true }) === formatPythonDumps(b, { sortKeys: true });
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

async function removeDatabaseFiles(path: string): Promise<void> {
  for (const suffix of databaseFileSuffixes) {
    await rm(path + suffix, { force: true }).catch((error: unknown) => {
      throw fileSystemError(error, path + suffix, 'delete');
    });
  }
  await rmdir(dirname(path)).catch((error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code;
    // Other logs of the same directory may still have databases there.
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOENT') throw fileSystemError(error, dirname(path), 'delete');
  });
}
