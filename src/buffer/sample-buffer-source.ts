/**
 * What recovery needs from a sample buffer, whichever kind it is: the buffered samples, and
 * for each one its logical events, attachments and pools (recovery.md §3–4).
 */
import type { BufferedSample } from '../recover/reconstruct-sample.js';

export type BufferSourceKind = 'database' | 'filestore';

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
  /** Everything the buffer holds of one sample; damaged parts are reported as warnings. */
  read(entry: BufferedSampleEntry): Promise<BufferedSample>;
  close(): Promise<void>;
  /** Deletes the buffer (after a successful recovery). */
  remove(): Promise<void>;
}
