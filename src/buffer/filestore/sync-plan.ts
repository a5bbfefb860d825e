/**
 * What one filestore sync writes (sample-buffer.md §B.5 steps 2–5), decided from the previous
 * manifest and the DB: the metadata side files, the segment's members and the new manifest.
 * Reading the DB is its only effect; sync.ts writes the result in a crash-safe order.
 */
import { bufferKey } from '../../sample-ref.js';
import { createHash } from 'node:crypto';
import type { SampleDataCursors } from '../database/reader.js';
import { metadataFileName, segmentMemberName } from './layout.js';
import { sampleSegments, type Manifest, type ManifestSample, type SegmentRecord } from './manifest.js';
import type { JsonObject, SampleDataJson, SyncSource } from './sync-source.js';

/** Inspect's `Segment` / `SampleSegment`: the last row id of each table (0: none). */
export interface SegmentRecordJson {
  id: number;
  last_event_id: number;
  last_attachment_id: number;
  last_message_pool_id: number;
  last_call_pool_id: number;
}

/** A legacy bare segment id is carried over as it is, as Inspect does. */
export type SampleSegmentEntryJson = SegmentRecordJson | number;

export interface ManifestSampleJson {
  summary: JsonObject;
  segments: SampleSegmentEntryJson[];
  /** Left out while unknown (Inspect's `exclude_none`). */
  metadata_hash?: string;
}

export interface ManifestJson {
  metrics: JsonObject[];
  samples: ManifestSampleJson[];
  segments: SegmentRecordJson[];
}

export interface SegmentMemberJson {
  /** `<id>_<epoch>.json` */
  name: string;
  data: SampleDataJson;
}

export interface SyncPlan {
  /** `metadata.<K>.<H>.json` files to write before the manifest that names them. */
  metadataFiles: Array<{ name: string; text: string }>;
  /** The segment to write before the manifest; undefined when no sample had new rows. */
  segment: { id: number; members: SegmentMemberJson[] } | undefined;
  manifest: ManifestJson;
}

type Cursors = Required<SampleDataCursors>;

export const emptyManifest: Manifest = { metrics: [], samples: [], segments: [] };

/**
 * Call inside `source.consistently`, so the members and the manifest describe one DB state.
 * `segmentId` is the id a segment written by this sync gets.
 */
export function planSync(previous: Manifest, source: SyncSource, segmentId: number): SyncPlan {
  const previousSamples = new Map(previous.samples.map((entry) => [bufferKey(String(entry.summary.id), Number(entry.summary.epoch)), entry]));
  const metadataFiles: SyncPlan['metadataFiles'] = [];
  const members: SegmentMemberJson[] = [];
  const samples: ManifestSampleJson[] = [];

  for (const sample of source.samples()) {
    const earlier = previousSamples.get(bufferKey(sample.id, sample.epoch));
    // A sample started again (a retry) is a new attempt: the earlier one's segments are not its.
    const old = earlier && earlier.summary.uuid === sample.summary.uuid ? earlier : undefined;
    const segments = (old?.segments ?? []).map((entry) => (typeof entry === 'number' ? entry : segmentRecordJson(entry)));

    let metadataHash = old?.metadata_hash ?? undefined;
    if (sample.metadataHash === 'summary') {
      metadataHash = 'summary';
    } else if (sample.metadataHash !== null && sample.metadataHash !== metadataHash) {
      const text = source.metadataText(sample);
      if (text !== undefined) {
        // The file is named by the hash of its bytes, whatever the DB column says.
        metadataHash = createHash('sha256').update(text, 'utf8').digest('hex');
        metadataFiles.push({ name: metadataFileName(sample.id, sample.epoch, metadataHash), text });
      }
    }

    const data = source.sampleData(sample, old ? cursorsOf(previous, old) : noCursors);
    if (hasRows(data)) {
      members.push({ name: segmentMemberName(sample.id, sample.epoch), data });
      segments.push(lastRowIds(segmentId, data));
    }
    samples.push({ summary: sample.summary, segments, ...(metadataHash === undefined ? {} : { metadata_hash: metadataHash }) });
  }

  const segmentList = previous.segments.map(segmentRecordJson);
  if (members.length > 0) segmentList.push(maxima(segmentId, members.map((member) => lastRowIds(segmentId, member.data))));
  return {
    metadataFiles,
    segment: members.length > 0 ? { id: segmentId, members } : undefined,
    manifest: { metrics: source.metrics(), samples, segments: segmentList },
  };
}

const noCursors: Cursors = { afterEventId: 0, afterAttachmentId: 0, afterMessagePoolId: 0, afterCallPoolId: 0 };

/**
 * Each cursor is the maximum over all of the sample's segment records: a later segment leaves a
 * table's id at 0 when it held no rows of that table, so the latest record alone would regress it.
 */
function cursorsOf(manifest: Manifest, sample: ManifestSample): Cursors {
  const cursors = { ...noCursors };
  for (const { record } of sampleSegments(manifest, sample)) {
    if (record === undefined) continue;
    cursors.afterEventId = Math.max(cursors.afterEventId, record.last_event_id);
    cursors.afterAttachmentId = Math.max(cursors.afterAttachmentId, record.last_attachment_id);
    cursors.afterMessagePoolId = Math.max(cursors.afterMessagePoolId, record.last_message_pool_id);
    cursors.afterCallPoolId = Math.max(cursors.afterCallPoolId, record.last_call_pool_id);
  }
  return cursors;
}

function hasRows(data: SampleDataJson): boolean {
  return data.events.length > 0 || data.attachments.length > 0 || data.message_pool.length > 0 || data.call_pool.length > 0;
}

/** A sample's record for a segment: the last (largest) row id of each of its lists. */
function lastRowIds(id: number, data: SampleDataJson): SegmentRecordJson {
  return {
    id,
    last_event_id: data.events.at(-1)?.id ?? 0,
    last_attachment_id: data.attachments.at(-1)?.id ?? 0,
    last_message_pool_id: data.message_pool.at(-1)?.id ?? 0,
    last_call_pool_id: data.call_pool.at(-1)?.id ?? 0,
  };
}

function maxima(id: number, records: readonly SegmentRecordJson[]): SegmentRecordJson {
  const max = (field: keyof Omit<SegmentRecordJson, 'id'>) => Math.max(0, ...records.map((record) => record[field]));
  return {
    id,
    last_event_id: max('last_event_id'),
    last_attachment_id: max('last_attachment_id'),
    last_message_pool_id: max('last_message_pool_id'),
    last_call_pool_id: max('last_call_pool_id'),
  };
}

/** Inspect's model fields only, in its order (pydantic drops unknown keys when it rewrites). */
function segmentRecordJson(record: SegmentRecord): SegmentRecordJson {
  return {
    id: record.id,
    last_event_id: record.last_event_id,
    last_attachment_id: record.last_attachment_id,
    last_message_pool_id: record.last_message_pool_id,
    last_call_pool_id: record.last_call_pool_id,
  };
}

