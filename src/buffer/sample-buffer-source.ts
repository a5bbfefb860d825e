/**
 * What recovery needs from a sample buffer, whichever kind it is: the buffered samples, and
 * for each one its logical events, attachments and pools (recovery.md §3–4).
 */
import type { BufferKind } from './buffer-driver.js';
import type { BufferedSample, BufferedSampleEntry } from './buffered-sample.js';

/** `none`: the buffer is gone (a lost local disk); only the log's flushed samples remain. */
export type BufferSourceKind = BufferKind | 'none';

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
