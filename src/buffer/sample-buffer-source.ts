/**
 * What recovery needs from a sample buffer, whichever kind it is: the buffered samples, and
 * for each one its logical events, attachments and pools (recovery.md §3–4).
 */
import type { BufferedSample } from '../recover/reconstruct-sample.js';

/** `none`: the buffer is gone (a lost local disk); only the log's flushed samples remain. */
export type BufferSourceKind = 'database' | 'filestore' | 'none';

/**
 * A buffered sample as listed, before its data is read: only what planning needs, since a crash
 * can leave thousands buffered (Inspect flushes every n/20 samples). Its summary comes with `read`.
 */
export interface BufferedSampleEntry {
  /** As the summary types it: the int 1 and the string "1" differ. */
  id: string | number;
  epoch: number;
  /** The summary has `completed_at`: finished, with or without an error. */
  completed: boolean;
  completedAt: string | null;
}

/** The listing entry for a sample whose summary is at hand. */
export function bufferedSampleEntry(sample: { summary: Record<string, unknown>; epoch: number; completed: boolean }): BufferedSampleEntry {
  const completedAt = sample.summary.completed_at;
  return { id: sample.summary.id as string | number, epoch: sample.epoch, completed: sample.completed, completedAt: typeof completedAt === 'string' ? completedAt : null };
}

export interface SampleBufferSource {
  readonly kind: BufferSourceKind;
  /** The DB file or the `.buffer/<name>` directory. */
  readonly location: string;
  samples(): Promise<BufferedSampleEntry[]>;
  /**
   * When the buffer last recorded something, from its contents (a copy's fresh file times say
   * nothing): the database's `last_updated`, the filestore's newest event or sample time.
   */
  lastActivityMs(): Promise<number | undefined>;
  /** Everything the buffer holds of one sample; damaged parts are reported as warnings. */
  read(entry: BufferedSampleEntry): Promise<BufferedSample>;
  close(): Promise<void>;
  /** Deletes the buffer (after a successful recovery). */
  remove(): Promise<void>;
}

/** The source of a log whose buffer is gone: nothing buffered, nothing to delete. */
export const noBuffer: SampleBufferSource = {
  kind: 'none',
  location: '',
  samples: async () => [],
  lastActivityMs: async () => undefined,
  read: async (entry) => {
    throw new Error(`no buffer holds sample ${entry.id}`);
  },
  close: async () => undefined,
  remove: async () => undefined,
};

/** The newest of ISO times (any of them may be missing or unparsable), in ms. */
export function newestTimeMs(times: Iterable<unknown>): number | undefined {
  let newest: number | undefined;
  for (const time of times) {
    if (typeof time !== 'string') continue;
    const ms = Date.parse(time);
    if (Number.isFinite(ms) && (newest === undefined || ms > newest)) newest = ms;
  }
  return newest;
}
