/**
 * Reads an Inspect sample-buffer database the way Inspect's own readers do (sample-buffer.md §A.6),
 * from a private copy (see open-snapshot.ts). Rows come back in row-id order; JSON is parsed with
 * the NaN-tolerant parser and checked against schemas.ts. Events can be streamed, raw or collapsed
 * to their logical history, so a huge sample never has to be held in memory.
 */
import { JsonFormatError, BufferDatabaseError } from '../../errors.js';
import { parsePythonJson } from '../../json/python-json.js';
import type { SampleId } from '../../sample-ref.js';
import type { BufferedSampleEntry } from '../buffered-sample.js';
import { fromSqliteError } from './errors.js';
import type { SqliteStatement } from './sqlite.js';
import { openBufferDatabaseSnapshot, type BufferDatabaseSnapshot } from './open-snapshot.js';
import { resolveInputAttachments } from './resolve-input.js';
import type { AttachmentRow, BufferEventRow, BufferSample, CallPoolRow, CollapsedBufferEvent, MessagePoolRow } from '../buffer-rows.js';
import { parseRowJson } from '../row-json.js';
import {
  bufferEventSchema,
  chatMessageSchema,
  sampleMetadataSchema,
  sampleSummarySchema,
  taskMetricsSchema,
  type TaskMetric,
} from '../schemas.js';

/** The `task_database` row: `version` is the viewer's change etag. */
export interface BufferTask {
  version: number;
  metrics: TaskMetric[];
  lastUpdated: string | null;
}

/** `samples.sample_metadata`; `unreadable` is where Inspect warns and treats it as absent. */
export type BufferSampleMetadata =
  | { status: 'absent' }
  | { status: 'present'; metadata: Record<string, unknown>; json: string; hash: string | null }
  | { status: 'unreadable'; reason: string };

/** Row ids already seen: only rows with a larger id are returned. Default: all rows. */
export interface SampleDataCursors {
  afterEventId?: number;
  afterAttachmentId?: number;
  afterMessagePoolId?: number;
  afterCallPoolId?: number;
}

/** Inspect's `SampleData`: events are all rows, not collapsed. */
export interface BufferSampleData {
  events: BufferEventRow[];
  attachments: AttachmentRow[];
  messagePool: MessagePoolRow[];
  callPool: CallPoolRow[];
}

interface SampleRow {
  id: string;
  epoch: number;
  data: unknown;
  metadata_hash: string | null;
}

interface EventRecord {
  id: number;
  event_id: string;
  data: unknown;
}

interface CollapsedEventRecord extends EventRecord {
  first_id: number;
  row_count: number;
}

interface PoolRecord {
  id: number;
  key: string;
  data: unknown;
}

const noCursor = -1;

// Rows without an event_id are their own group: grouping on the integer row id cannot collide with
// a text event_id (SQLite never equates INTEGER and TEXT values).
const collapsedEventsSql = `
  SELECT latest.id AS id,
         CASE WHEN latest.event_id IS NULL OR latest.event_id = '' THEN CAST(latest.id AS TEXT) ELSE latest.event_id END AS event_id,
         latest.data AS data, grouped.first_id AS first_id, grouped.row_count AS row_count
  FROM (
    SELECT MIN(id) AS first_id, MAX(id) AS last_id, COUNT(*) AS row_count
    FROM events
    WHERE sample_id = ? AND sample_epoch = ?
    GROUP BY CASE WHEN event_id IS NULL OR event_id = '' THEN id ELSE event_id END
  ) AS grouped
  JOIN events AS latest ON latest.id = grouped.last_id
  ORDER BY grouped.first_id`;

/** Every event row of a sample past a cursor, in row order (the logical id falls back to the row id). */
export const eventRowsSql = `
  SELECT id, CASE WHEN event_id IS NULL OR event_id = '' THEN CAST(id AS TEXT) ELSE event_id END AS event_id, data
  FROM events
  WHERE sample_id = ? AND sample_epoch = ? AND id > ?
  ORDER BY id`;

export class BufferDatabaseReader {
  private readonly statements = new Map<string, SqliteStatement>();
  private readonly openIterators = new Set<IterableIterator<unknown>>();

