/**
 * Every crashed log under a directory or S3 prefix, recovered `jobs` at a time, each exactly as
 * `recoverEvalLog` recovers one (its lease included, so several sweepers on one prefix never
 * recover a log twice). The logs are scanned once (log-scan.ts), and the successful-log guard
 * of each directory computed once from that scan.
 */
import { randomInt } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { BufferSourceKind } from '../buffer/sample-buffer-source.js';
import { removeDeadProcessesTempDirs } from '../bytes/exit-cleanup.js';
import { InspectRecoverError, LogLeasedError, RecoveryNotAvailable } from '../errors.js';
import { readJsonEvalLog } from '../eval/json-log.js';
import { localPath } from '../storage/local-storage.js';
import type { Storage } from '../storage/storage.js';
import { storageFor } from '../storage/storage-for.js';
import type { RecoveryWarning, WarningOptions } from '../warnings.js';
import { defaultJobs, mapConcurrently } from './concurrency.js';
import { FinishedRuns } from './finished-runs.js';
import { scanLogs, successfulLogsByDirectory, type LogScan, type ScannedLog } from './log-scan.js';
import { defaultOutputPath, parentLocation } from './output-path.js';
import { recoverEvalLog, type RecoverOptions, type RecoveryResult } from './recover-eval-log.js';
import { successfulLogsIn, type SuccessfulLogs } from './success-guard.js';
import { supersededLogs, supersededReason } from './superseded.js';


export interface FleetOptions
  extends WarningOptions,
    Pick<
      RecoverOptions,
      'overwrite' | 'noEvents' | 'cleanup' | 'force' | 'dataDir' | 'staleAfterMs' | 'maxEntrySize' | 'minIdleMs' | 'dryRun' | 'incompleteAction' | 'incompleteMax'
    > {
  /** Where recovered logs go, at their path below the log dir (`<name>-recovered.eval`); default beside each log. Not with `overwrite`. */
  outputDir?: string;
  /** How many logs are recovered at once; default 4. */
  jobs?: number;
  /** Recover older attempts of a task too (eval_set's retries): by default only the newest attempt is, the others skipped as superseded. */
  includeSuperseded?: boolean;
  /** Storage for the log dir; default by location. */
  storage?: Storage;
  /** Called as each log is done, in the order they finish. */
  onLog?: (outcome: FleetOutcome) => void;
}

export type FleetStatus = 'recovered' | 'skipped' | 'failed';

export interface FleetOutcome {
  log: string;
  status: FleetStatus;
  /** Why it was skipped or failed. */
  reason?: string;
  /** The error's code, when it failed or was refused. */
  code?: string;
  output?: string;
  source?: BufferSourceKind;
  samples?: number;
  flushed?: number;
  completed?: number;
  inProgress?: number;
  duplicates?: number;
  errors?: number;
  missing?: number;
  cleanedUp?: boolean;
  finalized?: boolean;
  notFinalizedReason?: string;
  dryRun?: boolean;
  warnings: RecoveryWarning[];
}

export interface FleetSummary {
  /** Logs found under the directory. */
  logs: number;
  /** Of those, not finished: the ones looked at. */
  crashed: number;
  recovered: number;
  skipped: number;
  failed: number;
  /** Samples in the recovered logs. */
  samples: number;
  elapsedMs: number;
  dryRun: boolean;
}

export async function recoverFleet(logDir: string, options: FleetOptions = {}): Promise<{ outcomes: FleetOutcome[]; summary: FleetSummary }> {
  const started = performance.now();
  removeDeadProcessesTempDirs();
  const root = logDir.replace(/[/\\]+$/, '');
  const storage = options.storage ?? storageFor(root);
  const { logs: scanned, copies, runs } = await scanLogs(storage, root, { readOnly: options.dryRun });
  // Copies written to --output-dir count as well: a log recovered there before is not recovered again.
  if (options.outputDir !== undefined) runs.merge((await scanOutputDir(options.outputDir)).runs);
  const besideLogs = successfulLogsByDirectory(scanned);
  const elsewhere = new Map<string, Promise<SuccessfulLogs>>();
  const successfulFor = (output: string): Promise<SuccessfulLogs> => {
    const directory = parentLocation(output);
    if (options.outputDir === undefined) return Promise.resolve(besideLogs.get(directory) ?? new Map());
    let found = elsewhere.get(directory);
    if (!found) elsewhere.set(directory, (found = successfulLogsIn(storageFor(output), directory)));
    return found;
  };
  const scannedTags = new Map([...scanned, ...copies].map((log) => [log.location, log.stat.etag]));
  const crashed = ownOrder(scanned.filter((log) => !log.finished));
  const superseded = options.includeSuperseded ? new Map<string, string>() : supersededLogs(scanned);
  const done = await mapConcurrently(crashed, Math.max(1, options.jobs ?? defaultJobs), async (log) => {
    const newer = superseded.get(log.location);
    const outcome: FleetOutcome | undefined =
      newer === undefined
        ? await recoverOne(log, root, storage, { ...options, runs }, successfulFor, scannedTags)
        : { log: log.location, status: 'skipped', reason: `${supersededReason(newer)}; --include-superseded recovers it`, code: 'RECOVERY_NOT_AVAILABLE', warnings: [] };
    if (outcome) options.onLog?.(outcome);
    return outcome;
  });
  const outcomes = done.filter((outcome) => outcome !== undefined);
  const recovered = outcomes.filter((outcome) => outcome.status === 'recovered');
  return {
    outcomes,
    summary: {
      logs: scanned.length,
      crashed: outcomes.length,
      recovered: recovered.length,
      skipped: outcomes.filter((outcome) => outcome.status === 'skipped').length,
      failed: outcomes.filter((outcome) => outcome.status === 'failed').length,
      samples: recovered.reduce((sum, outcome) => sum + (outcome.samples ?? 0), 0),
      elapsedMs: Math.round(performance.now() - started),
      dryRun: options.dryRun === true,
    },
  };
}

