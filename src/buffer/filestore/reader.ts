/**
 * Reads a crashed run's segment filestore (`<log dir>/.buffer/<name>/`, sample-buffer.md Part B) on
 * local disk or S3, giving what recovery needs per sample (recovery.md §4.3 pass 1) in the DB
 * reader's row types. Damage never stops it: a segment that is missing, truncated or not a zip is
 * skipped with one SEGMENT_UNREADABLE warning, and a pool gap that this causes is reported.
 * Segments are read per sample, never all at once, so memory stays bounded by one sample.
 */
import { bufferKey, type SampleId } from '../../sample-ref.js';
import { InspectRecoverError } from '../../errors.js';
import { storageFor } from '../../storage/storage-for.js';
import type { Storage } from '../../storage/storage.js';
import { warnings, warningSink, type RecoveryWarning, type WarningHandler, type WarningOptions } from '../../warnings.js';
import type { BufferSample, CallPoolRow, CollapsedBufferEvent, MessagePoolRow } from '../buffer-rows.js';
import type { TaskMetric } from '../schemas.js';
import { filestoreDirForLog, segmentFileName, segmentMemberName } from './layout.js';
import { readManifest, sampleSegments, type Manifest, type SampleSegment } from './manifest.js';
import { readSampleMetadata, type FilestoreSampleMetadata } from './metadata.js';
import { SampleAssembly, type PoolName, type PoolSoundness } from './sample-assembly.js';
import { SegmentArchive, type SegmentMember } from './segment.js';
import { newestTimeMs } from '../sample-buffer-source.js';

export interface FilestoreReaderOptions extends WarningOptions {
  /** Default: `storageFor(logLocation)`. */
  storage?: Storage;
}

/** A manifest sample, shaped like the DB reader's BufferSample. */
export interface FilestoreSample extends BufferSample {
  /** Segments holding the sample's rows, in id order. */
  segments: SampleSegment[];
}

export interface SkippedSegment {
  id: number;
  location: string;
  reason: string;
}

/**
 * Pool rows of the sample are missing (a skipped segment held some, or some could not be read).
 * Pool positions are ranks, so refs into the pool are sound only up to `soundRows`.
 */
export interface PoolGap {
  segmentIds: number[];
  soundRows: PoolSoundness;
}

export interface SampleDamage {
  /** Segments listed for the sample whose data for it could not be read, in id order. */
  skippedSegments: SkippedSegment[];
  poolGap: PoolGap | undefined;
}

export interface FilestoreSampleData {
  sample: FilestoreSample;
  /** The logical event history across all of the sample's segments. */
  events: CollapsedBufferEvent[];
  /** hash → content, first content per hash wins. */
  attachments: Map<string, string>;
  /** Rows in row-id order across segments: a row's index is the position `input_refs` use. */
  messagePool: MessagePoolRow[];
  /** Rows in row-id order across segments: a row's index is the position `call_refs` use. */
  callPool: CallPoolRow[];
  /** The full sample metadata; undefined when the buffer has none or it is unreadable (warned). */
  metadata: Record<string, unknown> | undefined;
  damage: SampleDamage;
}

type MemberOutcome = { member: SegmentMember } | { reason: string };

const openArchiveLimit = 8;

export class FilestoreReader {
  private readonly bySampleKey = new Map<string, FilestoreSample>();
  /** Which samples each segment holds per the manifest, for naming them in warnings. */
  private readonly samplesBySegment = new Map<number, FilestoreSample[]>();
  /** Segments that could not be opened, with the reason: not retried, and warned about once. */
  private readonly unreadableSegments = new Map<number, string>();
  private readonly warned = new Set<string>();
  /** The last few segments opened, kept open: neighbouring samples mostly share segments. */
  private readonly openArchives = new Map<number, SegmentArchive>();
  private bufferDirListing: Promise<string[]> | undefined;

  private constructor(
    readonly storage: Storage,
    readonly bufferDir: string,
    readonly manifest: Manifest,
    private readonly sampleList: FilestoreSample[],
    private readonly warn: WarningHandler,
  ) {
    for (const sample of sampleList) {
      const key = bufferKey(sample.id, sample.epoch);
      if (!this.bySampleKey.has(key)) this.bySampleKey.set(key, sample);
      for (const segment of sample.segments) {
        const holders = this.samplesBySegment.get(segment.id) ?? [];
        holders.push(sample);
        this.samplesBySegment.set(segment.id, holders);
      }
    }
  }

  /**
   * Reads the manifest of the log's filestore. NotFoundError when there is none (no buffer data);
   * JsonFormatError when it is not a manifest.
   */
  static async open(logLocation: string, options: FilestoreReaderOptions = {}): Promise<FilestoreReader> {
    return FilestoreReader.openDirectory(filestoreDirForLog(logLocation), options);
  }

