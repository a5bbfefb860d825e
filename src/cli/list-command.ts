import { stat } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { localPath } from '../storage/local-storage.js';
import { listingJson, recoverableEvalLogs, type RecoverableEvalLog } from '../recover/recoverable-logs.js';
import { isS3Location } from '../storage/s3-location.js';
import { bufferDatabaseHint } from '../buffer/database/location.js';
import type { CliIo } from './main.js';
import { supersededReason } from '../recover/superseded.js';
import { formatBytes, shownLocation } from './display.js';


export interface ListCommandOptions {
  logDir: string;
  json?: boolean;
  dataDir?: string;
  staleAfter?: number;
}

const statusText: Record<RecoverableEvalLog['status'], string> = {
  crashed: 'crashed',
  running: 'still running (not offered for recovery)',
  recovered: 'already recovered',
  superseded: 'superseded',
};

const sourceText: Record<RecoverableEvalLog['source'], string> = {
  database: 'database',
  filestore: 'filestore',
  none: 'none (no buffer found here: only flushed samples can be recovered, see below)',
};

export async function listCommand(options: ListCommandOptions, io: CliIo): Promise<void> {
  await assertListableDirectory(options.logDir);
  const logs = await recoverableEvalLogs(options.logDir, {
    dataDir: options.dataDir,
    staleAfterMs: options.staleAfter,
    // On stderr even with --json: stdout stays the array scripts written for Inspect expect.
    onWarning: (warning) => io.stderr(`warning [${warning.code}]: ${warning.message}\n`),
  });
  if (options.json) {
    io.stdout(`${JSON.stringify(logs.map(listingJson), null, 2)}\n`);
    return;
  }
  if (logs.length === 0) {
    io.stdout('No recoverable logs found.\n');
    return;
  }
  logs.forEach((log, index) => {
    const shown = shownLocation(log.path);
    io.stdout(
      `${index > 0 ? '\n' : ''}log: ${shown}\n  source: ${sourceText[log.source]}\n  status: ${statusOf(log)}, last activity ${log.lastActivity ?? 'unknown'}\n` +
        `  (${log.totalSamples} total, ${log.flushedSamples} flushed, ${log.completedSamples} completed, ${log.inProgressSamples} in-progress)\n` +
        (log.checkpoints ? `  checkpoints: ${shownLocation(log.checkpoints.path)} (${formatBytes(log.checkpoints.bytes)}): eval-retry resumes its samples from them\n` : ''),
    );
  });
  if (logs.some((log) => log.source === 'none' && log.status === 'crashed')) io.stdout(`\nsource none: no buffer was found here; ${bufferDatabaseHint('<log file name>')}\n`);
}


function statusOf(log: RecoverableEvalLog): string {
  if (log.supersededBy === undefined) return statusText[log.status];
  return `${supersededReason(log.supersededBy)}: not offered for recovery (--all --include-superseded recovers it)`;
}

/** A local directory that is missing, or a file, is a mistake to say, not an empty listing. */
export async function assertListableDirectory(logDir: string): Promise<void> {
  if (isS3Location(logDir)) return;
  const found = await stat(localPath(logDir)).catch(() => undefined);
  if (!found) throw new UsageError(`${logDir}: no such directory to list`);
  if (!found.isDirectory()) throw new UsageError(`${logDir}: a file, not a directory (to look at one log: inspect-recover show ${logDir})`);
}
