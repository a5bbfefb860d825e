/**
 * The rows a sample buffer holds (sample-buffer.md §A.3), as every buffer driver reads them: the
 * filestore's segments carry the database's rows as they were, so one shape serves both.
 */
import type { BufferEvent, ChatMessage, SampleSummary } from './schemas.js';

export interface BufferSample {
  /** `samples.id`: always the text form of the sample id. */
  id: string;
  epoch: number;
  /** `samples.data`, with `attachment://` refs in a message-list `input` resolved. */
  summary: SampleSummary;
  /** The summary has `completed_at` (recovery.md §3.3); an errored sample is completed too. */
  completed: boolean;
  /** `samples.sample_metadata_hash`: SHA-256 hex, the literal `summary`, or null. */
  metadataHash: string | null;
}

export interface BufferEventRow {
  /** Row id (for a collapsed event: the id of the row whose payload it carries). */
  id: number;
  /** Logical id: `events.event_id`, or the row id as text when that is NULL or empty. */
  eventId: string;
  sampleId: string;
  epoch: number;
  event: BufferEvent;
}

/** One logical event: placed at its first row, carrying the payload of its last row. */
export interface CollapsedBufferEvent extends BufferEventRow {
  firstRowId: number;
  /** How many rows (versions) the DB holds for this event. */
  rowCount: number;
}

export interface AttachmentRow {
  id: number;
  sampleId: string;
  epoch: number;
  hash: string;
  content: string;
}

/** A `message_pool` row; its rank among the sample's rows is the position `input_refs` use. */
export interface MessagePoolRow {
  id: number;
  sampleId: string;
  epoch: number;
  /** Content hash of the pooled message (the column is called `msg_id`). */
  msgId: string;
  /** `data` exactly as stored. */
  json: string;
  message: ChatMessage;
}

/** A `call_pool` row; its rank among the sample's rows is the position `call_refs` use. */
export interface CallPoolRow {
  id: number;
  sampleId: string;
  epoch: number;
  hash: string;
  /** `data` exactly as stored. */
  json: string;
  value: unknown;
}

