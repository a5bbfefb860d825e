import { stat } from 'node:fs/promises';
import { relative } from 'node:path';
import { UsageError } from '../errors.js';
import { localPath } from '../storage/local-storage.js';
import { recoverableEvalLogs, type RecoverableEvalLog } from '../recover/recoverable-logs.js';
import { isS3Location } from '../storage/s3-location.js';
import type { CliIo } from './main.js';

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
};

const sourceText: Record<RecoverableEvalLog['source'], string> = {
  database: 'database',
  filestore: 'filestore',
  none: 'none (the buffer is gone: only flushed samples can be recovered)',
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
    io.stdout(`${JSON.stringify(logs, null, 2)}\n`);
    return;
  }
  if (logs.length === 0) {
    io.stdout('No recoverable logs found.\n');
    return;
  }
  for (const log of logs) {
    const shown = isS3Location(log.path) ? log.path : relative(process.cwd(), log.path) || log.path;
    io.stdout(
      `\nlog: ${shown}\n  source: ${sourceText[log.source]}\n  status: ${statusText[log.status]}, last activity ${log.last_activity ?? 'unknown'}\n` +
        `  (${log.total_samples} total, ${log.flushed_samples} flushed, ${log.completed_samples} completed, ${log.in_progress_samples} in-progress)\n`,
    );
  }
  io.stdout('\n');
}

/** A local directory that is missing, or a file, is a mistake to say, not an empty listing. */
export async function assertListableDirectory(logDir: string): Promise<void> {
  if (isS3Location(logDir)) return;
  const found = await stat(localPath(logDir)).catch(() => undefined);
  if (!found) throw new UsageError(`${logDir}: no such directory to list`);
  if (!found.isDirectory()) throw new UsageError(`${logDir}: a file, not a directory (to look at one log: inspect-recover show ${logDir})`);
}
