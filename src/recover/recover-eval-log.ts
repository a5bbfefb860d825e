/**
 * Rebuilds a complete `.eval` from a crashed log and its sample buffer (recovery.md §4–§9): the
 * options checked, the log's recovery lease taken, the run located (crashed-run.ts), then
 * recovered (write-recovery.ts).
 */
import { resolve } from 'node:path';
import type { BufferSourceKind } from '../buffer/sample-buffer-source.js';
import { removeOnExit } from '../bytes/exit-cleanup.js';
import { LogFinishedError, NotFoundError, RecoveryNotAvailable, UsageError } from '../errors.js';
import { localPath } from '../storage/local-storage.js';
import { isS3Location } from '../storage/s3-location.js';
import type { Storage } from '../storage/storage.js';
import { storageFor } from '../storage/storage-for.js';
import { warningSink, type RecoveryWarning, type WarningOptions } from '../warnings.js';
import { locateCrashedRun, type CrashedRun } from './crashed-run.js';
import { removeFinishedRunBuffer, removeLeftovers, stagingLocation } from './leftovers.js';
import { defaultStaleAfterMs } from './find-buffer.js';
import { defaultOutputPath } from './output-path.js';
import { RecoveryLease } from './recovery-lease.js';
import type { FinishedRuns } from './finished-runs.js';
import { isIncompleteAction, isIncompleteMax, type IncompleteAction } from './finalization.js';
import { warnIfCheckpointsUnlinked } from './checkpoints.js';
import type { SuccessfulLogs } from './success-guard.js';
import { planRecovery, recoverCrashedRun, type RecoveryTarget } from './write-recovery.js';

export interface RecoverOptions extends WarningOptions {
  /** Where to write (a name ending in `.eval`); default `<log>-recovered.eval` beside the log. Not with `overwrite`. An existing file there is replaced only when it is a recovered log of the same run. */
  output?: string;
  /** Replace the crashed log itself (after the recovered copy is written and read back). */
  overwrite?: boolean;
  /** Rebuilt samples get `events: []`; messages and output are still extracted. */
  noEvents?: boolean;
  /**
   * Delete the buffer that was used once the output is safe. Default true, except for a buffer
   * named with `buffer` (the user's own copy) and with `noEvents` (the buffer then holds the
   * only copy of the events): those are kept unless this is true.
   */
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
  /** The successful logs of the output's directory, when a batch has read them already (default: read here). */
  successfulLogs?: SuccessfulLogs;
  /** Finished logs by run, when a batch has scanned them: a log with a recovered copy of another name is refused as recovered. */
  finishedRuns?: FinishedRuns;
  /** Refuse (as still in use) a run whose last recorded activity is younger than this: what a cron sweeper wants. */
  minIdleMs?: number;
  /** Check and plan everything, write nothing, take no lease: the result says what would be recovered. */
  dryRun?: boolean;
  /**
   * Samples still running at the crash: `retry` (default) ends them cancelled, for `eval-retry` to
   * run again; `error` ends them as terminated by the operator, and when every sample the run was
   * to produce (its start's sample ids × epochs) is then in the log, finalizes it: status `success`.
   */
  incompleteAction?: IncompleteAction;
  /** With `incompleteAction: 'error'`: the most samples that may be ended so (a count, or below 1 a proportion of the expected samples); more, and they are left to be run again. */
  incompleteMax?: number;
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
  /** The buffer recovered from, when it was kept: its location and why. */
  bufferKept?: { location: string; reason: string };
  /** Written `success` (incompleteAction `error`, every expected sample final): `eval-retry` has nothing left to run. */
  finalized: boolean;
  /** With incompleteAction `error`, why the log could not be finalized (it stays `error`). */
  notFinalizedReason?: string;
  /** A dry run: nothing was written, and the counts are the plan's (damage found only while copying is not in them). */
  dryRun?: boolean;
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
  assertIncompleteOptions(options);
  if (options.output !== undefined && !options.output.endsWith('.eval')) {
    throw new UsageError(`${options.output}: the output is an .eval log, so its name must end in .eval`);
  }
  const storage = options.storage ?? storageFor(location);
  // With overwrite, the recovered log is staged under a hidden name beside the log, never over a file of the user's.
  const output = options.overwrite ? stagingLocation(location) : (options.output ?? defaultOutputPath(location));
  if (sameLocation(output, location)) throw new UsageError(`${location}: the output is the log itself; use --overwrite to replace it in place`);
  const outputStorage = options.storage ?? storageFor(output);

  // A missing log is said before the lease, whose file would otherwise make its directory.
  const stat = await storage.stat(location);
  if (!stat) throw new NotFoundError(`${location}: ${storage.kind === 's3' ? 'no such object' : 'no such file or directory'}`);
  if (!options.overwrite) await warnIfCheckpointsUnlinked(storage, location, output, outputStorage, warn);
  const locate = () =>
    locateCrashedRun(location, { storage, stat, warn, dataDir: options.dataDir, buffer: options.buffer, staleAfterMs: options.staleAfterMs, maxEntrySize: options.maxEntrySize });
  if (options.dryRun) {
    // Nothing is taken or written: a recovery under way is only said.
    await RecoveryLease.assertFree(storage, location);
    const run = await locate();
    try {
      return { ...(await planRecovery(run, { output, storage: outputStorage, staged: false }, options, warn)), warnings: raised };
    } finally {
      await run.close();
    }
  }
  // Taken before anything is read: a second recovery of this log must not plan from what the first one deletes.
  const lease = await RecoveryLease.acquire(storage, location);
  const target: RecoveryTarget = { output, storage: outputStorage, staged: options.overwrite === true };
  const forgetStaging = options.overwrite && outputStorage.kind === 'local' ? removeOnExit(localPath(output)) : undefined;
  let run: CrashedRun | undefined;
  try {
    run = await locate().catch(async (error: unknown) => {
      if (!(error instanceof LogFinishedError) || options.buffer !== undefined || options.cleanup === false) throw error;
      const removed = await removeFinishedRunBuffer(location, { storage, dataDir: options.dataDir, staleAfterMs: options.staleAfterMs ?? defaultStaleAfterMs });
      if (removed === undefined) throw error;
      throw new LogFinishedError(`${error.message}; the buffer left beside it (${removed}, whose samples it holds: a recovery was killed after it replaced the log) was removed`);
    });
    // With the lease held no other recovery of the log writes beside it; with its run crashed, no recorder does.
    const writes = options.overwrite ? { own: output } : outputStorage.kind === 'local' ? { output } : {};
    await removeLeftovers(storage, location, { ...writes, publishTemps: run.found.verdict === 'crashed' });
    return { ...(await recoverCrashedRun(run, target, lease, options, warn)), warnings: raised };
  } finally {
    await run?.close();
    if (target.staged) await outputStorage.delete(output).catch(() => undefined);
    forgetStaging?.();
    await lease.release();
  }
}

function assertIncompleteOptions({ incompleteAction, incompleteMax }: RecoverOptions): void {
  if (incompleteAction !== undefined && !isIncompleteAction(incompleteAction)) {
    throw new UsageError(`--incomplete-action is retry or error, not ${JSON.stringify(incompleteAction)}`);
  }
  if (incompleteMax === undefined) return;
  if (!isIncompleteMax(incompleteMax)) {
    throw new UsageError(`--incomplete-max takes a whole number of samples, or a proportion between 0 and 1, not ${incompleteMax}`);
  }
  if (incompleteAction !== 'error') throw new UsageError('--incomplete-max limits --incomplete-action error; give both');
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
