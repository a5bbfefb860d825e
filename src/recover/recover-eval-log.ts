/**
 * Rebuilds a complete `.eval` from a crashed log and its sample buffer (recovery.md §4–§9).
 * Flushed samples are copied as their compressed bytes; buffered ones are rebuilt one at a
 * time. The output is published only when whole and read back before anything else changes:
 * the original is replaced (with `overwrite`) and the buffer removed (with `cleanup`) only then.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { removeOnExit } from '../bytes/exit-cleanup.js';
import { EvalLogFormatError, NotFoundError, RecoveryNotAvailable, UsageError, VerifyFailedError, ZipFormatError } from '../errors.js';
import type { ByteSource } from '../bytes/byte-source.js';
import { FileByteSource } from '../bytes/file-byte-source.js';
import { EvalLogReader } from '../eval/eval-log-reader.js';
import { EvalLogWriter } from '../eval/eval-log-writer.js';
import { sampleEntryName } from '../eval/entry-names.js';
import type { EvalSample, EvalSampleSummary, LogStart } from '../eval/schemas.js';
import type { BufferSourceKind, SampleBufferSource } from '../buffer/sample-buffer-source.js';
import { localPath } from '../storage/local-storage.js';
import { isS3Location } from '../storage/s3-location.js';
import type { Storage } from '../storage/storage.js';
import { storageFor } from '../storage/storage-for.js';
import { warnings, warningSink, type RecoveryWarning, type WarningHandler, type WarningOptions } from '../warnings.js';
import { findSampleBuffer } from './find-buffer.js';
import { RecoveryLease } from './recovery-lease.js';
import { defaultOutputPath, parentLocation } from './output-path.js';
import { rebuildBufferedSample } from './buffered-samples.js';
import { bufferedAfterCopy, copyFlushedSamples } from './flushed-samples.js';
import { recoveredHeader } from './recovered-header.js';
import { recomputeResults } from './results.js';
import { RunTotals } from './run-totals.js';
import { planSamples, sortBuffered } from './sample-plan.js';
import { assertNoSuccessfulLog } from './success-guard.js';

/** Summaries are journaled every this many samples, so few wait in memory. */
const journalEvery = 1000;

export interface RecoverOptions extends WarningOptions {
  /** Where to write (a name ending in `.eval`); default `<log>-recovered.eval` beside the log. Not with `overwrite`. An existing file there is replaced only when it is a recovered log of the same run. */
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
  /** The most a zip entry of the log may declare to be decoded (default 512 MiB): larger ones are refused as bombs, a flushed sample left out with SAMPLE_DAMAGED. */
  maxEntrySize?: number;
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
  /** Samples with an error (failed, or cancelled by the crash). */
  errors: number;
  /** Samples the run was to produce (dataset samples × epochs) that the recovered log lacks: never started, or lost. */
  missing: number;
  warnings: RecoveryWarning[];
  cleanedUp: boolean;
}

