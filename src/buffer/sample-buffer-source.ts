/**
 * What recovery needs from a sample buffer, whichever kind it is: the buffered samples, and
 * for each one its logical events, attachments and pools (recovery.md §3–4).
 */
import type { BufferedSample } from '../recover/reconstruct-sample.js';

export type BufferSourceKind = 'database' | 'filestore';

/** A buffered sample as listed, before its data is read. */
export interface BufferedSampleEntry {
  id: string | number;
  epoch: number;
  /** The buffer's summary (input attachments resolved). */
  summary: Record<string, unknown>;
  /** The summary has `completed_at`: finished, with or without an error. */
  completed: boolean;
}

/** The listing entry for a sample as either buffer reader describes it. */
export function bufferedSampleEntry(sample: { summary: Record<string, unknown>; epoch: number; completed: boolean }): BufferedSampleEntry {
  return { id: sample.summary.id as string | number, epoch: sample.epoch, summary: sample.summary, completed: sample.completed };
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
