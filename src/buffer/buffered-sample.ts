/**
 * A buffered sample as every buffer driver gives it: listed first (what planning needs), then
 * read whole (what reconstruction needs), the same shape whichever kind of buffer held it.
 */

type Json = Record<string, unknown>;

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

/** One buffered sample, as either buffer source gives it. */
export interface BufferedSample {
  summary: Json;
  completed: boolean;
  /** Logical events in order (collapsed), still condensed. */
  events: Json[];
  attachments: Map<string, string>;
  /** Parsed pool entries; a ref's position is its index here. */
  messagePool: unknown[];
  callPool: unknown[];
  /** The full sample metadata, when the buffer kept it. */
  metadata?: Record<string, unknown>;
  /**
   * Pool positions known to be sound: a skipped segment held later pool rows, so refs at or past
   * these positions would point at the wrong entries. Absent when the pools are whole.
   */
  soundPool?: { messages: number; calls: number };
}
