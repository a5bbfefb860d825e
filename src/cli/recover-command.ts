import { recoverEvalLog, type RecoveryResult } from '../recover/recover-eval-log.js';
import type { RecoveryWarning } from '../warnings.js';
import type { CliIo } from './main.js';
import { ProgressBar } from './progress.js';

export interface RecoverCommandOptions {
  output?: string;
  overwrite?: boolean;
  events: boolean;
  cleanup: boolean;
  force?: boolean;
  json?: boolean;
  quiet?: boolean;
  strict?: boolean;
  dataDir?: string;
  buffer?: string;
  staleAfter?: number;
  maxEntrySize?: number;
}

export async function recoverCommand(log: string, options: RecoverCommandOptions, io: CliIo): Promise<void> {
  const progress = ProgressBar.forStderr('Recovering', !options.quiet && !options.json);
  const showWarning = (warning: RecoveryWarning) => {
    if (options.quiet || options.json) return;
    progress?.clear();
    io.stderr(`warning [${warning.code}]: ${warning.message}\n`);
  };
  let result: RecoveryResult;
  try {
    result = await recoverEvalLog(log, {
      output: options.output,
      overwrite: options.overwrite,
      noEvents: !options.events,
      cleanup: options.cleanup,
      force: options.force,
      strict: options.strict,
      dataDir: options.dataDir,
      buffer: options.buffer,
      staleAfterMs: options.staleAfter,
      maxEntrySize: options.maxEntrySize,
      onWarning: showWarning,
      onProgress: (done, total) => progress?.update(done, total),
    });
  } finally {
    progress?.clear();
  }
  if (options.json) {
    io.stdout(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  if (options.quiet) return;
  io.stdout(
    `Recovered ${result.samples} samples to ${result.output} ` +
      `(${result.flushed} flushed, ${result.completed} completed, ${result.inProgress} in progress; source: ${result.source})\n`,
  );
  if (result.errors > 0) {
    io.stdout(`\nTo re-run the ${result.errors} failed/cancelled samples:\n  inspect eval-retry ${result.output}\n`);
  }
}