  constructor(private readonly snapshot: BufferDatabaseSnapshot) {}

  /** Copies the DB (with its `-wal`/`-shm`) to a temp dir and opens the copy; `close()` removes it. */
  static async open(databasePath: string): Promise<BufferDatabaseReader> {
    return new BufferDatabaseReader(await openBufferDatabaseSnapshot(databasePath));
  }

  /** The original DB file. */
  get sourcePath(): string {
    return this.snapshot.sourcePath;
  }

  /** Stops any unfinished event iteration, closes the connection and deletes the private copy. */
  close(): void {
    for (const iterator of this.openIterators) iterator.return?.();
    this.openIterators.clear();
    this.snapshot.close();
  }

  task(): BufferTask {
    const row = this.query('read task_database', () =>
      this.statement('SELECT version, metrics, last_updated FROM task_database LIMIT 1').get(),
    ) as { version: number; metrics: unknown; last_updated: string | null } | undefined;
    if (!row) throw new BufferDatabaseError(`${this.sourcePath}: task_database has no row`);
    const metrics = row.metrics === null ? [] : parseRowJson(row.metrics, taskMetricsSchema, `${this.sourcePath}: task_database.metrics`);
    return { version: row.version, metrics, lastUpdated: row.last_updated };
  }

  /**
   * `task_database.last_updated` as stored, whatever its type (a damaged database may hold
   * anything there), as text: an integer past 2^53 cannot even be read as a number on node:sqlite.
   */
  lastUpdated(): { type: string; text: string | null } | undefined {
    return this.query('read task_database', () =>
      this.statement("SELECT typeof(last_updated) AS type, CASE typeof(last_updated) WHEN 'blob' THEN 'x''' || hex(last_updated) || '''' ELSE CAST(last_updated AS TEXT) END AS text FROM task_database LIMIT 1").get(),
    ) as { type: string; text: string | null } | undefined;
  }

  /** Every buffered sample, ordered by id (text order) then epoch, as Inspect lists them. */
  samples(): BufferSample[] {
    const rows = this.query('read samples', () =>
      this.statement(`SELECT id, epoch, data, ${this.metadataHashColumn()} AS metadata_hash FROM samples ORDER BY id, epoch`).all(),
    ) as SampleRow[];
    return rows.map((row) => this.toSample(row));
  }

  /**
   * What `samples()` gives, without parsing or holding the summaries: the id as the summary
   * types it, the epoch, and `completed_at`. Same order.
   */
  sampleListing(): BufferedSampleEntry[] {
    const rows = this.query('read samples', () =>
      this.statement(
        "SELECT json_extract(data, '$.id') AS summary_id, epoch, json_extract(data, '$.completed_at') AS completed_at FROM samples ORDER BY id, epoch",
      ).all(),
    ) as { summary_id: unknown; epoch: number; completed_at: unknown }[];
    return rows.map((row) => {
      if (typeof row.summary_id !== 'string' && typeof row.summary_id !== 'number') {
        throw new BufferDatabaseError(`${this.sourcePath}: a samples row (epoch ${row.epoch}) has a summary without an id`);
      }
      const completedAt = typeof row.completed_at === 'string' ? row.completed_at : null;
      return { id: row.summary_id, epoch: row.epoch, completed: row.completed_at != null, completedAt };
    });
  }

  /** One sample; undefined when the DB has no row for it. */
  sample(id: SampleId, epoch: number): BufferSample | undefined {
    const row = this.query('read samples', () =>
      this.statement(`SELECT id, epoch, data, ${this.metadataHashColumn()} AS metadata_hash FROM samples WHERE id = ? AND epoch = ?`).get(
        String(id),
        epoch,
      ),
    ) as SampleRow | undefined;
    return row && this.toSample(row);
  }

