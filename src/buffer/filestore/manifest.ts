/**
 * `manifest.json` of a segment filestore (sample-buffer.md §B.3). The schema is tolerant: legacy
 * bare-integer segment entries, pool ids absent in manifests from before pools existed, and any key
 * a newer Inspect adds are all accepted.
 */
import { z } from 'zod';
import { NotFoundError } from '../../errors.js';
import type { Storage } from '../../storage/storage.js';
import { parseRowJson } from '../row-json.js';
import { sampleSummarySchema, taskMetricSchema } from '../schemas.js';
import { manifestFileName } from './layout.js';

/**
 * A manifest lists the segments and the summaries of the samples still buffered (a log buffer's
 * worth plus those running): a few MB for the largest runs. Parsed, it takes about ten times its
 * size in memory, so this bounds that to a few hundred MB.
 */
const manifestReadLimit = 32 * 1024 * 1024;

const rowId = z.number().int();

/**
 * The last row id of each buffer table held by a segment (0: none of that table). Globally
 * (`manifest.segments`) these are maxima over all samples; in a sample's entry, that sample's own.
 */
export const segmentRecordSchema = z.looseObject({
  id: rowId,
  last_event_id: rowId,
  last_attachment_id: rowId,
  last_message_pool_id: rowId.default(0),
  last_call_pool_id: rowId.default(0),
});
export type SegmentRecord = z.infer<typeof segmentRecordSchema>;

export const manifestSampleSchema = z.looseObject({
  summary: sampleSummarySchema,
  /** A `SampleSegment` record, or (legacy) a bare segment id whose global record stands in for it. */
  segments: z.array(z.union([segmentRecordSchema, rowId])).default([]),
  /** Absent: unknown; `summary`: the summary's metadata is complete; else the SHA-256 naming a side file. */
  metadata_hash: z.string().nullish(),
});
export type ManifestSample = z.infer<typeof manifestSampleSchema>;

export const manifestSchema = z.looseObject({
  metrics: z.array(taskMetricSchema).default([]),
  samples: z.array(manifestSampleSchema).default([]),
  segments: z.array(segmentRecordSchema).default([]),
});
export type Manifest = z.infer<typeof manifestSchema>;

/** One segment holding data of a sample, with the record describing that sample's rows in it. */
export interface SampleSegment {
  id: number;
  /** The sample's own record; for a legacy entry the global one; undefined when neither exists. */
  record: SegmentRecord | undefined;
}

/**
 * Reads and checks `<bufferDir>/manifest.json`: NotFoundError when it does not exist,
 * JsonFormatError (one line, naming the file) when it is not JSON or not a manifest.
 */
export async function readManifest(storage: Storage, bufferDir: string): Promise<Manifest> {
  const location = storage.join(bufferDir, manifestFileName);
  let bytes: Uint8Array;
  try {
    bytes = await storage.read(location, { maxBytes: manifestReadLimit });
  } catch (error) {
    if (error instanceof NotFoundError) throw new NotFoundError(`${location}: no filestore manifest (file not found)`, error);
    throw error;
  }
  return parseRowJson(new TextDecoder().decode(bytes), manifestSchema, location);
}

/**
 * The sample's segments, each once, in segment-id order (the order its rows were written). An
 * object entry wins over a legacy integer entry for the same id.
 */
export function sampleSegments(manifest: Manifest, sample: ManifestSample): SampleSegment[] {
  const globalRecords = new Map(manifest.segments.map((record) => [record.id, record]));
  const byId = new Map<number, SampleSegment>();
  for (const entry of sample.segments) {
    if (typeof entry === 'number') {
      if (!byId.has(entry)) byId.set(entry, { id: entry, record: globalRecords.get(entry) });
    } else {
      byId.set(entry.id, { id: entry.id, record: entry });
    }
  }
  return [...byId.values()].sort((a, b) => a.id - b.id);
}
