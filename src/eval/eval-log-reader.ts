import type { ByteSource } from '../bytes/byte-source.js';
import { FileByteSource } from '../bytes/file-byte-source.js';
import { EntryDataError, EvalLogFormatError, JsonFormatError, ZipFormatError } from '../errors.js';
import { jsonArrayElements } from '../json/json-array-elements.js';
import { parsePythonJson } from '../json/python-json.js';
import type { WarningHandler } from '../warnings.js';
import { ZipReader } from '../zip/zip-reader.js';
import type { ZipEntry } from '../zip/zip-entry.js';
import { EntryName, configUpdateIndex, isSampleEntryName, journalSummaryIndex } from './entry-names.js';
import { logKey } from '../sample-ref.js';
import {
  EvalLogHeaderSchema,
  EvalSampleReductionsSchema,
  EvalSampleSchema,
  EvalSampleSummariesSchema,
  LogStartSchema,
  validate,
  type EvalLogHeader,
  type EvalSample,
  type EvalSampleReductions,
  type EvalSampleSummary,
  type LogStart,
} from './schemas.js';

/**
 * Summaries entries up to this size are parsed whole; larger ones (a flush of n/20 samples of a
 * large run can be tens of megabytes) are decoded as a stream and parsed a batch of rows at a time.
 */
const wholeSummariesUpTo = 2 * 1024 * 1024;
/**
 * The longest summary row read: Inspect thins what a summary carries (long metadata values are
 * cut), so a longer row is damage or a crafted log, and holding it whole would cost hundreds of MB.
 */
export const maxSummaryRowBytes = 16 * 1024 * 1024;

/**
 * Reads an Inspect `.eval` log, finished or crashed, as Inspect's own reader does
 * (eval-log-format.md §2): header from `header.json` or synthesized from the start journal,
 * summaries from `summaries.json` or the journal, samples one at a time.
 */
export class EvalLogReader {
  private constructor(readonly zip: ZipReader) {}

  /**
   * With `headerOnly`, only the start journal and `header.json` are listed (no samples, no
   * summaries), and a large log's directory is never held whole: for telling what a log is.
   * With `salvage`, a log cut short (no end records) opens with its whole entries: see `truncated`.
   */
  static async open(
    source: ByteSource | string,
    { headerOnly = false, salvage = false, maxEntrySize, onWarning }: { headerOnly?: boolean; salvage?: boolean; maxEntrySize?: number; onWarning?: WarningHandler } = {},
  ): Promise<EvalLogReader> {
    const bytes = typeof source === 'string' ? new FileByteSource(source) : source;
    try {
      const keep = headerOnly ? (name: string) => name === EntryName.start || name === EntryName.header : undefined;
      const zip = await ZipReader.open(bytes, { keep, salvage, maxEntrySize, onWarning });
      if (!zip.has(EntryName.start) && !zip.has(EntryName.header)) {
        throw new EvalLogFormatError(`${bytes.name}: not an Inspect eval log (no ${EntryName.start} and no ${EntryName.header})`);
      }
      return new EvalLogReader(zip);
    } catch (error) {
      await bytes.close();
      throw error;
    }
  }

  get name(): string {
    return this.zip.source.name;
  }

  /** Set when the log was cut short and opened from its whole entries (`salvage`). */
  get truncated(): { entries: number; stoppedAt: number } | undefined {
    return this.zip.salvaged;
  }

  /** A finished log has `header.json`; a running or crashed one has only the journal. */
  get finished(): boolean {
    return this.zip.has(EntryName.header);
  }

  async start(): Promise<LogStart> {
    const entry = this.zip.entry(EntryName.start);
    if (!entry) throw new EvalLogFormatError(`${this.name}: no ${EntryName.start}`);
    return validate(LogStartSchema, await this.zip.json(entry), `${this.name}: ${EntryName.start}`);
  }

  /** `header.json`, or for an unfinished log the header Inspect synthesizes: status `started`. */
  async header(): Promise<EvalLogHeader> {
    const entry = this.zip.entry(EntryName.header);
    if (entry) return validate(EvalLogHeaderSchema, await this.zip.json(entry), `${this.name}: ${EntryName.header}`);
    const start = await this.start();
    return {
      version: start.version,
      status: 'started',
      eval: start.eval,
      plan: start.plan,
      stats: { started_at: '', completed_at: '', model_usage: {}, role_usage: {} },
      invalidated: false,
      tags: [...((start.eval.tags as string[] | undefined) ?? [])].sort(),
      metadata: (start.eval.metadata as Record<string, unknown> | undefined) ?? {},
    };
  }

  /** The journal summary files in index order. */
  journalSummaryEntries(): ZipEntry[] {
    return this.indexedEntries(journalSummaryIndex);
  }

  /** Entries whose names carry a journal index, in numeric index order. */
  private indexedEntries(indexOf: (name: string) => number | undefined): ZipEntry[] {
    const found: ZipEntry[] = [];
    for (const entry of this.zip.eachEntry()) if (indexOf(entry.name) !== undefined) found.push(entry);
    return found.sort((a, b) => indexOf(a.name)! - indexOf(b.name)!);
  }

  /**
   * `summaries.json` when the log finished, else the journal's rows concatenated in index
   * order; either way one row per (id, epoch), the last one written winning.
   */
  async summaries(): Promise<EvalSampleSummary[]> {
    const rows = new Map<string, EvalSampleSummary>();
    for await (const row of this.summaryRows()) rows.set(logKey(row.id, row.epoch), row);
    return [...rows.values()];
  }