  /** The full metadata stored at completion (summaries carry a thinned copy). */
  sampleMetadata(id: SampleId, epoch: number): BufferSampleMetadata {
    if (!this.snapshot.layout.hasSampleMetadata) return { status: 'absent' };
    const row = this.query('read samples', () =>
      this.statement('SELECT sample_metadata, sample_metadata_hash FROM samples WHERE id = ? AND epoch = ?').get(String(id), epoch),
    ) as { sample_metadata: unknown; sample_metadata_hash: string | null } | undefined;
    const json = row?.sample_metadata;
    if (json === undefined || json === null) return { status: 'absent' };
    if (typeof json !== 'string') return { status: 'unreadable', reason: 'sample_metadata is not text' };
    try {
      return { status: 'present', metadata: parseRowJson(json, sampleMetadataSchema, 'sample_metadata'), json, hash: row?.sample_metadata_hash ?? null };
    } catch (error) {
      if (error instanceof JsonFormatError) return { status: 'unreadable', reason: error.message };
      throw error;
    }
  }

  /** Every event row of a sample in row-id order, including superseded versions (streamed). */
  *iterateEventRows(id: SampleId, epoch: number, afterEventId: number = noCursor): Generator<BufferEventRow> {
    const sampleId = String(id);
    const rows = this.iterate<EventRecord>('read events', eventRowsSql, [sampleId, epoch, afterEventId]);
    for (const row of rows) yield this.toEventRow(row, sampleId, epoch);
  }

  /**
   * The logical event history (recovery.md §4.1.3, sample-buffer.md §A.6): rows grouped by event
   * id, each group placed at its first row and carrying its last row's payload (streamed).
   */
  *iterateEvents(id: SampleId, epoch: number): Generator<CollapsedBufferEvent> {
    const sampleId = String(id);
    const rows = this.iterate<CollapsedEventRecord>('read events', collapsedEventsSql, [sampleId, epoch]);
    for (const row of rows) {
      yield { ...this.toEventRow(row, sampleId, epoch), firstRowId: row.first_id, rowCount: row.row_count };
    }
  }

  // The array forms run one cached statement (preparing one per call costs more than small samples' queries).
  eventRows(id: SampleId, epoch: number, afterEventId: number = noCursor): BufferEventRow[] {
    const sampleId = String(id);
    const rows = this.query('read events', () => this.statement(eventRowsSql).all(sampleId, epoch, afterEventId)) as EventRecord[];
    return rows.map((row) => this.toEventRow(row, sampleId, epoch));
  }

  events(id: SampleId, epoch: number): CollapsedBufferEvent[] {
    const sampleId = String(id);
    const rows = this.query('read events', () => this.statement(collapsedEventsSql).all(sampleId, epoch)) as CollapsedEventRecord[];
    return rows.map((row) => ({ ...this.toEventRow(row, sampleId, epoch), firstRowId: row.first_id, rowCount: row.row_count }));
  }

  attachmentRows(id: SampleId, epoch: number, afterAttachmentId: number = noCursor): AttachmentRow[] {
    const sampleId = String(id);
    const rows = this.query('read attachments', () =>
      this.statement('SELECT id, hash, content FROM attachments WHERE sample_id = ? AND sample_epoch = ? AND id > ? ORDER BY id').all(
        sampleId,
        epoch,
        afterAttachmentId,
      ),
    ) as Array<{ id: number; hash: string; content: string }>;
    return rows.map((row) => ({ id: row.id, sampleId, epoch, hash: row.hash, content: row.content }));
  }

  /** The sample's attachments, hash → content. */
  attachments(id: SampleId, epoch: number): Map<string, string> {
    const byHash = new Map<string, string>();
    for (const row of this.attachmentRows(id, epoch)) if (!byHash.has(row.hash)) byHash.set(row.hash, row.content);
    return byHash;
  }

  /** The sample's message pool in row-id order; [] for DBs from before pools existed. */
  messagePool(id: SampleId, epoch: number, afterMessagePoolId: number = noCursor): MessagePoolRow[] {
    if (!this.snapshot.layout.hasMessagePool) return [];
    const sampleId = String(id);
    return this.poolRows('message_pool', 'msg_id', sampleId, epoch, afterMessagePoolId).map((row) => {
      const message = parseRowJson(row.data, chatMessageSchema, `${this.sourcePath}: message_pool row ${row.id}`);
      return { id: row.id, sampleId, epoch, msgId: row.key, json: row.data as string, message };
    });
  }

