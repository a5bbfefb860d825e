/**
 * One kind of sample buffer, as unstorage has one driver per backend: each finds a log's buffer
 * of its kind, opens it, and judges from its own evidence whether its writer still lives. The
 * drivers are tried in order (buffer/drivers.ts); recovery knows nothing of their kinds.
 */
import type { EvalSampleSummary, LogStart } from '../eval/schemas.js';
import type { Storage } from '../storage/storage.js';
import type { WarningHandler } from '../warnings.js';
import type { SampleBufferSource } from './sample-buffer-source.js';

export type BufferKind = 'database' | 'filestore';

/** What the evidence says of the buffer's writer. */
export type WriterVerdict = 'crashed' | 'running' | 'uncertain';

/** What a driver needs of the log: its start, and the times of its flushed samples. */
export interface LogRecord {
  start(): Promise<LogStart>;
  /** With `onDamaged`, a damaged journal entry is passed to it and skipped. */
  summaryRows(options?: { onDamaged?: (entry: { name: string }, error: Error) => void }): AsyncIterable<Pick<EvalSampleSummary, 'completed_at'>>;
}

export interface LocateOptions {
  /** The log's storage (a filestore lives beside the log). */
  storage: Storage;
  /** Inspect's data dir, where buffer databases live; default from XDG_DATA_HOME. */
  dataDir?: string;
}

/** A buffer found by a driver, not yet opened. */
export interface LocatedBuffer {
  kind: BufferKind;
  /** The database file or the `.buffer/<name>` directory. */
  location: string;
  storage: Storage;
  /** What locating already learned of its writer (a database's pid and open files). */
  writer?: { alive: boolean; reason: string; unproven?: boolean };
  /** Found under another log directory's hash: the directory it was found in. */
  relocatedFrom?: string;
}

export interface OpenOptions {
  log: LogRecord;
  warn: WarningHandler;
  /** How long after its last recorded activity a run without proof of life may still be alive. */
  staleAfterMs: number;
  /** The clock, in ms. */
  now: number;
}

export interface FoundBuffer {
  /** Opened for reading (for a running buffer too: listing counts it, `force` recovers it). */
  source: SampleBufferSource;
  verdict: WriterVerdict;
  /** Why the verdict (running, uncertain), or where nothing was found (no buffer). */
  reason: string;
  /** The newest time the buffer (or, without one, the log) records, in ms. */
  lastActivityMs: number | undefined;
  /** A database found under another log directory's hash: the directory it was found in. */
  relocatedFrom?: string;
}

/** A buffer found by `enumerate`: whose log it is for (which may be gone), and its size. */
export interface OwnedBuffer extends LocatedBuffer {
  log: string;
  bytes: number;
}

export interface BufferDriver {
  readonly kind: BufferKind;
  /** This log's buffer of this kind, or undefined when it has none. */
  locate(log: string, options: LocateOptions): Promise<LocatedBuffer | undefined>;
  /** The buffer a user named (`--buffer`), when it is of this kind. */
  locateNamed(named: string): Promise<LocatedBuffer | undefined>;
  /** Opens it and judges its writer. */
  open(located: LocatedBuffer, options: OpenOptions): Promise<FoundBuffer>;
  /** Every buffer of this kind for logs in these directories, whether or not the log still exists. */
  enumerate(directories: readonly string[], options: LocateOptions): Promise<OwnedBuffer[]>;
  /** Why its writer may still be alive, without its log; undefined when it is not. */
  liveWriter(located: LocatedBuffer, options: { staleAfterMs: number; now: number }): Promise<string | undefined>;
  /** Deletes it. */
  remove(located: LocatedBuffer): Promise<void>;
}

/** Runs `judge`, closing the source when it throws: the caller only gets to close what is returned. */
export async function closingOnError<T>(source: SampleBufferSource, judge: () => Promise<T>): Promise<T> {
  try {
    return await judge();
  } catch (error) {
    await source.close();
    throw error;
  }
}

/** `42s`, `20 min`, `3 h`, `2 days`: for reasons. */
export function formatAge(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} days`;
}
