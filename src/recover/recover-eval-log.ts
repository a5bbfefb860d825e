/**
 * Rebuilds a complete `.eval` from a crashed log and its sample buffer (recovery.md §4–§9).
 * Flushed samples are copied as their compressed bytes; buffered ones are rebuilt one at a
 * time. The output is published only when whole and read back before anything else changes:
 * the original is replaced (with `overwrite`) and the buffer removed (with `cleanup`) only then.
 */
import { resolve } from 'node:path';
import { EvalLogFormatError, InspectRecoverError, RecoveryNotAvailable, UsageError, ZipFormatError } from '../errors.js';
import { EvalLogReader } from '../eval/eval-log-reader.js';
import { EvalLogWriter } from '../eval/eval-log-writer.js';
import { sampleEntryName } from '../eval/entry-names.js';
import { summarizeSample } from '../eval/sample-summary.js';
import type { EvalSampleSummary, LogStart } from '../eval/schemas.js';
import type { BufferSourceKind, BufferedSampleEntry, SampleBufferSource } from '../buffer/sample-buffer-source.js';
import { localPath } from '../storage/local-storage.js';
import { isS3Location } from '../storage/s3-location.js';
import type { Storage } from '../storage/storage.js';
import { storageFor } from '../storage/storage-for.js';
import { warningSink, type RecoveryWarning, type WarningOptions } from '../warnings.js';
import { locateSampleBuffer, openSampleBuffer } from './find-buffer.js';
import { defaultOutputPath, parentLocation } from './output-path.js';
import { reconstructSample } from './reconstruct-sample.js';
import { recoveredHeader } from './recovered-header.js';
import { recomputeResults } from './results.js';
import { RunTotals } from './run-totals.js';
import { assertNoSuccessfulLog } from './success-guard.js';

/** Summaries are journaled every this many samples, so few wait in memory. */
const journalEvery = 1000;

export interface RecoverOptions extends WarningOptions {
  /** Where to write; default `<log>-recovered.eval` beside the log. Ignored with `overwrite`. */
  output?: string;
  /** Replace the crashed log itself (after the recovered copy is written and read back). */
  overwrite?: boolean;
  /** Rebuilt samples get `events: []`; messages and output are still extracted. */
  noEvents?: boolean;
  /** Delete the buffer that was used once the output is safe. Default true. */
  cleanup?: boolean;
  /**
   * Recover even from a buffer that looks live (a reused pid after a reboot, a clock running
   * ahead). Such a buffer is never deleted: `cleanup` is ignored.
   */
  force?: boolean;
  /** Inspect's data dir (where buffer databases live); default from XDG_DATA_HOME. */
  dataDir?: string;
  /** Storage for the log and output; default by location (local path or s3:// URI). */
  storage?: Storage;
  /** Called after each sample is written. */
  onProgress?: (written: number, total: number) => void;
}

export interface RecoveryResult {
  log: string;
  output: string;
  source: BufferSourceKind;
  /** Samples in the recovered log. */
  samples: number;
  /** Of those, copied from the crashed log. */
  flushed: number;
  /** Of those, rebuilt from the buffer: finished samples and samples cut off while running. */
  completed: number;
  inProgress: number;
  /** Buffer copies left out because the log already held that sample (or a newer attempt of it). */
  duplicates: number;
  /** Samples with an error (failed, or cancelled by the crash): candidates for `eval-retry`. */
  errors: number;
  warnings: RecoveryWarning[];
  cleanedUp: boolean;
}

