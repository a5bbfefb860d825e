import { UsageError } from '../errors.js';
import { recoverFleet, type FleetOutcome, type FleetSummary } from '../recover/recover-fleet.js';
import { assertListableDirectory } from './list-command.js';
import type { CliIo } from './main.js';
import { recoveryOptions, snakeKeys, warningPrinter, type RecoverCommandOptions } from './recover-command.js';
import { shownLocation } from './display.js';

/** One recovery's options, less those that name one log's output or buffer. */
export interface FleetCommandOptions extends Omit<RecoverCommandOptions, 'output' | 'buffer'> {
  logDir: string;
  outputDir?: string;
  jobs?: number;
  includeSuperseded?: boolean;
}

/** `--all`: one line per log as it finishes, then a summary line (with `--json`, JSON Lines). Exit 1 when any log failed. */
export async function fleetCommand(options: FleetCommandOptions, io: CliIo): Promise<number> {
  if (options.overwrite && options.outputDir !== undefined) throw new UsageError('--overwrite replaces each log itself, so it takes no --output-dir; use one or the other');
  await assertListableDirectory(options.logDir);
  const { summary } = await recoverFleet(options.logDir, {
    ...recoveryOptions(options),
    outputDir: options.outputDir,
    jobs: options.jobs,
    includeSuperseded: options.includeSuperseded,
    onWarning: warningPrinter(options, io),
    onLog: (outcome) => {
      if (options.json) io.stdout(`${JSON.stringify(snakeKeys(outcome))}\n`);
      else if (!options.quiet || outcome.status === 'failed') (outcome.status === 'failed' ? io.stderr : io.stdout)(`${outcomeLine(outcome)}\n`);
    },
  });
  if (options.json) io.stdout(`${JSON.stringify({ summary: snakeKeys(summary) })}\n`);
  else if (!options.quiet) io.stdout(`${summaryLine(summary, options.logDir)}\n`);
  return summary.failed > 0 ? 1 : 0;
}


function outcomeLine(outcome: FleetOutcome): string {
  if (outcome.status !== 'recovered') return `${outcome.status} ${shownLocation(outcome.log)}: ${outcome.reason}`;
  const counts = `${outcome.samples} samples: ${outcome.flushed} flushed, ${outcome.completed} completed, ${outcome.inProgress} in progress; source: ${outcome.source}`;
  const finished = outcome.finalized ? ', finalized (status success)' : outcome.notFinalizedReason ? `; not finalized: ${outcome.notFinalizedReason}` : '';
  return `${outcome.dryRun ? 'would recover' : 'recovered'} ${shownLocation(outcome.log)} → ${shownLocation(outcome.output!)} (${counts})${finished}`;
}

function summaryLine(summary: FleetSummary, logDir: string): string {
  const seconds = (summary.elapsedMs / 1000).toFixed(1);
  const of = `of ${summary.crashed} unfinished logs (${summary.logs} logs under ${shownLocation(logDir)}) in ${seconds} s`;
  if (summary.dryRun) return `Dry run, nothing changed: would recover ${summary.recovered}, skip ${summary.skipped}, fail ${summary.failed} ${of}`;
  return `${summary.recovered} recovered (${summary.samples} samples), ${summary.skipped} skipped, ${summary.failed} failed ${of}`;
}
