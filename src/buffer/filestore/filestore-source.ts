/** A crashed eval's segment filestore (`.buffer/<name>/`, local or S3) as a recovery source. */
import { type BufferedSample, bufferedSampleEntry, type BufferedSampleEntry } from '../buffered-sample.js';
import type { Storage } from '../../storage/storage.js';
import type { WarningHandler } from '../../warnings.js';
import { type SampleBufferSource } from '../sample-buffer-source.js';
import { FilestoreReader } from './reader.js';

export class FilestoreBufferSource implements SampleBufferSource {
  readonly kind = 'filestore' as const;

  private constructor(
    readonly location: string,
    private readonly reader: FilestoreReader,
  ) {}

  /** `directory` is the `.buffer/<name>` directory; its manifest must exist (NotFoundError otherwise). */
  static async open(directory: string, options: { storage: Storage; warn: WarningHandler }): Promise<FilestoreBufferSource> {
    return new FilestoreBufferSource(directory, await FilestoreReader.openDirectory(directory, { storage: options.storage, onWarning: options.warn }));
  }

  async samples(): Promise<BufferedSampleEntry[]> {
    return this.reader.samples().map(bufferedSampleEntry);
  }

  lastActivityMs(): Promise<number | undefined> {
    return this.reader.lastRecordedActivityMs();
  }

  /** Damaged segments are skipped with warnings; pool positions past a gap are flagged in `soundPool`. */
  async read(entry: BufferedSampleEntry): Promise<BufferedSample> {
    const data = await this.reader.sampleData(entry.id, entry.epoch);
    const gap = data?.damage.poolGap;
    return {
      summary: this.reader.sample(entry.id, entry.epoch)!.summary,
      completed: entry.completed,
      events: data?.events.map((row) => row.event) ?? [],
      attachments: data?.attachments ?? new Map(),
      messagePool: data?.messagePool.map((row) => row.message) ?? [],
      callPool: data?.callPool.map((row) => row.value) ?? [],
      ...(data?.metadata ? { metadata: data.metadata } : {}),
      ...(gap ? { soundPool: { messages: gap.soundRows.messagePool, calls: gap.soundRows.callPool } } : {}),
    };
  }

  async close(): Promise<void> {
    await this.reader.close();
  }

  /** Deletes `.buffer/<name>/` (not `.buffer/` itself), as Inspect's recovery cleanup does. */
  async remove(): Promise<void> {
    await this.reader.storage.deleteTree(this.location);
  }
}
