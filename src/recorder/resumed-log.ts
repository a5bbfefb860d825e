/**
 * A log opened to continue its run (EvalRecorder.resume). A crashed log is first recovered in
 * place from its buffer, with recovery's own checks and lease (as `--overwrite`); a recovered or
 * errored log is taken as it is. The harness's start is compared with the log's, then each
 * sample row of the log is copied, raw and checked, into the writer that continues the run.
 */
import { listBufferDatabases } from '../buffer/database/candidates.js';
import { removeBufferDatabase } from '../buffer/database/remove.js';
import { EntryDataError, JsonFormatError, NotFoundError, RecoveryNotAvailable, ResumeMismatchError, ResumeRefusedError, ZipFormatError } from '../errors.js';
import { isSafeEntryName, sampleEntryName } from '../eval/entry-names.js';
import { attemptErrors } from '../eval/attempt-errors.js';
import { EvalLogReader } from '../eval/eval-log-reader.js';
import type { EvalLogWriter } from '../eval/eval-log-writer.js';
import type { EvalError, LogStart } from '../eval/schemas.js';
import { scanLogs } from '../recover/log-scan.js';
import { removeLeftovers } from '../recover/leftovers.js';
import { recoverEvalLog } from '../recover/recover-eval-log.js';
import { logKey } from '../sample-ref.js';
import type { Storage } from '../storage/storage.js';
import { warnings, type WarningHandler } from '../warnings.js';
import type { ZipEntry } from '../zip/zip-entry.js';
import { runDifferences } from './run-identity.js';

/** What the recorder keeps of each sample row: where its entry is, and whether its attempt failed. */
export interface SampleRow {
  /** Undefined only while its first entry is being written. */
  entry: Pick<ZipEntry, 'localHeaderOffset'> | undefined;
  /** The errors of this row's attempts (`error_retries`, then its own `error`): undefined when it succeeded. */
  errors?: EvalError[];
}

export interface OpenForResumeOptions {
  storage: Storage;
  dataDir?: string;
  warn: WarningHandler;
}

/** The log's own start (its ids kept) and a reader of the log as it is now, recovered when it had crashed. */
export async function openForResume(location: string, given: LogStart, { storage, dataDir, warn }: OpenForResumeOptions): Promise<{ start: LogStart; reader: EvalLogReader }> {
  const reader = await openLog(storage, location, warn);
  let start: LogStart;
  try {
    // Checked before anything is changed: a log of another run is left as it is.
    start = await reader.start();
    assertSameRun(location, start, given);
    if (reader.finished && (await reader.header()).status === 'success') {
      throw new ResumeRefusedError(`${location} finished successfully: there is nothing to resume (start a new log for a new run)`);
    }
    if (reader.finished) {
      await removeStaleBufferDatabases(location, dataDir);
      // No writer of it lives (a live one keeps its buffer database): a killed publish's temp files go.
      await removeLeftovers(storage, location, { publishTemps: true });
      return { start, reader };
    }
  } catch (error) {
    await reader.close();
    throw error;
  }
  await reader.close();
  try {
    // No successful-log guard: the harness resumes this very log, and a successful log of its
    // task beside it is an earlier run (started afresh after it), which this one does not shadow.
    await recoverEvalLog(location, { overwrite: true, dataDir, storage, onWarning: warn, successfulLogs: new Map() });
  } catch (error) {
    if (error instanceof RecoveryNotAvailable) throw new ResumeRefusedError(`${location} cannot be resumed: ${error.message}`, { cause: error });
    throw error;
  }
  await removeStaleBufferDatabases(location, dataDir);
  return { start, reader: await openLog(storage, location, warn) };
}

/**
 * The buffer databases left beside a finished log by resumed runs killed before they published
 * their log (they hold no sample: none runs before then). Removed, so that they never pass for
 * the newest buffer of a later crash. One whose writer lives means another process is resuming
 * the run: refused.
 */
async function removeStaleBufferDatabases(location: string, dataDir: string | undefined): Promise<void> {
  const own = (await listBufferDatabases(location, { dataDir })).filter((candidate) => !candidate.relocated);
  const live = own.find((candidate) => candidate.alive);
  if (live) throw new ResumeRefusedError(`${location} is being resumed by another process: ${live.reason}`);
  for (const candidate of own) await removeBufferDatabase(candidate.path);
}

/**
 * Copies each sample row of `reader` into `writer` (entry raw, summary as written), filling
 * `rows`. An entry that fails its check, or a row without its entry, is left out with
 * SAMPLE_DAMAGED: that sample is run again.
 */
