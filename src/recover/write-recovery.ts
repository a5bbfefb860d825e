/**
 * Recovering a located crashed run (recovery.md §4–§9): the samples planned, flushed ones copied
 * as their compressed bytes and buffered ones rebuilt one at a time, the output checked before it
 * is published, and only then the original replaced (with `overwrite`) and the buffer removed
 * (with `cleanup`).
 */
import type { ByteSource } from '../bytes/byte-source.js';
import { FileByteSource } from '../bytes/file-byte-source.js';
import { formatAge, type WriterVerdict } from '../buffer/buffer-driver.js';
import { bufferDatabaseHint } from '../buffer/database/location.js';
import { RecoveryNotAvailable, VerifyFailedError } from '../errors.js';
import { sampleEntryName } from '../eval/entry-names.js';
import { EvalLogReader, maxSummaryRowBytes } from '../eval/eval-log-reader.js';
import { EvalLogWriter } from '../eval/eval-log-writer.js';
import type { EvalSample, EvalSampleSummary, EvalStatus, LogStart } from '../eval/schemas.js';
import type { Storage } from '../storage/storage.js';
import { warnings, type RecoveryWarning, type WarningHandler } from '../warnings.js';
import type { CrashedRun } from './crashed-run.js';
import { rebuildBufferedSample, replacedAttemptErrors, withEarlierErrors } from './buffered-samples.js';
import { bufferedAfterCopy, copyFlushedSamples } from './flushed-samples.js';
import { ExpectedSamples, incompleteLimit, operatorTerminationError } from './finalization.js';
import { parentLocation } from './output-path.js';
import type { RecoverOptions, RecoveryResult } from './recover-eval-log.js';
import { recoveredHeader } from './recovered-header.js';
import type { RecoveryLease } from './recovery-lease.js';
import { recomputeResults } from './results.js';
import { RunTotals } from './run-totals.js';
import { planSamples, sortBuffered } from './sample-plan.js';
import { assertNoSuccessfulLog, successfulLogsIn } from './success-guard.js';

/** Summaries are journaled every this many samples, so few wait in memory. */
const journalEvery = 1000;

/** Where the recovered log goes. */
export interface RecoveryTarget {
  output: string;
  storage: Storage;
  /** The output is a staging copy, to be copied over the log (overwrite) and deleted; cleared once it is. */
  staged: boolean;
}

export type WrittenRecovery = Omit<RecoveryResult, 'warnings'>;

/**
 * Refuses what must not be recovered now (a live run, one idle for less than `minIdleMs`, one
 * already recovered whose buffer is gone, one a successful log would be shadowed by, an output
 * that is the user's), then plans its samples.
 */
async function checkAndPlan(run: CrashedRun, target: RecoveryTarget, options: RecoverOptions, warn: WarningHandler, now = Date.now()) {
  const { location, log, start, found } = run;
  const { source } = found;
  const { output, storage: outputStorage } = target;
  if (found.verdict === 'running' && !options.force) {
    throw new RecoveryNotAvailable(`${location} is still running: ${found.reason} (use --force to recover it anyway; its buffer is then left in place)`);
  }
  const lastActivityMs = found.lastActivityMs ?? Date.parse(start.eval.created);
  if (options.minIdleMs !== undefined && Number.isFinite(lastActivityMs) && now - lastActivityMs < options.minIdleMs) {
    throw new RecoveryNotAvailable(`${location} last recorded activity ${formatAge(now - lastActivityMs)} ago, under --min-idle (${formatAge(options.minIdleMs)}): left for a later sweep`);
  }
  const identity = { evalId: start.eval.eval_id, runId: start.eval.run_id };
  const copy = options.finishedRuns?.copyOf(location, identity) ?? options.finishedRuns?.copyOf(location, identity, parentLocation(output));
  if (copy !== undefined && copy !== output) {
    const left = found.source.kind === 'none' ? '' : ` (its buffer ${source.location} is left: --clean removes it)`;
    throw new RecoveryNotAvailable(`${location} was already recovered to ${copy}${left}`);
  }
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
  const successful = options.successfulLogs ?? (await successfulLogsIn(outputStorage, parentLocation(output)));
  assertNoSuccessfulLog(successful, parentLocation(output), start.eval, [location, output]);
  if (!options.overwrite) await assertReplaceableOutput(outputStorage, output, start);
  return planSamples(
    log,
    source,
    (entry, error) =>
      warn(
        warnings.journalDamaged(
          `${location}: journal entry ${entry.name} is damaged (${error.message.slice(0, 200)}): left out; the samples it summarized are summarized from their own entries`,
          { entry: entry.name },
        ),
      ),
    (entry, row, bytes) =>
      warn(
        warnings.journalDamaged(
          `${location}: row ${row + 1} of journal entry ${entry.name} is ${bytes} bytes, over the ${maxSummaryRowBytes} a summary row may take: left out; its sample is summarized from its own entry`,
          { entry: entry.name },
        ),
      ),
  );
}

