/**
 * How a sample is named, and the two keys it is looked up by. A log keeps the int 1 and the
 * string "1" apart (Python's dict keys do, and so do the summaries); a buffer does not, since its
 * rows hold the id as text (sample-buffer.md §A.3). Every map of samples uses one of these keys.
 */

/** A sample id as Inspect types it: an int (any size) or a string. */
export type SampleId = string | number | bigint;

/** One sample of one epoch. */
export interface SampleRef {
  id: SampleId;
  epoch: number;
}

/** The id alone, the int 1 and the string "1" kept apart. */
export function logIdKey(id: SampleId): string {
  return `${typeof id === 'string' ? 's' : 'n'}:${String(id)}`;
}

/** (id, epoch) in a log: the int 1 and the string "1" kept apart. */
export function logKey(id: SampleId, epoch: number): string {
  return `${logIdKey(id)}:${epoch}`;
}

/** (id, epoch) in a buffer, where the id is its text: the int 1 and the string "1" are one sample. */
export function bufferKey(id: SampleId, epoch: number): string {
  return `${String(id)}\u0000${epoch}`;
}