  /** Like `open`, given the `.buffer/<name>` directory itself. */
  static async openDirectory(bufferDir: string, options: FilestoreReaderOptions = {}): Promise<FilestoreReader> {
    const storage = options.storage ?? storageFor(bufferDir);
    const manifest = await readManifest(storage, bufferDir);
    const samples = manifest.samples.map((entry): FilestoreSample => {
      const summary = entry.summary;
      return {
        id: String(summary.id),
        epoch: Number(summary.epoch),
        summary,
        completed: summary.completed_at != null,
        metadataHash: entry.metadata_hash ?? null,
        segments: sampleSegments(manifest, entry),
      };
    });
    return new FilestoreReader(storage, bufferDir, manifest, samples, warningSink(options));
  }

  /** The live display metrics as of the last sync. */
  get metrics(): TaskMetric[] {
    return this.manifest.metrics;
  }

  /** The manifest's samples, in manifest order. */
  samples(): FilestoreSample[] {
    return [...this.sampleList];
  }

  /** Ids compare as text, as Inspect does: the int 1 and the string "1" are one sample. */
  sample(id: SampleId, epoch: number): FilestoreSample | undefined {
    return this.bySampleKey.get(bufferKey(String(id), epoch));
  }

  segmentLocation(segmentId: number): string {
    return this.storage.join(this.bufferDir, segmentFileName(segmentId));
  }

  /** The full metadata the buffer stored for the sample (no warning; see `sampleData`). */
  async sampleMetadata(id: SampleId, epoch: number): Promise<FilestoreSampleMetadata> {
    const sample = this.sample(id, epoch);
    if (sample === undefined) return { status: 'absent' };
    return readSampleMetadata({ storage: this.storage, bufferDir: this.bufferDir, listBufferDir: () => this.listBufferDir() }, sample);
  }

  /**
   * Everything the buffer holds for one sample, each of its segments read once, in id order.
   * Undefined when the manifest has no such sample. Damage is warned about and reported in `damage`.
   */
  async sampleData(id: SampleId, epoch: number): Promise<FilestoreSampleData | undefined> {
    const sample = this.sample(id, epoch);
    if (sample === undefined) return undefined;
    const assembly = new SampleAssembly({ sampleId: sample.id, epoch: sample.epoch });
    const skippedSegments: SkippedSegment[] = [];
    const gapSegmentIds: number[] = [];

    for (const segment of sample.segments) {
      const location = this.segmentLocation(segment.id);
      const outcome = await this.readMember(segment.id, location, sample);
      if ('reason' in outcome) {
        skippedSegments.push({ id: segment.id, location, reason: outcome.reason });
        const lostPools = poolsWithRows(segment);
        for (const pool of lostPools) assembly.markPoolGap(pool);
        if (lostPools.length > 0) gapSegmentIds.push(segment.id);
        continue;
      }
      const { unreadableRows, lostPoolRows } = assembly.addMember(outcome.member, `${location}: ${segmentMemberName(sample.id, sample.epoch)}`);
      if (lostPoolRows) gapSegmentIds.push(segment.id);
      if (unreadableRows.length > 0) {
        this.warnOnce(`rows:${segment.id}:${bufferKey(sample.id, sample.epoch)}`, warnings.rowUnreadable(`Left out ${unreadableRows.length} unreadable row(s) of sample ${describeSample(sample)} in ${segmentFileName(segment.id)}: ${unreadableRows[0]}`, { segmentId: segment.id, location, sample: sampleRef(sample), rows: unreadableRows }));
      }
    }

    const soundRows = assembly.poolSoundness();
    const poolGap = soundRows && { segmentIds: gapSegmentIds, soundRows };
    if (poolGap) this.warnPoolGap(sample, poolGap);
    return {
      sample,
      events: assembly.events(),
      attachments: assembly.attachments,
      messagePool: assembly.messagePool,
      callPool: assembly.callPool,
      metadata: await this.metadataOrWarn(sample),
      damage: { skippedSegments, poolGap },
    };
  }

  /** The sample's member of one segment, or why it cannot be had (warned about once). */
  private async readMember(segmentId: number, location: string, sample: FilestoreSample): Promise<MemberOutcome> {
    let archive: SegmentArchive | undefined;
    if (!this.unreadableSegments.has(segmentId)) {
      try {
        archive = await this.archive(segmentId, location);
      } catch (error) {
        this.unreadableSegments.set(segmentId, describeError(error));
      }
    }
    if (archive === undefined) {
      const reason = this.unreadableSegments.get(segmentId)!;
      const holders = this.samplesBySegment.get(segmentId) ?? [];
      this.warnOnce(`segment:${segmentId}`, warnings.segmentUnreadable(`${describeSamples(holders)} lost the events stored in segment ${segmentId} (${segmentFileName(segmentId)}): ${reason}`, { segmentId, location, samples: holders.map(sampleRef), reason }));
      return { reason };
    }
    let outcome: MemberOutcome;
    try {
      const member = await archive.member(sample.id, sample.epoch);
      outcome = member ? { member } : { reason: `${location} has no member ${segmentMemberName(sample.id, sample.epoch)}` };
    } catch (error) {
      outcome = { reason: describeError(error) };
    }
    if ('reason' in outcome) {
      // The archive is sound but this sample's part of it is not: other samples may still read theirs.
      this.warnOnce(`member:${segmentId}:${bufferKey(sample.id, sample.epoch)}`, warnings.segmentUnreadable(`Sample ${describeSample(sample)} lost the events stored in segment ${segmentId} (${segmentFileName(segmentId)}): ${outcome.reason}`, { segmentId, location, samples: [sampleRef(sample)], reason: outcome.reason }));
    }
    return outcome;
  }

