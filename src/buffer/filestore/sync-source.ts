/**
 * What a filestore sync reads from the buffer DB (sample-buffer.md §B.5 steps 2 and 4), in the
 * shapes Inspect writes into the filestore. Inspect copies summaries, metrics and events with the
 * key order of their stored JSON text, while BufferDatabaseReader's schema parsing puts known keys
 * first; so those three are read as text here and the rest (pools, attachments, metadata) through
 * the reader.
 */
import { bufferKey } from '../../sample-ref.js';
import { JsonFormatError } from '../../errors.js';
import { parsePythonJson } from '../../json/python-json.js';
import { fromSqliteError } from '../database/errors.js';
import type { BufferDatabaseSnapshot } from '../database/open-snapshot.js';
import { BufferDatabaseReader, eventRowsSql, type SampleDataCursors } from '../database/reader.js';
import { resolveInputAttachments } from '../database/resolve-input.js';
import { bufferEventSchema, taskMetricsSchema, type SampleSummary } from '../schemas.js';

export type JsonObject = Record<string, unknown>;

export interface SyncSample {
  /** `samples.id`: the text form of the sample id. */
  id: string;
  epoch: number;
  /** The stored summary, input attachments resolved, null fields left out (as Inspect dumps it). */
  summary: JsonObject;
  /** `samples.sample_metadata_hash`: SHA-256 hex, `summary`, or null. */
  metadataHash: string | null;
}

/** Inspect's `SampleData` (§A.6), keys in its order: the body of a segment member. */
export interface SampleDataJson {
  events: Array<{ id: number; event_id: string; sample_id: string; epoch: number; event: JsonObject }>;
  attachments: Array<{ id: number; sample_id: string; epoch: number; hash: string; content: string }>;
  message_pool: Array<{ id: number; sample_id: string; epoch: number; msg_id: string; data: string }>;
  call_pool: Array<{ id: number; sample_id: string; epoch: number; hash: string; data: string }>;
}

export class SyncSource {
  private readonly reader: BufferDatabaseReader;

  /** The caller keeps ownership of the snapshot (closing it is theirs). */
  constructor(private readonly snapshot: BufferDatabaseSnapshot) {
    this.reader = new BufferDatabaseReader(snapshot);
  }

  /** Runs `work` in one read transaction, so all it reads is one committed state of the DB. */
  consistently<T>(work: () => T): T {
    return this.snapshot.database.transaction(work)();
  }

  /** `task_database.metrics`, checked, keys as stored, null fields other than `value` left out. */
  metrics(): JsonObject[] {
    const text = this.query('read task_database', () => this.snapshot.database.prepare('SELECT metrics FROM task_database LIMIT 1').pluck().get());
    if (text === undefined || text === null) return [];
    const metrics = parseChecked(text, taskMetricsSchema, `${this.snapshot.sourcePath}: task_database.metrics`) as JsonObject[];
    // TaskDisplayMetric.value is required even when null: keep it so the manifest stays readable.
    return metrics.map((metric) => withoutNullFields(metric, ['value']));
  }

  /** Every sample in the DB, in Inspect's order (id as text, then epoch). */
  samples(): SyncSample[] {
    const rows = this.query('read samples', () => this.snapshot.database.prepare('SELECT id, epoch, data FROM samples').all()) as Array<{
      id: string;
      epoch: number;
      data: string;
    }>;
    const storedText = new Map(rows.map((row) => [bufferKey(String(row.id), row.epoch), row.data]));
    // The reader checks each summary's shape; the stored text gives Inspect's key order.
    return this.reader.samples().map((sample) => {
      const stored = parsePythonJson(storedText.get(bufferKey(sample.id, sample.epoch)) ?? '', `samples row ${sample.id}`) as JsonObject;
      const input = resolveInputAttachments(stored.input as SampleSummary['input'], (hash) => this.attachmentByHash(hash));
      return { id: sample.id, epoch: sample.epoch, summary: withoutNullFields({ ...stored, input }), metadataHash: sample.metadataHash };
    });
  }

  /** Inspect's `get_sample_data` with cursors: every row past them, in row-id order. */
  sampleData(sample: { id: string; epoch: number }, cursors: Required<SampleDataCursors>): SampleDataJson {
    const { id: sampleId, epoch } = sample;
    const owner = { sample_id: sampleId, epoch };
    return {
      events: this.eventRows(sampleId, epoch, cursors.afterEventId),
      attachments: this.reader
        .attachmentRows(sampleId, epoch, cursors.afterAttachmentId)
        .map((row) => ({ id: row.id, ...owner, hash: row.hash, content: row.content })),
      message_pool: this.reader
        .messagePool(sampleId, epoch, cursors.afterMessagePoolId)
        .map((row) => ({ id: row.id, ...owner, msg_id: row.msgId, data: row.json })),
      call_pool: this.reader.callPool(sampleId, epoch, cursors.afterCallPoolId).map((row) => ({ id: row.id, ...owner, hash: row.hash, data: row.json })),
    };
  }

  /** `samples.sample_metadata` as stored; undefined when absent or not a JSON object. */
  metadataText(sample: { id: string; epoch: number }): string | undefined {
    const metadata = this.reader.sampleMetadata(sample.id, sample.epoch);
    return metadata.status === 'present' ? metadata.json : undefined;
  }

  private eventRows(sampleId: string, epoch: number, afterEventId: number): SampleDataJson['events'] {
    const rows = this.query('read events', () => this.snapshot.database.prepare(eventRowsSql).all(sampleId, epoch, afterEventId)) as Array<{
      id: number;
      event_id: string;
      data: unknown;
    }>;
    return rows.map((row) => {
      const what = `${this.snapshot.sourcePath}: events row ${row.id} (sample ${sampleId}, epoch ${epoch})`;
      return { id: row.id, event_id: row.event_id, sample_id: sampleId, epoch, event: parseChecked(row.data, bufferEventSchema, what) as JsonObject };
    });
  }

  /** Summary refs are looked up by hash alone, in any sample's attachments, as Inspect does. */
  private attachmentByHash(hash: string): string | undefined {
    return this.query('read attachments', () =>
      this.snapshot.database.prepare('SELECT content FROM attachments WHERE hash = ? ORDER BY id LIMIT 1').pluck().get(hash),
    ) as string | undefined;
  }

  private query<T>(action: string, work: () => T): T {
    try {
      return work();
    } catch (error) {
      throw fromSqliteError(error, this.snapshot.sourcePath, action);
    }
  }
}

/** The parsed value itself (keys in text order) once it has the shape the schema describes. */
function parseChecked(text: unknown, schema: { safeParse(value: unknown): { success: boolean } }, what: string): unknown {
  if (typeof text !== 'string') throw new JsonFormatError(`${what} is ${text === null ? 'NULL' : 'not text'}, expected JSON`);
  const value = parsePythonJson(text, what);
  if (!schema.safeParse(value).success) throw new JsonFormatError(`${what} does not have the expected shape`);
  return value;
}

/** Pydantic's `exclude_none` on a model's own fields (not inside free-form dicts). */
function withoutNullFields(object: JsonObject, keep: readonly string[] = []): JsonObject {
  return Object.fromEntries(Object.entries(object).filter(([key, value]) => value !== null || keep.includes(key)));
}

