/**
 * One `segment.<N>.zip` (sample-buffer.md §B.4): a member `<id>_<epoch>.json` per sample that had
 * new rows at that sync, each a `SampleData` object. Opened through the storage's byte source, so
 * only the central directory and the members asked for are fetched (ranged GETs on S3).
 */
import { JsonFormatError } from '../../errors.js';
import type { Storage } from '../../storage/storage.js';
import type { ZipEntry } from '../../zip/zip-entry.js';
import { ZipReader } from '../../zip/zip-reader.js';
import { segmentMemberName } from './layout.js';

/** A member's four row lists, each row still unchecked (rows.ts checks them one by one). */
export interface SegmentMember {
  events: unknown[];
  attachments: unknown[];
  messagePool: unknown[];
  callPool: unknown[];
}

export class SegmentArchive {
  private constructor(
    readonly location: string,
    private readonly zip: ZipReader,
  ) {}

  /** Throws a typed error when the segment is missing, truncated, or not a zip. */
  static async open(storage: Storage, location: string): Promise<SegmentArchive> {
    const source = storage.byteSource(location);
    try {
      return new SegmentArchive(location, await ZipReader.open(source));
    } catch (error) {
      await source.close();
      throw error;
    }
  }

  /**
   * The sample's member, or undefined when this segment has none. Throws a typed error when the
   * member's data is damaged (bad CRC, undecodable) or is not a SampleData object.
   */
  async member(sampleId: string, epoch: number): Promise<SegmentMember | undefined> {
    const entry = this.zip.entry(segmentMemberName(sampleId, epoch));
    return entry === undefined ? undefined : this.read(entry);
  }

  /** Every member, in archive order. */
  async *members(): AsyncGenerator<SegmentMember> {
    for (const entry of this.zip.eachEntry()) yield await this.read(entry);
  }

  private async read(entry: ZipEntry): Promise<SegmentMember> {
    const what = `${this.location}: ${entry.name}`;
    const data = await this.zip.json(entry);
    if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new JsonFormatError(`${what} is not a JSON object`);
    const record = data as Record<string, unknown>;
    return {
      events: rowList(record, 'events', what),
      attachments: rowList(record, 'attachments', what),
      // Pools are absent in segments written before they existed.
      messagePool: rowList(record, 'message_pool', what),
      callPool: rowList(record, 'call_pool', what),
    };
  }

  close(): Promise<void> {
    return this.zip.close();
  }
}

function rowList(record: Record<string, unknown>, key: string, what: string): unknown[] {
  const value = record[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new JsonFormatError(`${what}: "${key}" is not a list`);
  return value;
}
