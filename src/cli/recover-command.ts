import { stat } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { localPath } from '../storage/local-storage.js';
import { isS3Location } from '../storage/s3-location.js';
import { recoverEvalLog, type RecoveryResult } from '../recover/recover-eval-log.js';
import { meansLostData, type RecoveryWarning } from '../warnings.js';
import type { CliIo } from './main.js';
import { ProgressBar } from './progress.js';

export interface RecoverCommandOptions {
  output?: string;
  overwrite?: boolean;
  events: boolean;
  /** Undefined: the library's default (deleted, unless named with --buffer or used with --no-events). */
  cleanup?: boolean;
  force?: boolean;
  json?: boolean;
  quiet?: boolean;
  strict?: boolean;
  dataDir?: string;
  buffer?: string;
  staleAfter?: number;
  maxEntrySize?: number;
  minIdle?: number;
  dryRun?: boolean;
  incompleteAction?: 'retry' | 'error';
  incompleteMax?: number;
}

/** The options every recovery takes, from the command line's (`--all` passes them to each log). */
export function recoveryOptions(options: Omit<RecoverCommandOptions, 'output' | 'buffer'>) {
  return {
    overwrite: options.overwrite,
    noEvents: !options.events,
    cleanup: options.cleanup,
    force: options.force,
    strict: options.strict,
    dataDir: options.dataDir,
    staleAfterMs: options.staleAfter,
    maxEntrySize: options.maxEntrySize,
    minIdleMs: options.minIdle,
    dryRun: options.dryRun,
    incompleteAction: options.incompleteAction,
    incompleteMax: options.incompleteMax,
  };
}

/**
 * Prints a warning on stderr. Lost data is always said: --quiet silences progress and success,
 * and --json keeps stdout for the JSON.
 */
export function warningPrinter(options: { quiet?: boolean; json?: boolean }, io: CliIo, beforePrinting?: () => void): (warning: RecoveryWarning) => void {
  return (warning) => {
    if ((options.quiet || options.json) && !meansLostData(warning)) return;
    beforePrinting?.();
    io.stderr(`warning [${warning.code}]: ${warning.message}\n`);
  };
}

export async function recoverCommand(log: string, options: RecoverCommandOptions, io: CliIo): Promise<void> {
  await assertNotDirectory(log);
  const progress = ProgressBar.forStderr('Recovering', !options.quiet && !options.json);
  let result: RecoveryResult;
  try {
    result = await recoverEvalLog(log, {
      ...recoveryOptions(options),
      output: options.output,
      buffer: options.buffer,
      onWarning: warningPrinter(options, io, () => progress?.clear()),
      onProgress: (done, total) => progress?.update(done, total),
    });
  } finally {
    progress?.clear();
  }
  // Asked for, so said even with --quiet or --json: why the run is not finished.
  if (result.notFinalizedReason) io.stderr(`not finalized: ${result.notFinalizedReason}\n`);
  if (options.json) {
    io.stdout(`${JSON.stringify(recoveryJson(result), null, 2)}\n`);
    return;
  }
  if (options.quiet) return;
  if (result.dryRun) {
    io.stdout(
      `Dry run, nothing changed: would recover ${result.samples} samples to ${result.output} ` +
        `(${result.flushed} flushed, ${result.completed} completed, ${result.inProgress} in progress; source: ${result.source})\n`,
    );
    return;
  }
  io.stdout(
    `Recovered ${result.samples} samples to ${result.output} ` +
      `(${result.flushed} flushed, ${result.completed} completed, ${result.inProgress} in progress; source: ${result.source})\n`,
  );
  if (result.bufferKept) io.stdout(`Kept the buffer ${result.bufferKept.location}: ${result.bufferKept.reason}\n`);
  if (result.finalized) {
    io.stdout(`Finalized: every expected sample is in it, so it is written status success (${result.errors} with errors); eval-retry has nothing left to run\n`);
    return;
  }
  // What `inspect eval-retry` would run: the samples with an error and those the log lacks.
  const unfinished = result.errors + result.missing;
  if (unfinished > 0) {
    const parts = [result.errors ? `${result.errors} failed or cancelled` : '', result.missing ? `${result.missing} never started or lost` : ''].filter(Boolean);
    const commands: [string, string][] = [
      [`inspect eval-retry ${result.output}`, 'an Inspect run'],
      [`EvalRecorder.resume(${JSON.stringify(result.output)}, logStart)`, 'a TypeScript harness recording with inspect-recover'],
    ];
    const width = Math.max(...commands.map(([command]) => command.length));
    io.stdout(`\nTo run the ${unfinished} samples that did not finish (${parts.join(', ')}):\n${commands.map(([command, who]) => `  ${command.padEnd(width)}   # ${who}\n`).join('')}`);
  }
}

/** The result as `--json` prints it: snake_case keys, as `--list --json`, `show --json` and Inspect's own JSON. */
export function recoveryJson(result: RecoveryResult): unknown {
  return snakeKeys(result);
}

/** Every key of plain objects, at any depth, in snake_case (`segmentId` → `segment_id`). */
export function snakeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`), snakeKeys(item)]));
}

/** A directory given as LOG is most likely a log dir: say the commands that take one. */
async function assertNotDirectory(log: string): Promise<void> {
  if (isS3Location(log)) return;
  if (!(await stat(localPath(log)).catch(() => undefined))?.isDirectory()) return;
  throw new UsageError(`${log} is a directory, not a log: to see its crashed logs, inspect-recover --list ${log}; to recover them all, inspect-recover --all ${log}`);
}