export async function recoverEvalLog(location: string, options: RecoverOptions = {}): Promise<RecoveryResult> {
  const raised: RecoveryWarning[] = [];
  const warn = warningSink(
    {
      strict: options.strict,
      onWarning: (warning) => {
        raised.push(warning);
        options.onWarning?.(warning);
      },
    },
    { log: location },
  );
  if (location.endsWith('.json')) throw jsonLogRefusal(location);
  if (options.overwrite && options.output !== undefined) {
    throw new UsageError('--overwrite replaces the log itself, so it takes no --output; use one or the other');
  }
  if (options.output !== undefined && !options.output.endsWith('.eval')) {
    throw new UsageError(`${options.output}: the output is an .eval log, so its name must end in .eval`);
  }
  const storage = options.storage ?? storageFor(location);
  // With overwrite, the recovered log is staged under a hidden name beside the log, never over a file of the user's.
  const output = options.overwrite ? stagingLocation(location) : (options.output ?? defaultOutputPath(location));
  if (sameLocation(output, location)) throw new UsageError(`${location}: the output is the log itself; use --overwrite to replace it in place`);
  const outputStorage = options.storage ?? storageFor(output);

  // A missing log is said before the lease, whose file would otherwise make its directory.
  if (!(await storage.stat(location))) {
    throw new NotFoundError(`${location}: ${storage.kind === 's3' ? 'no such object' : 'no such file or directory'}`);
  }
  // Taken before anything is read: a second recovery of this log must not plan from what the first one deletes.
  const lease = await RecoveryLease.acquire(storage, location);
  let crashed: EvalLogReader | undefined;
  let source: SampleBufferSource | undefined;
  let writer: EvalLogWriter | undefined;
  let runTotals: RunTotals | undefined;
  let stagingLeft = options.overwrite === true;
  const forgetStaging = options.overwrite && outputStorage.kind === 'local' ? removeOnExit(localPath(output)) : undefined;
  try {
    crashed = await openCrashedLog(storage, location, { maxEntrySize: options.maxEntrySize, onWarning: warn });
    const log = crashed;
    const start = await log.start();
    const found = await findSampleBuffer(location, log, { storage, dataDir: options.dataDir, buffer: options.buffer, staleAfterMs: options.staleAfterMs, warn });
    source = found.source;
    if (found.verdict === 'running' && !options.force) {
      throw new RecoveryNotAvailable(`${location} is still running: ${found.reason} (use --force to recover it anyway; its buffer is then left in place)`);
    }
    if (found.relocatedFrom !== undefined) {
      warn(
        warnings.bufferRelocated(
          `The buffer database of ${location} was found under another log directory's hash (the log directory moved since the crash): ${found.relocatedFrom}`,
          { found: found.relocatedFrom },
        ),
      );
    }
    const keepBuffer = found.verdict !== 'crashed';
    if (found.source.kind === 'none') {
      if (found.verdict === 'uncertain' && options.overwrite && !options.force) {
        throw new RecoveryNotAvailable(`${location} may still be running: ${found.reason}; not replaced (recover it without --overwrite, or use --force)`);
      }
      if (await outputStorage.stat(output)) {
        throw new RecoveryNotAvailable(`${location} was already recovered to ${output}, and its buffer is gone: recovering again would only lose samples`);
      }
    } else if (found.verdict === 'uncertain') {
      warn(warnings.bufferKept(`Recovering ${location} but keeping its buffer: ${found.reason}`, { buffer: source.location }));
    }
    await assertNoSuccessfulLog(outputStorage, parentLocation(output), start.eval, [location, output]);
    if (!options.overwrite) await assertReplaceableOutput(outputStorage, output, start);

    const plan = await planSamples(log, source, (entry, error) =>
      warn(
        warnings.journalDamaged(
          `${location}: journal entry ${entry.name} is damaged (${error.message.slice(0, 200)}): left out; the samples it summarized are summarized from their own entries`,
          { entry: entry.name },
        ),
      ),
    );
    writer = await EvalLogWriter.create(output, start, { storage: outputStorage, publishOnlyAtFinish: true });
    const totals = (runTotals = await RunTotals.create(start.eval.created, { collectIds: start.eval.dataset.sample_ids == null }));
    let written = 0;
    const expectedTotal = log.sampleCount() - plan.replaced.size + plan.buffered.length;
    const progress = () => options.onProgress?.(++written, expectedTotal);
    const counted = async (summary: EvalSampleSummary) => {
      totals.add(summary);
      // Journal as we go, so the summaries waiting for the journal stay few.
      if (totals.samples % journalEvery === 0) await writer!.flush();
    };
    const addSummary = async (summary: EvalSampleSummary) => {
      await writer!.addSummary(summary);
      await counted(summary);
    };

    const copy = await copyFlushedSamples({ log, writer, plan, warn, addSummary, onCopied: progress });
    // The flushed samples' summaries, streamed from the crashed log's journal a batch at a time:
    // the last row of each copied sample (those without one were summarized as they were copied).
    // The journal entries the plan found damaged are skipped; the others passed their check there.
    const directory = log.zip.directory;
    let ordinal = 0;
    for await (const row of log.summaryRows({ skip: plan.damagedJournal })) {
      const name = sampleEntryName(row.id, row.epoch);
      const position = directory.positionOf(name);
      const last = position !== undefined && plan.lastRowOf[position] === ordinal;
      ordinal++;
      if (last && !plan.replaced.has(name) && !copy.leftOut.has(name) && !copy.ownSummary.has(name)) await addSummary(row);
    }
    const { buffered, duplicates } = bufferedAfterCopy(plan, copy);
    sortBuffered(buffered);
    let rebuiltCompleted = 0;
    let rebuiltInProgress = 0;
    for (const entry of buffered) {
      const write = (sample: EvalSample, summary: EvalSampleSummary) => writer!.addSample(sample, summary);
      const summary = await rebuildBufferedSample(source, entry, write, { location, noEvents: options.noEvents, evalSandbox: start.eval.sandbox, warn });
      if (!summary) continue;
      await counted(summary);
      if (entry.completed) rebuiltCompleted++;
      else rebuiltInProgress++;
      progress();
    }
    const total = copy.copied + rebuiltCompleted + rebuiltInProgress;
    const expected = (start.eval.dataset.samples ?? 0) * (start.eval.config.epochs ?? 1);
    if (found.source.kind === 'none') {
      const lost = expected > 0 ? `${Math.max(0, expected - total)} of the ${expected} samples were never recovered` : 'samples that were not flushed were never recovered';
      warn(warnings.bufferMissing(`${location} has no sample buffer (${found.reason}): recovering its ${total} flushed samples only; ${lost}`, { flushed: total, expected }));
    }
    if (start.eval.dataset.sample_ids == null) {
      warn(
        warnings.sampleIdsFilled(
          `${location}: its start lists no eval.dataset.sample_ids (Inspect's read_eval_log_samples needs them); the recovered log lists the ids of the samples it holds`,
          {},
        ),
      );
    }

    const results = await recomputedResults(start, totals, warn);
    const header = recoveredHeader(start, totals, results?.results, await log.configUpdates());
    await lease.assertHeld();
    // Checked before it is published (its bytes as written, then its contents), so a recovery
    // that fails leaves no output behind.
    const verify = async (workingCopy: string) => {
      // Done with the crashed log: closing it frees its directory before the output's is read.
      await log.close();
      await verifyRecoveredLog(new FileByteSource(workingCopy), output, total);
    };
    await writer.finish({ header, ...(results ? { reductions: results.reductions } : {}), verify });
    writer = undefined;

    let finalOutput = output;
    if (options.overwrite) {
      await lease.assertHeld();
      await storage.copy(output, location);
      await verifyRecoveredLog(storage.byteSource(location), location, total);
      await storage.delete(output);
      stagingLeft = false;
      finalOutput = location;
    }
    const cleanedUp = options.cleanup !== false && !keepBuffer && found.source.kind !== 'none';
    if (cleanedUp) {
      await lease.assertHeld();
      await source.remove();
    }
    return {
      log: location,
      output: finalOutput,
      source: source.kind,
      samples: total,
      flushed: copy.copied,
      completed: rebuiltCompleted,
      inProgress: rebuiltInProgress,
      duplicates,
      errors: totals.errors,
      missing: Math.max(0, expected - total),
      warnings: raised,
      cleanedUp,
    };
  } finally {
    await writer?.close();
    await runTotals?.close();
    await source?.close();
    await crashed?.close();
    if (stagingLeft) await outputStorage.delete(output).catch(() => undefined);
    forgetStaging?.();
    await lease.release();
  }
}