export async function copySampleRows(reader: EvalLogReader, writer: EvalLogWriter, rows: Map<string, SampleRow>, warn: WarningHandler): Promise<void> {
  const leaveOut = (name: string, why: string) =>
    warn(warnings.sampleDamaged(`${reader.name}: sample ${JSON.stringify(name)} ${why}; left out of the resumed run, which runs it again`, { entry: name }, reader.name));
  for await (const row of reader.summaryRows()) {
    const name = sampleEntryName(row.id, row.epoch);
    const entry = reader.zip.entry(name);
    if (!entry || !isSafeEntryName(name)) {
      leaveOut(name, entry ? 'has a name that would unzip outside samples/' : 'has a summary but no entry');
      continue;
    }
    try {
      const written = await writer.addRawSample(entry, await reader.zip.checkedRaw(entry));
      const key = logKey(row.id, row.epoch);
      const earlier = rows.get(key);
      if (earlier?.entry) writer.dropSample(earlier.entry);
      await writer.addSummary(row);
      rows.set(key, { entry: written, ...(row.error ? { errors: await failedAttempts(reader, entry, row.error) } : {}) });
    } catch (error) {
      if (!(error instanceof EntryDataError || error instanceof ZipFormatError || error instanceof JsonFormatError)) throw error;
      leaveOut(name, `is damaged (${error.message})`);
    }
  }
}

/** A failed sample's attempt errors; its summary's error stands in when the sample itself carries none. */
async function failedAttempts(reader: EvalLogReader, entry: ZipEntry, message: string): Promise<EvalError[]> {
  const errors = attemptErrors(await reader.readSample(entry));
  return errors.length ? errors : [{ message, traceback: '', traceback_ansi: '' }];
}

async function openLog(storage: Storage, location: string, warn: WarningHandler): Promise<EvalLogReader> {
  const stat = await storage.stat(location);
  if (!stat) throw new NotFoundError(`${location}: no such log to resume`);
  try {
    // A crashed log cut short (a full disk) still gives its start; recovery salvages the rest.
    return await EvalLogReader.open(storage.byteSource(location, stat), { salvage: true, onWarning: warn });
  } catch (error) {
    if (error instanceof ZipFormatError) throw new ResumeRefusedError(`${location} cannot be resumed: ${error.message}`, { cause: error });
    throw error;
  }
}

/** Refuses, naming every difference, a harness whose task, task arguments, sample ids or epochs are not the log's. */
function assertSameRun(location: string, start: LogStart, given: LogStart): void {
  const differences = runDifferences(start, given);
  if (differences.length === 0) return;
  throw new ResumeMismatchError(
    `${location} is another run than the harness's (${differences.map((difference) => difference.text).join('; ')}): not resumed, since its samples would be mixed with these`,
    differences.map((difference) => difference.field),
  );
}

/** The newest log of a run: where it is, and whether it finished successfully. */
export interface NewestLog {
  location: string;
  successful: boolean;
}

/**
 * The newest log directly in `logDir` of the harness's run (same task, task arguments, epochs
 * and sample ids), successful or not, or undefined. Of a crashed log and its recovered copy,
 * both of one run and one time, the copy: the crashed one's buffer went into it.
 */
export async function newestLogOfRun(storage: Storage, logDir: string, given: LogStart): Promise<NewestLog | undefined> {
  let best: { location: string; created: string; finished: boolean; successful: boolean } | undefined;
  for (const log of (await scanLogs(storage, logDir, { readOnly: true })).logs) {
    const direct = !log.location.slice(logDir.length + 1).includes('/');
    if (!direct || log.format !== 'eval' || log.error !== undefined) continue;
    const reader = await EvalLogReader.open(storage.byteSource(log.location, log.stat), { headerOnly: true, salvage: true }).catch(() => undefined);
    if (!reader) continue;
    try {
      const start = await reader.start().catch(() => undefined);
      if (!start || runDifferences(start, given).length > 0) continue;
      const candidate = { location: log.location, created: start.eval.created, finished: log.finished === true, successful: log.header?.status === 'success' };
      if (!best || candidate.created > best.created || (candidate.created === best.created && candidate.finished && !best.finished)) best = candidate;
    } finally {
      await reader.close();
    }
  }
  return best && { location: best.location, successful: best.successful };
}

/** The start and sample rows of a log that finished successfully: what a recorder of a run already done answers from. */
export async function readFinishedRun(storage: Storage, location: string): Promise<{ start: LogStart; rows: Map<string, SampleRow> }> {
  const reader = await EvalLogReader.open(storage.byteSource(location));
  try {
    const rows = new Map<string, SampleRow>();
    for await (const row of reader.summaryRows()) {
      rows.set(logKey(row.id, row.epoch), { entry: undefined, ...(row.error ? { errors: [{ message: row.error, traceback: '', traceback_ansi: '' }] } : {}) });
    }
    return { start: await reader.start(), rows };
  } finally {
    await reader.close();
  }
}