export async function recoverEvalLog(location: string, options: RecoverOptions = {}): Promise<RecoveryResult> {
  const warnings: RecoveryWarning[] = [];
  const warn = warningSink({
    strict: options.strict,
    onWarning: (warning) => {
      warnings.push(warning);
      options.onWarning?.(warning);
    },
  });
  const storage = options.storage ?? storageFor(location);
  const output = options.overwrite ? defaultOutputPath(location) : (options.output ?? defaultOutputPath(location));
  if (sameLocation(output, location)) throw new UsageError(`${location}: the output is the log itself; use --overwrite to replace it in place`);
  const outputStorage = options.storage ?? storageFor(output);

  const crashed = await openCrashedLog(storage, location);
  let source: SampleBufferSource | undefined;
  let writer: EvalLogWriter | undefined;
  let runTotals: RunTotals | undefined;
  try {
    const start = await crashed.start();
    const located = await locateSampleBuffer(location, crashed, { storage, dataDir: options.dataDir });
    if (located.state === 'none') throw new RecoveryNotAvailable(`No sample buffer found for ${location} (${located.searched})`);
    if (located.state === 'running' && !options.force) {
      throw new RecoveryNotAvailable(`${location} is still running: ${located.reason} (use --force to recover it anyway; its buffer is then left in place)`);
    }
    const live = located.state === 'running';
    const buffer = live ? located.buffer : located;
    await assertNoSuccessfulLog(outputStorage, parentLocation(output), start.eval, [location, output]);
    source = await openSampleBuffer(buffer, { storage, warn });

    const plan = await planSamples(crashed, source);
    const total = plan.flushed + plan.buffered.length;
    writer = await EvalLogWriter.create(output, start, { storage: outputStorage, publishOnlyAtFinish: true });
    const totals = (runTotals = await RunTotals.create(start.eval.created));
    let written = 0;
    const progress = () => options.onProgress?.(++written, total);
    const counted = async (summary: EvalSampleSummary) => {
      totals.add(summary);
      // Journal as we go, so the summaries waiting for the journal stay few.
      if (totals.samples % journalEvery === 0) await writer!.flush();
    };
    const addSummary = async (summary: EvalSampleSummary) => {
      await writer!.addSummary(summary);
      await counted(summary);
    };

    for (const entry of crashed.sampleEntries()) {
      if (plan.replaced.has(entry.name)) continue;
      await writer.addRawSample(crashed.zip, entry);
      progress();
    }
    // The flushed samples' summaries, streamed from the crashed log's journal a batch at a time:
    // the last row of each copied sample, or for the rare sample without one, its own summary.
    const directory = crashed.zip.directory;
    let ordinal = 0;
    for await (const row of crashed.summaryRows()) {
      const name = sampleEntryName(row.id, row.epoch);
      const position = directory.positionOf(name);
      const last = position !== undefined && plan.lastRowOf[position] === ordinal++;
      if (last && !plan.replaced.has(name)) await addSummary(row);
    }
    for (const entry of crashed.sampleEntries()) {
      if (plan.replaced.has(entry.name) || plan.lastRowOf[directory.positionOf(entry.name)!] !== -1) continue;
      await addSummary(summarizeSample(await crashed.readSample(entry)));
    }
    for (const entry of plan.buffered) {
      const rebuilt = reconstructSample(await source.read(entry), { noEvents: options.noEvents, evalSandbox: start.eval.sandbox });
      if (rebuilt.uuidSynthesized) {
        warn({ code: 'UUID_SYNTHESIZED', message: `Sample id=${entry.id} epoch=${entry.epoch} had no uuid; made one`, details: { id: entry.id, epoch: entry.epoch } });
      }
      await writer.addSample(rebuilt.sample as never, rebuilt.summary);
      await counted(rebuilt.summary);
      progress();
    }

    const results = await recomputedResults(start, totals, warn);
    const header = recoveredHeader(start, totals, results?.results, await crashed.configUpdates());
    await writer.finish({ header, ...(results ? { reductions: results.reductions } : {}) });
    writer = undefined;
    // Done with the crashed log: closing it frees its directory before the output's is read.
    await crashed.close();
    await verifyRecoveredLog(outputStorage, output, total);

    let finalOutput = output;
    if (options.overwrite) {
      await storage.copy(output, location);
      await verifyRecoveredLog(storage, location, total);
      await storage.delete(output);
      finalOutput = location;
    }
    const cleanedUp = options.cleanup !== false && !live;
    if (cleanedUp) await source.remove();
    return {
      log: location,
      output: finalOutput,
      source: source.kind,
      samples: total,
      flushed: plan.flushed,
      completed: plan.buffered.filter((entry) => entry.completed).length,
      inProgress: plan.buffered.filter((entry) => !entry.completed).length,
      duplicates: plan.duplicates,
      errors: totals.errors,
      warnings,
      cleanedUp,
    };
  } finally {
    await writer?.close();
    await runTotals?.close();
    await source?.close();
    await crashed.close();
  }
}

/** Whether two spellings name the same file (`logs/x.eval`, `./logs/x.eval`, an absolute path, a file:// URI). */
function sameLocation(a: string, b: string): boolean {
  if (isS3Location(a) || isS3Location(b)) return a === b;
  return resolve(localPath(a)) === resolve(localPath(b));
}

