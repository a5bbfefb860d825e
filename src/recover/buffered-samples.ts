/**
 * Rebuilds one buffered sample for the recovered log, or leaves it out with a coded warning:
 * a buffer is written by a process that crashed, and may be damaged or crafted, so a row of
 * the wrong shape, an id that would unzip outside `samples/` or an absurd value costs that
 * sample, never the recovery.
 */
import type { SampleBufferSource } from '../buffer/sample-buffer-source.js';
import type { BufferedSampleEntry } from '../buffer/buffered-sample.js';
import { isSafeEntryName, sampleEntryName } from '../eval/entry-names.js';
import { attemptErrors, withEarlierAttempts } from '../eval/attempt-errors.js';
import type { EvalLogReader } from '../eval/eval-log-reader.js';
import { EvalSampleSummarySchema, validate, type EvalError, type EvalSample, type EvalSampleSummary } from '../eval/schemas.js';
import { warnings, type WarningHandler } from '../warnings.js';
import { isSampleDamage } from './flushed-samples.js';
import { reconstructSample } from './reconstruct-sample.js';

export interface RebuildContext {
  location: string;
  noEvents?: boolean;
  evalSandbox?: unknown;
  inProgressError?: EvalError;
  warn: WarningHandler;
}

/** Rebuilds the sample and hands it to `write`; its summary, or undefined when it was left out. */
export async function rebuildBufferedSample(
  source: SampleBufferSource,
  entry: BufferedSampleEntry,
  write: (sample: EvalSample, summary: EvalSampleSummary) => Promise<unknown>,
  { location, noEvents, evalSandbox, inProgressError, warn }: RebuildContext,
): Promise<EvalSampleSummary | undefined> {
  const label = `sample id=${describeId(entry.id)} epoch=${String(entry.epoch)}`;
  const details = { id: describeId(entry.id), epoch: entry.epoch };
  if (!isSafeEntryName(sampleEntryName(entry.id, entry.epoch))) {
    warn(warnings.sampleNameUnsafe(`${location}: buffered ${label} has an id that would unzip outside samples/: left out`, details, location));
    return undefined;
  }
  try {
    const rebuilt = reconstructSample(await source.read(entry), { noEvents, evalSandbox, inProgressError });
    // The summary feeds the run's totals (usage sums, scores): its types must hold.
    const summary = validate(EvalSampleSummarySchema, rebuilt.summary, `${label} (summary)`);
    await write(rebuilt.sample as EvalSample, summary);
    if (rebuilt.uuidSynthesized) {
      warn(warnings.uuidSynthesized(`Sample id=${entry.id} epoch=${entry.epoch} had no uuid; made one`, { id: entry.id, epoch: entry.epoch }, location));
    }
    return summary;
  } catch (error) {
    if (!isSampleLevel(error)) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    warn(warnings.sampleUnreadable(`${location}: buffered ${label} cannot be rebuilt (${reason.slice(0, 300)}): left out`, details, location));
    return undefined;
  }
}

/**
 * The errors of a flushed attempt that a newer buffered attempt replaces (a sample run again
 * after it failed, as a resumed run does): its `error_retries`, then its `error`, for the newer
 * attempt's `error_retries`. Empty when it succeeded or cannot be read.
 */
export async function replacedAttemptErrors(log: EvalLogReader, name: string): Promise<EvalError[]> {
  const entry = log.zip.entry(name);
  if (!entry) return [];
  try {
    return attemptErrors(await log.readSample(entry));
  } catch (error) {
    if (isSampleLevel(error)) return [];
    throw error;
  }
}

/** Puts the replaced attempts' errors before the sample's own retries, and counts them in its summary. */
export function withEarlierErrors(sample: EvalSample, summary: EvalSampleSummary, earlier: readonly EvalError[]): void {
  if (earlier.length === 0) return;
  sample.error_retries = withEarlierAttempts(sample, earlier).error_retries;
  summary.retries = sample.error_retries!.length;
}

/**
 * What a damaged or crafted buffer row can cause: its data failing to parse or validate, or,
 * from values of the wrong type, a TypeError or RangeError in the code that reads them. Storage
 * failures and strict mode still end the recovery.
 */
function isSampleLevel(error: unknown): boolean {
  return error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError || isSampleDamage(error);
}

/** An id for a message: a crafted one can be a megabyte long. */
function describeId(id: unknown): string {
  const text = typeof id === 'string' ? JSON.stringify(id) : String(id);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
