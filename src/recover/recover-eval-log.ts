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
import { findSampleBuffer } from './find-buffer.js';
import { RecoveryLease } from './recovery-lease.js';
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
  /** The buffer to recover from, instead of searching: a database file or a `.buffer/<name>` directory (local or S3). */
  buffer?: string;
  /**
   * How long after its last recorded activity a buffer without a heartbeat may belong to a live
   * run (in a long model call): such a run is recovered but its buffer kept. Default 1 hour.
   */
  staleAfterMs?: number;
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
  if (location.endsWith('.json')) throw jsonLogRefusal(location);
  const storage = options.storage ?? storageFor(location);
  const output = options.overwrite ? defaultOutputPath(location) : (options.output ?? defaultOutputPath(location));
  if (sameLocation(output, location)) throw new UsageError(`${location}: the output is the log itself; use --overwrite to replace it in place`);
  const outputStorage = options.storage ?? storageFor(output);

  // Taken before anything is read: a second recovery of this log must not plan from what the first one deletes.
  const lease = await RecoveryLease.acquire(storage, location);
  let crashed: EvalLogReader | undefined;
  let source: SampleBufferSource | undefined;
  let writer: EvalLogWriter | undefined;
  let runTotals: RunTotals | undefined;
  try {
    crashed = await openCrashedLog(storage, location);
    const log = crashed;
    const start = await log.start();
    const found = await findSampleBuffer(location, log, { storage, dataDir: options.dataDir, buffer: options.buffer, staleAfterMs: options.staleAfterMs, warn });
    source = found.source;
    if (found.verdict === 'running' && !options.force) {
      throw new RecoveryNotAvailable(`${location} is still running: ${found.reason} (use --force to recover it anyway; its buffer is then left in place)`);
    }
    if (found.relocatedFrom !== undefined) {
      warn({
        code: 'BUFFER_RELOCATED',
        message: `The buffer database of ${location} was found under another log directory's hash (the log directory moved since the crash): ${found.relocatedFrom}`,
        details: { log: location, found: found.relocatedFrom },
      });
    }
    const keepBuffer = found.verdict !== 'crashed';
    if (found.buffer === undefined) {
      if (found.verdict === 'uncertain' && options.overwrite && !options.force) {
        throw new RecoveryNotAvailable(`${location} may still be running: ${found.reason}; not replaced (recover it without --overwrite, or use --force)`);
      }
      if (await outputStorage.stat(output)) {
        throw new RecoveryNotAvailable(`${location} was already recovered to ${output}, and its buffer is gone: recovering again would only lose samples`);
      }
    } else if (found.verdict === 'uncertain') {
      warn({ code: 'BUFFER_KEPT', message: `Recovering ${location} but keeping its buffer: ${found.reason}`, details: { log: location, buffer: source.location } });
    }
    await assertNoSuccessfulLog(outputStorage, parentLocation(output), start.eval, [location, output]);

    const plan = await planSamples(log, source);
    const total = plan.flushed + plan.buffered.length;
    if (found.buffer === undefined) {
      const expected = (start.eval.dataset.samples ?? 0) * (start.eval.config.epochs ?? 1);
      const lost = expected > 0 ? `${Math.max(0, expected - total)} of the ${expected} samples were never recovered` : 'samples that were not flushed were never recovered';
      warn({
        code: 'BUFFER_MISSING',
        message: `${location} has no sample buffer (${found.reason}): recovering its ${total} flushed samples only; ${lost}`,
        details: { log: location, flushed: total, expected },
      });
    }
    if (start.eval.dataset.sample_ids == null) {
      warn({
        code: 'SAMPLE_IDS_FILLED',
        message: `${location}: its start lists no eval.dataset.sample_ids (Inspect's read_eval_log_samples needs them); the recovered log lists the ids of the samples it holds`,
        details: { log: location },
      });
    }
    writer = await EvalLogWriter.create(output, start, { storage: outputStorage, publishOnlyAtFinish: true });
    const totals = (runTotals = await RunTotals.create(start.eval.created, { collectIds: start.eval.dataset.sample_ids == null }));
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

    for (const entry of log.sampleEntries()) {
      if (plan.replaced.has(entry.name)) continue;
      await writer.addRawSample(log.zip, entry);
      progress();
    }
    // The flushed samples' summaries, streamed from the crashed log's journal a batch at a time:
    // the last row of each copied sample, or for the rare sample without one, its own summary.
    const directory = log.zip.directory;
    let ordinal = 0;
    for await (const row of log.summaryRows()) {
      const name = sampleEntryName(row.id, row.epoch);
      const position = directory.positionOf(name);
      const last = position !== undefined && plan.lastRowOf[position] === ordinal++;
      if (last && !plan.replaced.has(name)) await addSummary(row);
    }
    for (const entry of log.sampleEntries()) {
      if (plan.replaced.has(entry.name) || plan.lastRowOf[directory.positionOf(entry.name)!] !== -1) continue;
      await addSummary(summarizeSample(await log.readSample(entry)));
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
    const header = recoveredHeader(start, totals, results?.results, await log.configUpdates());
    await lease.assertHeld();
    await writer.finish({ header, ...(results ? { reductions: results.reductions } : {}) });
    writer = undefined;
    // Done with the crashed log: closing it frees its directory before the output's is read.
    await log.close();
    await verifyRecoveredLog(outputStorage, output, total);

    let finalOutput = output;
    if (options.overwrite) {
      await lease.assertHeld();
      await storage.copy(output, location);
      await verifyRecoveredLog(storage, location, total);
      await storage.delete(output);
      finalOutput = location;
    }
    const cleanedUp = options.cleanup !== false && !keepBuffer && found.buffer !== undefined;
    if (cleanedUp) {
      await lease.assertHeld();
      await source.remove();
    }
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
    await crashed?.close();
    await lease.release();
  }
}

/** What can and cannot be done with a `.json` log. */
function jsonLogRefusal(location: string): RecoveryNotAvailable {
  return new RecoveryNotAvailable(
    `${location} is a .json log: recovery rebuilds .eval logs, whose flushed samples and journal it copies, and a .json log has neither ` +
      `(nor a filestore: Inspect allows --log-shared only with .eval). ` +
      `'inspect-recover show' and '--list' read it; to make runs recoverable, use Inspect's default --log-format eval`,
  );
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