/** `logs/.run.eval.recovering-1f3a…`: hidden from listings (Inspect's and ours), removed on every exit path. */
function stagingLocation(location: string): string {
  const slash = location.lastIndexOf('/');
  return `${location.slice(0, slash + 1)}.${location.slice(slash + 1)}.recovering-${randomBytes(4).toString('hex')}`;
}

/**
 * An existing file at the output is replaced only when it is a recovered log of this same run
 * (an earlier recovery, now redone): anything else is the user's, and is not ours to destroy.
 */
async function assertReplaceableOutput(storage: Storage, output: string, start: LogStart): Promise<void> {
  if (!(await storage.stat(output))) return;
  const existing = await EvalLogReader.open(storage.byteSource(output), { headerOnly: true }).catch(() => undefined);
  const header = await existing?.header().catch(() => undefined);
  await existing?.close();
  const sameRun = header !== undefined && header.eval.eval_id === start.eval.eval_id && header.eval.run_id === start.eval.run_id && header.status !== 'started';
  if (!sameRun) {
    throw new RecoveryNotAvailable(`${output} exists and is not a recovered log of this run: not replaced (name another --output, or move it away)`);
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
async function openCrashedLog(storage: Storage, location: string, options: { maxEntrySize?: number; onWarning: WarningHandler }): Promise<EvalLogReader> {
  let reader: EvalLogReader;
  try {
    reader = await EvalLogReader.open(storage.byteSource(location), { salvage: true, ...options });
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

async function recomputedResults(start: LogStart, totals: RunTotals, warn: (warning: RecoveryWarning) => void) {
  const recomputed = await recomputeResults(start.eval, totals.scores, { total: totals.samples, completed: totals.samples - totals.errors });
  if ('unsupported' in recomputed) {
    warn(warnings.resultsNotRecomputed(`Results left out of the recovered log: it uses ${recomputed.unsupported}, which this tool does not compute`, { unsupported: recomputed.unsupported }));
    return undefined;
  }
  return recomputed;
}

/** Reads the written log back: it must open, be finished, and hold every sample. */
async function verifyRecoveredLog(bytes: ByteSource, location: string, samples: number): Promise<void> {
  const reader = await EvalLogReader.open(bytes);
  try {
    const header = await reader.header();
    const present = reader.sampleCount();
    if (header.status !== 'error' || present !== samples) {
      throw new VerifyFailedError(`${location}: the recovered log reads back with ${present} of ${samples} samples`);
    }
  } finally {
    await reader.close();
  }
}
