/**
 * The rows of a segment member (sample-buffer.md §A.6, `SampleData`), checked one at a time so one
 * bad row costs only itself. They come out as the DB reader's row types, so recovery treats both
 * sources alike. Pool `data` is JSON text, parsed here like the DB reader parses the column.
 */
import { z } from 'zod';
import { validate } from '../../eval/schemas.js';
import { parsePythonJson } from '../../json/python-json.js';
import type { AttachmentRow, BufferEventRow, CallPoolRow, MessagePoolRow } from '../buffer-rows.js';
import { parseRowJson } from '../row-json.js';
import { bufferEventSchema, chatMessageSchema } from '../schemas.js';

const rowId = z.number().int();

const eventRowSchema = z.looseObject({ id: rowId, event_id: z.string().nullish(), event: bufferEventSchema });
const attachmentRowSchema = z.looseObject({ id: rowId, hash: z.string(), content: z.string() });
const messagePoolRowSchema = z.looseObject({ id: rowId, msg_id: z.string(), data: z.string() });
const callPoolRowSchema = z.looseObject({ id: rowId, hash: z.string(), data: z.string() });

/** Which sample the rows belong to (the member's name says so; rows repeat it). */
export interface RowOwner {
  sampleId: string;
  epoch: number;
}

/** Throws JsonFormatError naming `what` when the row is not an event row. */
export function toEventRow(raw: unknown, owner: RowOwner, what: string): BufferEventRow {
  const row = validate(eventRowSchema, raw, what);
  // get_sample_data already puts the row id in an empty event_id; be as tolerant as the DB reader.
  const eventId = row.event_id ? row.event_id : String(row.id);
  return { id: row.id, eventId, ...owner, event: row.event };
}

export function toAttachmentRow(raw: unknown, owner: RowOwner, what: string): AttachmentRow {
  const row = validate(attachmentRowSchema, raw, what);
  return { id: row.id, ...owner, hash: row.hash, content: row.content };
}

export function toMessagePoolRow(raw: unknown, owner: RowOwner, what: string): MessagePoolRow {
  const row = validate(messagePoolRowSchema, raw, what);
  const message = parseRowJson(row.data, chatMessageSchema, `${what} data`);
  return { id: row.id, ...owner, msgId: row.msg_id, json: row.data, message };
}

export function toCallPoolRow(raw: unknown, owner: RowOwner, what: string): CallPoolRow {
  const row = validate(callPoolRowSchema, raw, what);
  return { id: row.id, ...owner, hash: row.hash, json: row.data, value: parsePythonJson(row.data, `${what} data`) };
}