/** Opens the crashed log, refusing anything that is not one (recovery.md §7 rule 1). */
async function openCrashedLog(storage: Storage, location: string): Promise<EvalLogReader> {
  let reader: EvalLogReader;
  try {
    reader = await EvalLogReader.open(storage.byteSource(location));
  } catch (error) {
    if (error instanceof ZipFormatError || error instanceof EvalLogFormatError) {
      throw new RecoveryNotAvailable(`Log is not recoverable: ${error.message}`);
    }
    throw error;
  }
  if (reader.finished) {
    const status = (await reader.header().catch(() => undefined))?.status ?? 'finished';
    await reader.close();
    throw new RecoveryNotAvailable(`Log is not recoverable: ${location} is not a crashed log (status ${status}; it has header.json)`);
  }
  return reader;
}

interface SamplePlan {
  /** Flushed samples to copy from the crashed log. */
  flushed: number;
  /** Flushed samples left out: the buffer holds a newer finished attempt of them. */
  replaced: Set<string>;
  /**
   * By position in the crashed log's central directory, the ordinal (in `summaryRows()` order)
   * of the entry's last summary row, or -1: 4 bytes a sample rather than a map of names.
   */
  lastRowOf: Int32Array;
  buffered: BufferedSampleEntry[];
  duplicates: number;
}

/**
 * One row per (id, epoch): a flushed sample wins over its buffered copy, unless the buffer
 * holds a newer finished attempt. Buffered samples go finished first, then in progress. What is
 * kept per flushed sample is one integer; names are kept only for buffered samples, which a
 * crash bounds (the log buffer plus those running), not the log's size.
 */
async function planSamples(crashed: EvalLogReader, source: SampleBufferSource): Promise<SamplePlan> {
  const inBuffer = new Map<string, BufferedSampleEntry>();
  for (const entry of await source.samples()) inBuffer.set(sampleEntryName(entry.id, entry.epoch), entry);
  const directory = crashed.zip.directory;
  const lastRowOf = new Int32Array(directory.count).fill(-1);
  const flushedCompletedAt = new Map<string, unknown>();
  let ordinal = 0;
  for await (const row of crashed.summaryRows()) {
    const name = sampleEntryName(row.id, row.epoch);
    const position = directory.positionOf(name);
    if (position !== undefined) lastRowOf[position] = ordinal;
    if (inBuffer.has(name)) flushedCompletedAt.set(name, row.completed_at);
    ordinal++;
  }
  const replaced = new Set<string>();
  const buffered: BufferedSampleEntry[] = [];
  let duplicates = 0;
  for (const [name, entry] of inBuffer) {
    if (crashed.zip.has(name)) {
      duplicates++;
      const newer = entry.completed && isLater(entry.completedAt, flushedCompletedAt.get(name));
      if (!newer) continue;
      replaced.add(name);
    }
    buffered.push(entry);
  }
  buffered.sort((a, b) => Number(b.completed) - Number(a.completed));
  return { flushed: crashed.sampleCount() - replaced.size, replaced, lastRowOf, buffered, duplicates };
}

function isLater(candidate: unknown, current: unknown): boolean {
  if (typeof candidate !== 'string') return false;
  if (typeof current !== 'string') return true;
  return Date.parse(candidate) > Date.parse(current);
}

async function recomputedResults(start: LogStart, totals: RunTotals, warn: (warning: RecoveryWarning) => void) {
  const recomputed = await recomputeResults(start.eval, totals.scores, { total: totals.samples, completed: totals.samples - totals.errors });
  if ('unsupported' in recomputed) {
    warn({
      code: 'RESULTS_NOT_RECOMPUTED',
      message: `Results left out of the recovered log: it uses ${recomputed.unsupported}, which this tool does not compute`,
    });
    return undefined;
  }
  return recomputed;
}

/** Reads the written log back: it must open, be finished, and hold every sample. */
async function verifyRecoveredLog(storage: Storage, location: string, samples: number): Promise<void> {
  const reader = await EvalLogReader.open(storage.byteSource(location));
  try {
    const header = await reader.header();
    const present = reader.sampleCount();
    if (header.status !== 'error' || present !== samples) {
      throw new InspectRecoverError('VERIFY_FAILED', `${location}: the recovered log reads back with ${present} of ${samples} samples`);
    }
  } finally {
    await reader.close();
  }
}