/** What a recovery would write: the checks and the plan, nothing written. */
export async function planRecovery(run: CrashedRun, target: RecoveryTarget, options: RecoverOptions, warn: WarningHandler): Promise<WrittenRecovery> {
  const plan = await checkAndPlan(run, target, options, warn);
  const flushed = run.log.sampleCount() - plan.replaced.size;
  const completed = plan.buffered.filter((entry) => entry.completed).length;
  const inProgress = plan.buffered.length - completed;
  const expected = (run.start.eval.dataset.samples ?? 0) * (run.start.eval.config.epochs ?? 1);
  const samples = flushed + plan.buffered.length;
  return {
    log: run.location,
    output: options.overwrite ? run.location : target.output,
    source: run.found.source.kind,
    samples,
    flushed,
    completed,
    inProgress,
    duplicates: 0,
    errors: inProgress,
    missing: Math.max(0, expected - samples),
    cleanedUp: false,
    finalized: false,
    dryRun: true,
  };
}

export async function recoverCrashedRun(
  run: CrashedRun,
  target: RecoveryTarget,
  lease: RecoveryLease,
  options: RecoverOptions,
  warn: WarningHandler,
): Promise<WrittenRecovery> {
  const { location, log, start, found, storage } = run;
  const { source } = found;
  const { output, storage: outputStorage } = target;
  const plan = await checkAndPlan(run, target, options, warn);
  let writer: EvalLogWriter | undefined;
  let runTotals: RunTotals | undefined;
  try {
    writer = await EvalLogWriter.create(output, start, { storage: outputStorage, publishOnlyAtFinish: true });
    const totals = (runTotals = await RunTotals.create(start.eval.created, { collectIds: start.eval.dataset.sample_ids == null }));
    let written = 0;
    const expectedTotal = log.sampleCount() - plan.replaced.size + plan.buffered.length;
    const progress = () => options.onProgress?.(++written, expectedTotal);
    const expectation = options.incompleteAction === 'error' ? ExpectedSamples.of(start) : undefined;
    const expectedSamples = expectation && 'expected' in expectation ? expectation.expected : undefined;
    const counted = async (summary: EvalSampleSummary) => {
      totals.add(summary);
      expectedSamples?.add(summary.id, summary.epoch);
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
    // The plan's pass checked every row's shape.
    for await (const row of log.summaryRows({ skip: plan.damagedJournal, shapeCheckedBefore: true })) {
      const name = sampleEntryName(row.id, row.epoch);
      const position = directory.positionOf(name);
      const last = position !== undefined && plan.lastRowOf[position] === ordinal;
      ordinal++;
      if (last && !plan.replaced.has(name) && !copy.leftOut.has(name) && !copy.ownSummary.has(name)) await addSummary(row);
    }
    const { buffered, duplicates } = bufferedAfterCopy(plan, copy);
    sortBuffered(buffered);
    const finishing = finishingPlan(options, start, buffered.filter((entry) => !entry.completed).length);
    let rebuiltCompleted = 0;
    let rebuiltInProgress = 0;
    for (const entry of buffered) {
      const name = sampleEntryName(entry.id, entry.epoch);
      const earlierErrors = plan.replaced.has(name) ? await replacedAttemptErrors(log, name) : [];
      const write = (sample: EvalSample, summary: EvalSampleSummary) => {
        withEarlierErrors(sample, summary, earlierErrors);
        return writer!.addSample(sample, summary);
      };
      const summary = await rebuildBufferedSample(source, entry, write, {
        location,
        noEvents: options.noEvents,
        evalSandbox: start.eval.sandbox,
        ...(finishing.terminate ? { inProgressError: operatorTerminationError } : {}),
        warn,
      });
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
      const hint = found.verdict === 'crashed' ? `; ${bufferDatabaseHint(location.slice(location.lastIndexOf('/') + 1))}` : '';
      warn(warnings.bufferMissing(`${location} has no sample buffer (${found.reason}): recovering its ${total} flushed samples only; ${lost}${hint}`, { flushed: total, expected }));
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
    const notFinalized = finishing.reason ?? (expectation === undefined ? undefined : 'reason' in expectation ? expectation.reason : expectation.expected.shortfall());
    const finalized = finishing.terminate && notFinalized === undefined;
    const status = finalized ? 'success' : 'error';
    const header = recoveredHeader(start, totals, results?.results, await log.configUpdates(), { finalized });
    await lease.assertHeld();
    // Checked before it is published (its bytes as written, then its contents), so a recovery
    // that fails leaves no output behind.
    const verify = async (workingCopy: string) => {
      // Done with the crashed log: closing it frees its directory before the output's is read.
      await log.close();
      await verifyRecoveredLog(new FileByteSource(workingCopy), output, total, status);
    };
    await writer.finish({ header, ...(results ? { reductions: results.reductions } : {}), verify });
    writer = undefined;

    let finalOutput = output;
    if (options.overwrite) {
      await lease.assertHeld();
      await storage.copy(output, location);
      await verifyRecoveredLog(storage.byteSource(location), location, total, status);
      await storage.delete(output);
      target.staged = false;
      finalOutput = location;
    }
    const kept = found.source.kind === 'none' ? undefined : whyKept(options, found.verdict);
    const cleanedUp = found.source.kind !== 'none' && kept === undefined;
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
      cleanedUp,
      ...(kept ? { bufferKept: { location: source.location, reason: kept } } : {}),
      finalized,
      ...(options.incompleteAction === 'error' && notFinalized !== undefined ? { notFinalizedReason: notFinalized } : {}),
    };
  } finally {
    await writer?.close();
    await runTotals?.close();
  }
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

async function recomputedResults(start: LogStart, totals: RunTotals, warn: (warning: RecoveryWarning) => void) {
  const recomputed = await recomputeResults(start.eval, totals.scores, { total: totals.samples, completed: totals.samples - totals.errors });
  if ('unsupported' in recomputed) {
    warn(warnings.resultsNotRecomputed(`Results left out of the recovered log: it uses ${recomputed.unsupported}, which this tool does not compute`, { unsupported: recomputed.unsupported }));
    return undefined;
  }
  return recomputed;
}

/** Reads the written log back: it must open, be finished as written, and hold every sample. */
async function verifyRecoveredLog(bytes: ByteSource, location: string, samples: number, status: EvalStatus): Promise<void> {
  const reader = await EvalLogReader.open(bytes);
  try {
    const header = await reader.header();
    const present = reader.sampleCount();
    if (header.status !== status || present !== samples) {
      throw new VerifyFailedError(`${location}: the recovered log reads back with ${present} of ${samples} samples`);
    }
  } finally {
    await reader.close();
  }
}

/**
 * Whether samples still running are ended as final errors (`incompleteAction: 'error'`, within
 * `incompleteMax`), and why the log cannot be finalized when that is known before writing.
 */
function finishingPlan(options: RecoverOptions, start: LogStart, incomplete: number): { terminate: boolean; reason?: string } {
  if (options.incompleteAction !== 'error') return { terminate: false };
  if (options.incompleteMax !== undefined) {
    const expected = (start.eval.dataset.samples ?? 0) * (start.eval.config.epochs ?? 1);
    const limit = incompleteLimit(options.incompleteMax, expected);
    if (incomplete > limit) {
      const of = options.incompleteMax < 1 ? ` (${limit} of the ${expected} samples)` : '';
      return { terminate: false, reason: `${incomplete} samples were still running, more than --incomplete-max ${options.incompleteMax}${of}: they are left to be run again` };
    }
  }
  return { terminate: true };
}

/** Why the buffer recovered from is kept, or undefined when it is deleted. */
function whyKept(options: RecoverOptions, verdict: WriterVerdict): string | undefined {
  if (verdict !== 'crashed') return 'its writer may still be alive';
  if (options.cleanup === false) return 'kept as asked (--no-cleanup)';
  if (options.cleanup === true) return undefined;
  if (options.buffer !== undefined) return 'named with --buffer, it is yours (add --cleanup to delete it after recovery)';
  if (options.noEvents) return 'with --no-events it holds the only copy of the events (add --cleanup to delete it, or remove it later with inspect-recover --clean)';
  return undefined;
}
