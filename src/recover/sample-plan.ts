/**
 * Which copy of each (id, epoch) goes into the recovered log (recovery.md §4): one row per
 * sample, a flushed sample winning over its buffered copy unless the buffer holds a newer
 * attempt (isNewerAttempt).
 */
import type { SampleBufferSource } from '../buffer/sample-buffer-source.js';
import type { BufferedSampleEntry } from '../buffer/buffered-sample.js';
import { sampleEntryName } from '../eval/entry-names.js';
import type { EvalLogReader } from '../eval/eval-log-reader.js';
import type { ZipEntry } from '../zip/zip-entry.js';

export interface SamplePlan {
  /** Flushed samples left out: the buffer holds a newer attempt of them. */
  replaced: Set<string>;
  /**
   * By position in the crashed log's central directory, the ordinal (in `summaryRows()` order)
   * of the entry's last summary row, or -1: 4 bytes a sample rather than a map of names.
   */
  lastRowOf: Int32Array;
  /** Buffered samples to rebuild: finished first, then in progress. */
  buffered: BufferedSampleEntry[];
  /** Buffered copies of samples the log holds, by entry name: the fallback when a flushed entry is damaged. */
  heldByLog: Map<string, BufferedSampleEntry>;
  /** Journal summaries entries that fail their check: later passes skip them without checking again. */
  damagedJournal: Set<string>;
}

/**
 * What is kept per flushed sample is one integer; names are kept only for buffered samples,
 * which a crash bounds (the log buffer plus those running), not the log's size.
 */
export async function planSamples(
  crashed: EvalLogReader,
  source: SampleBufferSource,
  onDamagedJournal: (entry: ZipEntry, error: Error) => void,
  onRowTooLarge: (entry: ZipEntry, row: number, bytes: number) => void,
): Promise<SamplePlan> {
  const inBuffer = new Map<string, BufferedSampleEntry>();
  for (const entry of await source.samples()) inBuffer.set(sampleEntryName(entry.id, entry.epoch), entry);
  const directory = crashed.zip.directory;
  const lastRowOf = new Int32Array(directory.count).fill(-1);
  /** For samples both places hold: the flushed row's completion and whether its attempt failed. */
  const flushedRow = new Map<string, { completedAt: unknown; failed: boolean }>();
  const damagedJournal = new Set<string>();
  let ordinal = 0;
  const onDamaged = (entry: ZipEntry, error: Error) => {
    damagedJournal.add(entry.name);
    onDamagedJournal(entry, error);
  };
  for await (const row of crashed.summaryRows({ onDamaged, onRowTooLarge })) {
    const name = sampleEntryName(row.id, row.epoch);
    const position = directory.positionOf(name);
    if (position !== undefined) lastRowOf[position] = ordinal;
    if (inBuffer.has(name)) flushedRow.set(name, { completedAt: row.completed_at, failed: typeof row.error === 'string' && row.error !== '' });
    ordinal++;
  }
  const replaced = new Set<string>();
  const heldByLog = new Map<string, BufferedSampleEntry>();
  const buffered: BufferedSampleEntry[] = [];
  for (const [name, entry] of inBuffer) {
    if (crashed.zip.has(name)) {
      if (!isNewerAttempt(entry, flushedRow.get(name))) {
        heldByLog.set(name, entry);
        continue;
      }
      replaced.add(name);
    }
    buffered.push(entry);
  }
  sortBuffered(buffered);
  return { replaced, lastRowOf, buffered, heldByLog, damagedJournal };
}

/** Finished samples first, then those cut off while running. */
export function sortBuffered(buffered: BufferedSampleEntry[]): void {
  buffered.sort((a, b) => Number(b.completed) - Number(a.completed));
}

/**
 * Whether the buffer's copy is a newer attempt than the log's: finished after it; or, over a
 * row whose attempt failed, run again at all. A log seeded with the samples of an earlier
 * attempt (eval_set's retries) holds that attempt's failure, and this attempt re-ran the sample:
 * what it did, finished or cut off by the crash, is the attempt that matters. (A sample this
 * attempt flushed is never running in its buffer again.)
 */
function isNewerAttempt(buffered: BufferedSampleEntry, flushed: { completedAt: unknown; failed: boolean } | undefined): boolean {
  if (buffered.completed && isLater(buffered.completedAt, flushed?.completedAt)) return true;
  return !buffered.completed && flushed?.failed === true;
}

function isLater(candidate: unknown, current: unknown): boolean {
  if (typeof candidate !== 'string') return false;
  if (typeof current !== 'string') return true;
  return Date.parse(candidate) > Date.parse(current);
}
