import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { processTempDir } from '../bytes/exit-cleanup.js';
import { WriterClosedError } from '../errors.js';
import { stringifyPythonJson } from '../json/python-json.js';
import type { Storage } from '../storage/storage.js';
import { storageFor } from '../storage/storage-for.js';
import type { ZipEntry } from '../zip/zip-entry.js';
import type { CheckedRawEntry } from '../zip/zip-reader.js';
import { ZipWriter, type ZipWriterOptions } from '../zip/zip-writer.js';
import { EntryName, journalSummaryName, sampleEntryName } from './entry-names.js';
import { summarizeSample } from './sample-summary.js';
import { SummarySpool } from './summary-spool.js';
import type { EvalLogHeader, EvalSample, EvalSampleReductions, EvalSampleSummary, LogStart } from './schemas.js';

export interface EvalLogWriterOptions extends ZipWriterOptions {
  /** Compression for new entries; defaults to zstd where Node can encode it, else deflate. */
  method?: number;
  /** Where the log goes; defaults to the driver for its location (local path or s3:// URI). */
  storage?: Storage;
  /**
   * Publish only when finishing, so the log appears whole or not at all (for writing a
   * recovered log); flushes then only journal. Default: publish at every flush, as a running
   * eval must.
   */
  publishOnlyAtFinish?: boolean;
  /**
   * Writes what the log starts with after its start journal and before its first flush (the
   * samples of a run being resumed), so the log it replaces is replaced only by one holding them.
   */
  seed?: (writer: EvalLogWriter) => Promise<void>;
}

export interface FinishOptions {
  /** The final header (status, results, stats...). Written last, as Inspect does. */
  header: EvalLogHeader;
  /** `reductions.json`: the array, or its JSON already encoded as a stream of bytes. */
  reductions?: EvalSampleReductions | AsyncIterable<Uint8Array>;
  /**
   * Checks the finished log, as a local file, before it is published: when it throws, nothing
   * is. Every entry's bytes are first read back and compared with what was written.
   */
  verify?: (workingCopy: string) => Promise<void>;
}

/**
 * Writes an `.eval` log the way Inspect's recorder does (eval-log-format.md §7): entries go
 * into a private working zip; each flush completes that zip and replaces the log with a copy
 * of it atomically (temp file, fsync, rename; one PUT on S3), so the log on disk is always a
 * whole, readable archive, and a crash loses only what was added since the last flush.
 */
export class EvalLogWriter {
  /** Summaries (as JSON text) waiting for the next journal entry. */
  private pending: string[] = [];
  private journalIndex = 0;
  private closed = false;

  private constructor(
    readonly location: string,
    private readonly storage: Storage,
    private readonly workDirectory: string,
    private readonly zip: ZipWriter,
    private readonly summaries: SummarySpool,
    private readonly method: number | undefined,
    private readonly publishOnlyAtFinish: boolean,
  ) {}

  /** Starts a log: records the start journal and flushes, as Inspect does at task start. */
  static async create(location: string, start: LogStart, options: EvalLogWriterOptions = {}): Promise<EvalLogWriter> {
    const storage = options.storage ?? storageFor(location);
    const workDirectory = await mkdtemp(join(processTempDir(), 'log-'));
    const zip = await ZipWriter.create(join(workDirectory, 'log.eval'), options);
    const summaries = await SummarySpool.create();
    const writer = new EvalLogWriter(location, storage, workDirectory, zip, summaries, options.method, options.publishOnlyAtFinish === true);
    try {
      await writer.addJson(EntryName.start, start);
      await options.seed?.(writer);
      await writer.flush();
    } catch (error) {
      await writer.close();
      throw error;
    }
    return writer;
  }

  /** Adds a finished sample; its summary joins the next flush's journal entry. */
  async addSample(sample: EvalSample, summary: EvalSampleSummary = summarizeSample(sample)): Promise<ZipEntry> {
    const entry = await this.addJson(sampleEntryName(sample.id, sample.epoch), sample);
    await this.addSummary(summary);
    return entry;
  }

  /**
   * Leaves a sample entry added earlier out of the log from the next flush on: a later attempt
   * of that sample replaces it (its summary, added later, is the one `summaries.json` keeps).
   */
  dropSample(entry: Pick<ZipEntry, 'localHeaderOffset'>): void {
    this.assertOpen();
    this.zip.drop(entry);
  }

  /**
   * Copies a sample entry from another log as its raw compressed bytes, checked on the way
   * (`ZipReader.checkedRaw`), under `name` (default its own). When the check fails the entry is
   * left out and the error thrown; the log is as before. Its summary (from that log's summaries)
   * is added with `addSummary`, now or later.
   */
  async addRawSample(entry: ZipEntry, raw: CheckedRawEntry, name = entry.name): Promise<ZipEntry> {
    this.assertOpen();
    return this.zip.addRaw(entry, raw.chunks, name);
  }

  /** Records a sample's summary; it joins the next flush's journal entry and `summaries.json`. */
  async addSummary(summary: EvalSampleSummary): Promise<void> {
    this.assertOpen();
    this.pending.push(this.summaries.append(summary));
  }

  /** Makes everything added so far durable in the log: the samples plus one journal summaries entry. */
  async flush(): Promise<void> {
    await this.journalPendingSummaries();
    if (!this.publishOnlyAtFinish) await this.publish();
  }

  /** The latest summary of each sample added so far, in the order they were added (read back from disk). */
  latestSummaries(): AsyncGenerator<EvalSampleSummary> {
    return this.summaries.latest();
  }

  /** Writes `summaries.json`, `reductions.json` (when given) and `header.json`, publishes, and closes. */
  async finish({ header, reductions, verify }: FinishOptions): Promise<void> {
    await this.journalPendingSummaries();
    await this.zip.add(EntryName.summaries, this.summaries.json(), this.entryOptions());
    if (Array.isArray(reductions)) await this.addJson(EntryName.reductions, reductions);
    else if (reductions) await this.zip.add(EntryName.reductions, reductions, this.entryOptions());
    await this.addJson(EntryName.header, header);
    if (verify) {
      await this.zip.writeCentralDirectory();
      await this.zip.checkWritten();
      await verify(this.zip.path);
    }
    await this.publish();
    await this.close();
  }

  /** Stops writing, leaving the log as of its last flush, and removes the working copy. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.zip.abandon();
    await this.summaries.close();
    await rm(this.workDirectory, { recursive: true, force: true });
  }

  private async journalPendingSummaries(): Promise<void> {
    if (this.pending.length === 0) return;
    const entry = `[${this.pending.join(',')}]`;
    this.pending = [];
    await this.zip.add(journalSummaryName(++this.journalIndex), entry, this.entryOptions());
  }

  private async addJson(name: string, value: unknown): Promise<ZipEntry> {
    this.assertOpen();
    return this.zip.add(name, stringifyPythonJson(value), this.entryOptions());
  }

  private entryOptions(): { method?: number } {
    return this.method === undefined ? {} : { method: this.method };
  }

  private async publish(): Promise<void> {
    this.assertOpen();
    // The working copy needs no fsync: the published copy is the durable one.
    await this.zip.writeCentralDirectory();
    await this.storage.writeFromFile(this.location, this.zip.path);
  }

  private assertOpen(): void {
    if (this.closed) throw new WriterClosedError(`${this.location}: the log writer is closed`);
  }
}