  /**
   * The summary rows as written, duplicates included, parsed one row at a time: a journal entry
   * holds a flush's worth (Inspect flushes every n/20 samples), too many to hold as objects.
   * With `onDamaged`, an entry whose bytes fail their check (CRC, size, a torn stream) is passed
   * to it and skipped whole, before any of its rows is given; without, the damage is thrown.
   * Entries named in `skip` (found damaged by an earlier pass) are passed over unread. A row
   * longer than `maxSummaryRowBytes` is passed over, told to `onRowTooLarge`. With
   * `shapeCheckedBefore` (an earlier pass of this reader checked every row's shape, and the
   * entries' CRCs prove their bytes unchanged since) rows are parsed but not checked again.
   */
  async *summaryRows({
    onDamaged,
    skip,
    onRowTooLarge,
    shapeCheckedBefore = false,
  }: {
    onDamaged?: (entry: ZipEntry, error: Error) => void;
    skip?: ReadonlySet<string>;
    onRowTooLarge?: (entry: ZipEntry, row: number, bytes: number) => void;
    shapeCheckedBefore?: boolean;
  } = {}): AsyncGenerator<EvalSampleSummary> {
    const checked = (rows: unknown, what: string) => (shapeCheckedBefore ? (rows as EvalSampleSummary[]) : validate(EvalSampleSummariesSchema, rows, what));
    const final = this.zip.entry(EntryName.summaries);
    for (const entry of final ? [final] : this.journalSummaryEntries()) {
      if (skip?.has(entry.name)) continue;
      const what = `${this.name}: ${entry.name}`;
      if (entry.compressedSize <= wholeSummariesUpTo && entry.uncompressedSize <= wholeSummariesUpTo) {
        // Decoded, checked and parsed in one call each, before any row is given: a fraction of
        // the cost of splitting it into rows (and its rows cannot pass maxSummaryRowBytes).
        let rows: unknown;
        try {
          this.zip.assertParsable(entry);
          rows = parsePythonJson(await this.zip.text(entry), what);
        } catch (error) {
          if (!onDamaged || !isDataDamage(error)) throw error;
          onDamaged(entry, error);
          continue;
        }
        if (!Array.isArray(rows)) throw new JsonFormatError(`${what} is not a valid JSON array`);
        yield* checked(rows, what);
        continue;
      }
      // A larger entry is streamed a batch of rows at a time, so with `onDamaged` it is checked
      // in a pass of its own first.
      const damage = onDamaged ? await this.damageOf(entry) : undefined;
      if (damage) {
        onDamaged!(entry, damage);
        continue;
      }
      let batches = 0;
      try {
        this.zip.assertParsable(entry);
        const oversize = { maxElementBytes: maxSummaryRowBytes, onOversize: (row: number, bytes: number) => onRowTooLarge?.(entry, row, bytes) };
        // Rows are parsed and validated a batch at a time: one call per row would cost more than
        // the parsing itself, and a batch bounds what is held as objects.
        for await (const texts of jsonArrayElements(this.zip.chunks(entry, { wholeDecodeLimit: wholeSummariesUpTo }), what, oversize)) {
          batches++;
          yield* checked(parsePythonJson(`[${texts.join(',')}]`, what), what);
        }
      } catch (error) {
        if (!onDamaged || batches > 0 || !isDataDamage(error)) throw error;
        onDamaged(entry, error as Error);
      }
    }
  }

  /** Why the entry's bytes fail their check, or undefined when they pass (one decode, nothing kept). */
  private async damageOf(entry: ZipEntry): Promise<Error | undefined> {
    try {
      this.zip.assertParsable(entry);
      for await (const _ of this.zip.chunks(entry, { wholeDecodeLimit: wholeSummariesUpTo }));
      return undefined;
    } catch (error) {
      if (isDataDamage(error)) return error;
      throw error;
    }
  }

  /** Journaled mid-run config changes (`_journal/config_updates/<N>.json`), in index order. */
  async configUpdates(): Promise<unknown[]> {
    const updates: unknown[] = [];
    for (const entry of this.indexedEntries(configUpdateIndex)) updates.push(await this.zip.json(entry));
    return updates;
  }

  /** `reductions.json`, when the log has one. */
  async reductions(): Promise<EvalSampleReductions | undefined> {
    const entry = this.zip.entry(EntryName.reductions);
    if (!entry) return undefined;
    return validate(EvalSampleReductionsSchema, await this.zip.json(entry), `${this.name}: ${entry.name}`);
  }

  /** Sample entries (last of each name), in file order, made one at a time. */
  *sampleEntries(): Generator<ZipEntry> {
    for (const entry of this.zip.eachEntry()) if (isSampleEntryName(entry.name)) yield entry;
  }

  sampleCount(): number {
    let count = 0;
    for (const _ of this.sampleEntries()) count++;
    return count;
  }

  async readSample(entry: ZipEntry): Promise<EvalSample> {
    return validate(EvalSampleSchema, await this.zip.json(entry), `${this.name}: ${entry.name}`);
  }

  /** Samples parsed one at a time, so only one is in memory. */
  async *samples(): AsyncGenerator<EvalSample> {
    for (const entry of this.sampleEntries()) yield await this.readSample(entry);
  }

  close(): Promise<void> {
    return this.zip.close();
  }
}

/** Damage to an entry's bytes, as opposed to what they say. */
function isDataDamage(error: unknown): error is EntryDataError | ZipFormatError {
  return error instanceof EntryDataError || error instanceof ZipFormatError;
}