async function recoverOne(
  log: ScannedLog,
  root: string,
  storage: Storage,
  { runs, ...options }: FleetOptions & { runs: FinishedRuns },
  successfulFor: (output: string) => Promise<SuccessfulLogs>,
  scannedTags: ReadonlyMap<string, string>,
): Promise<FleetOutcome | undefined> {
  const warnings: RecoveryWarning[] = [];
  const onWarning = (warning: RecoveryWarning) => {
    warnings.push(warning);
    options.onWarning?.(warning);
  };
  try {
    if (log.error !== undefined) throw log.error;
    if (log.format === 'json') return await jsonLogOutcome(log, storage, warnings);
    const output = options.overwrite ? undefined : outputFor(log.location, root, options.outputDir);
    if (output !== undefined && options.outputDir === undefined && !options.dryRun) {
      const recoveredMeanwhile = await recoveredSinceScan(storage, output, scannedTags);
      if (recoveredMeanwhile) return { log: log.location, ...recoveredMeanwhile, warnings };
    }
    const result = await recoverEvalLog(log.location, {
      ...options,
      finishedRuns: runs,
      output,
      storage: options.outputDir === undefined ? storage : undefined,
      successfulLogs: await successfulFor(output ?? log.location),
      onWarning,
    });
    return recoveredOutcome(result);
  } catch (error) {
    return { log: log.location, ...failure(error), warnings };
  }
}

/**
 * The logs newest first, from a random place in that list round to its start: sweepers started
 * together then spread over the logs, each meeting the others' logs mostly once they are done
 * (one stat) rather than while they are leased (several requests each).
 */
function ownOrder<T>(logs: T[]): T[] {
  const start = randomInt(Math.max(1, logs.length));
  return [...logs.slice(start), ...logs.slice(0, start)];
}

/**
 * A recovered copy written beside the log since this sweep's scan was written by another
 * sweeper, which held the lease: said from one stat, where taking the lease and reading the
 * log would tell the same after several requests. Outputs are beside the logs here, so the
 * scan has their versions.
 */
async function recoveredSinceScan(
  storage: Storage,
  output: string,
  scannedTags: ReadonlyMap<string, string>,
): Promise<Pick<FleetOutcome, 'status' | 'reason' | 'code'> | undefined> {
  const now = await storage.stat(output);
  if (!now || now.etag === scannedTags.get(output)) return undefined;
  return { status: 'skipped', reason: `already recovered to ${output} during this sweep (by another sweeper)`, code: 'RECOVERY_NOT_AVAILABLE' };
}

/** The output dir's logs, for their runs; nothing when it does not exist yet. */
async function scanOutputDir(outputDir: string): Promise<LogScan> {
  const storage = storageFor(outputDir);
  const root = outputDir.replace(/[/\\]+$/, '');
  if (storage.kind === 'local' && !(await stat(localPath(root)).catch(() => undefined))?.isDirectory()) return { logs: [], copies: [], runs: new FinishedRuns() };
  return scanLogs(storage, root, { readOnly: true });
}

/** `<outputDir>/<path below the log dir, -recovered.eval>`, or beside the log. */
function outputFor(location: string, root: string, outputDir: string | undefined): string {
  const beside = defaultOutputPath(location);
  if (outputDir === undefined) return beside;
  const relative = beside.slice(root.length).replace(/^[/\\]+/, '');
  return storageFor(outputDir).join(outputDir.replace(/[/\\]+$/, ''), ...relative.split('/'));
}

function recoveredOutcome(result: RecoveryResult): FleetOutcome {
  const { log, output, source, samples, flushed, completed, inProgress, duplicates, errors, missing, cleanedUp, finalized, notFinalizedReason, dryRun, warnings } = result;
  return {
    log,
    status: 'recovered',
    output,
    source,
    samples,
    flushed,
    completed,
    inProgress,
    duplicates,
    errors,
    missing,
    cleanedUp,
    finalized,
    ...(notFinalizedReason === undefined ? {} : { notFinalizedReason }),
    ...(dryRun ? { dryRun } : {}),
    warnings,
  };
}

/**
 * A refusal with its reason is a skip (a live run, a lease held by another sweeper, a log
 * already recovered, one too recently active); anything else is a failure.
 */
function failure(error: unknown): Pick<FleetOutcome, 'status' | 'reason' | 'code'> {
  const reason = (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ');
  if (error instanceof LogLeasedError || error instanceof RecoveryNotAvailable) return { status: 'skipped', reason, code: error.code };
  if (error instanceof InspectRecoverError) return { status: 'failed', reason, code: error.code };
  return { status: 'failed', reason: `internal error: ${reason}`, code: 'INTERNAL' };
}

/** A `.json` log still `started` is said, not recovered: recovery rebuilds `.eval` logs. A finished one is no outcome. */
async function jsonLogOutcome(log: ScannedLog, storage: Storage, warnings: RecoveryWarning[]): Promise<FleetOutcome | undefined> {
  const { header } = await readJsonEvalLog(storage, log.location);
  if ((header.status ?? 'started') !== 'started') return undefined;
  return { log: log.location, status: 'skipped', reason: 'a .json log: recovery rebuilds .eval logs (use --log-format eval to make runs recoverable)', code: 'RECOVERY_NOT_AVAILABLE', warnings };
}