  private async archive(segmentId: number, location: string): Promise<SegmentArchive> {
    let archive = this.openArchives.get(segmentId);
    if (archive) {
      this.openArchives.delete(segmentId);
    } else {
      archive = await SegmentArchive.open(this.storage, location);
      if (this.openArchives.size >= openArchiveLimit) {
        const [oldestId, oldest] = this.openArchives.entries().next().value!;
        this.openArchives.delete(oldestId);
        await oldest.close();
      }
    }
    this.openArchives.set(segmentId, archive);
    return archive;
  }

  /**
   * The newest time the buffer records: sample start and completion times in the manifest, and
   * event timestamps in the newest segment (what the last sync wrote). Undefined when it records
   * none. An unreadable newest segment adds nothing; reading the samples warns about it.
   */
  async lastRecordedActivityMs(): Promise<number | undefined> {
    const times: unknown[] = [];
    for (const { summary } of this.sampleList) times.push(summary.started_at, summary.completed_at);
    const newest = this.manifest.segments.at(-1);
    if (newest !== undefined) {
      try {
        const archive = await this.archive(newest.id, this.segmentLocation(newest.id));
        for await (const member of archive.members()) {
          for (const row of member.events) times.push((row as { event?: { timestamp?: unknown } } | null)?.event?.timestamp);
        }
      } catch (error) {
        if (!(error instanceof InspectRecoverError)) throw error;
      }
    }
    return newestTimeMs(times);
  }

  /** Closes the segments kept open. */
  async close(): Promise<void> {
    const archives = [...this.openArchives.values()];
    this.openArchives.clear();
    for (const archive of archives) await archive.close();
  }

  private warnPoolGap(sample: FilestoreSample, gap: PoolGap): void {
    const files = gap.segmentIds.map(segmentFileName).join(', ');
    this.warnOnce(`pool-gap:${bufferKey(sample.id, sample.epoch)}`, warnings.poolGap(`Sample ${describeSample(sample)}: the model-call inputs its later events refer to were stored in ${files}, which is lost; ` +
        `those events keep their other fields, and their references are dropped rather than pointed at the wrong messages`, { sample: sampleRef(sample), segmentIds: gap.segmentIds, soundRows: gap.soundRows }));
  }

  private async metadataOrWarn(sample: FilestoreSample): Promise<Record<string, unknown> | undefined> {
    const result = await this.sampleMetadata(sample.id, sample.epoch);
    if (result.status === 'present') return result.metadata;
    if (result.status === 'unreadable') {
      this.warnOnce(`metadata:${bufferKey(sample.id, sample.epoch)}`, warnings.metadataUnreadable(`Unable to read sample metadata for id=${sample.id} epoch=${sample.epoch}: ${result.reason}`, { sample: sampleRef(sample), metadataHash: sample.metadataHash, reason: result.reason }));
    }
    return undefined;
  }

  private listBufferDir(): Promise<string[]> {
    this.bufferDirListing ??= this.storage.list(this.bufferDir);
    return this.bufferDirListing;
  }

  /** Marked only once delivered: in strict mode every read that meets the damage throws. */
  private warnOnce(key: string, warning: RecoveryWarning): void {
    if (this.warned.has(key)) return;
    this.warn(warning);
    this.warned.add(key);
  }
}

/**
 * The pools a skipped segment held rows of for this sample. With no record at all (a legacy entry
 * whose global record is gone) nothing is known, so both count as lost.
 */
function poolsWithRows(segment: SampleSegment): PoolName[] {
  if (segment.record === undefined) return ['messagePool', 'callPool'];
  const pools: PoolName[] = [];
  if (segment.record.last_message_pool_id > 0) pools.push('messagePool');
  if (segment.record.last_call_pool_id > 0) pools.push('callPool');
  return pools;
}


function sampleRef(sample: FilestoreSample): { id: string; epoch: number } {
  return { id: sample.id, epoch: sample.epoch };
}

function describeSample(sample: FilestoreSample): string {
  return `${sample.id} (epoch ${sample.epoch})`;
}

/** `Sample 5 (epoch 1)`, `3 samples (5, 7, 9 (epoch 1))`: what a lost segment cost, per the manifest. */
function describeSamples(samples: FilestoreSample[]): string {
  if (samples.length === 0) return 'No sample (per the manifest)';
  if (samples.length === 1) return `Sample ${describeSample(samples[0]!)}`;
  return `${samples.length} samples (${samples.map(describeSample).join(', ')})`;
}

/** Segment bytes are untrusted: whatever reading them throws is a reason to skip, not a crash. */
function describeError(error: unknown): string {
  if (error instanceof InspectRecoverError) return error.message;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
