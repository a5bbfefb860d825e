/**
 * Which copy of each (id, epoch) goes into the recovered log (recovery.md §4): one row per
 * sample, a flushed sample winning over its buffered copy unless the buffer holds a newer
 * finished attempt.
 */
import type { SampleBufferSource } from '../buffer/sample-buffer-source.js';
import type { BufferedSampleEntry } from '../buffer/buffered-sample.js';
import { sampleEntryName } from '../eval/entry-names.js';
import type { EvalLogReader } from '../eval/eval-log-reader.js';
import type { ZipEntry } from '../zip/zip-entry.js';

export interface SamplePlan {
  /** Flushed samples left out: the buffer holds a newer finished attempt of them. */
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
  const flushedCompletedAt = new Map<string, unknown>();
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
    if (inBuffer.has(name)) flushedCompletedAt.set(name, row.completed_at);
    ordinal++;
  }
  const replaced = new Set<string>();
  const heldByLog = new Map<string, BufferedSampleEntry>();
  const buffered: BufferedSampleEntry[] = [];
  for (const [name, entry] of inBuffer) {
    if (crashed.zip.has(name)) {
      const newer = entry.completed && isLater(entry.completedAt, flushedCompletedAt.get(name));
      if (!newer) {
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

function isLater(candidate: unknown, current: unknown): boolean {
  if (typeof candidate !== 'string') return false;
  if (typeof current !== 'string') return true;
  return Date.parse(candidate) > Date.parse(current);
}