  /** The sample's call pool in row-id order; [] for DBs from before pools existed. */
  callPool(id: SampleId, epoch: number, afterCallPoolId: number = noCursor): CallPoolRow[] {
    if (!this.snapshot.layout.hasCallPool) return [];
    const sampleId = String(id);
    return this.poolRows('call_pool', 'hash', sampleId, epoch, afterCallPoolId).map((row) => {
      const what = `${this.sourcePath}: call_pool row ${row.id}`;
      if (typeof row.data !== 'string') throw new JsonFormatError(`${what} data is not text`);
      return { id: row.id, sampleId, epoch, hash: row.key, json: row.data, value: parsePythonJson(row.data, what) };
    });
  }

  /** Inspect's `get_sample_data`: undefined when the sample has no `samples` row. */
  sampleData(id: SampleId, epoch: number, cursors: SampleDataCursors = {}): BufferSampleData | undefined {
    const exists = this.query('read samples', () =>
      this.statement('SELECT 1 FROM samples WHERE id = ? AND epoch = ?').get(String(id), epoch),
    );
    if (exists === undefined) return undefined;
    return {
      events: this.eventRows(id, epoch, cursors.afterEventId ?? noCursor),
      attachments: this.attachmentRows(id, epoch, cursors.afterAttachmentId ?? noCursor),
      messagePool: this.messagePool(id, epoch, cursors.afterMessagePoolId ?? noCursor),
      callPool: this.callPool(id, epoch, cursors.afterCallPoolId ?? noCursor),
    };
  }

  private toSample(row: SampleRow): BufferSample {
    const id = String(row.id);
    const what = `${this.sourcePath}: samples row (id=${id}, epoch=${row.epoch}) data`;
    const stored = parseRowJson(row.data, sampleSummarySchema, what);
    const summary = { ...stored, input: resolveInputAttachments(stored.input, (hash) => this.attachmentByHash(hash)) };
    return { id, epoch: row.epoch, summary, completed: summary.completed_at != null, metadataHash: row.metadata_hash };
  }

  private toEventRow(row: EventRecord, sampleId: string, epoch: number): BufferEventRow {
    const what = `${this.sourcePath}: events row ${row.id} (sample ${sampleId}, epoch ${epoch})`;
    return { id: row.id, eventId: row.event_id, sampleId, epoch, event: parseRowJson(row.data, bufferEventSchema, what) };
  }

  /** Summary refs are looked up by hash alone, in any sample's attachments, as Inspect does. */
  private attachmentByHash(hash: string): string | undefined {
    return this.query('read attachments', () =>
      this.statement('SELECT content FROM attachments WHERE hash = ? ORDER BY id LIMIT 1').pluck().get(hash),
    ) as string | undefined;
  }

  private poolRows(table: 'message_pool' | 'call_pool', keyColumn: 'msg_id' | 'hash', sampleId: string, epoch: number, afterId: number): PoolRecord[] {
    return this.query(`read ${table}`, () =>
      this.statement(`SELECT id, ${keyColumn} AS key, data FROM ${table} WHERE sample_id = ? AND sample_epoch = ? AND id > ? ORDER BY id`).all(
        sampleId,
        epoch,
        afterId,
      ),
    ) as PoolRecord[];
  }

  private metadataHashColumn(): string {
    return this.snapshot.layout.hasSampleMetadata ? 'sample_metadata_hash' : 'NULL';
  }

  private statement(sql: string): SqliteStatement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.snapshot.database.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs SQLite work, turning SQLite's failures into BufferDatabaseError. */
  private query<T>(action: string, work: () => T): T {
    try {
      return work();
    } catch (error) {
      throw fromSqliteError(error, this.sourcePath, action);
    }
  }

  /**
   * A statement iterator that `close()` can stop, with SQLite failures made readable. Each call
   * prepares its own statement: a statement that is mid-iteration cannot run again, and callers may
   * interleave iterations (or a nested `eventRows`).
   */
  private *iterate<T>(action: string, sql: string, parameters: unknown[]): Generator<T> {
    const rows = this.query(action, () => this.snapshot.database.prepare(sql).iterate(...parameters)) as IterableIterator<T>;
    this.openIterators.add(rows);
    try {
      while (true) {
        const next = this.query(action, () => rows.next());
        if (next.done) return;
        yield next.value;
      }
    } finally {
      this.openIterators.delete(rows);
      rows.return?.();
    }
  }
}
