import { cleanBuffers, type CleanedBuffer } from '../recover/clean-buffers.js';
import { assertListableDirectory } from './list-command.js';
import type { CliIo } from './main.js';
import { snakeKeys } from './recover-command.js';
import { formatBytes, shownLocation } from './display.js';


export interface CleanCommandOptions {
  logDir: string;
  json?: boolean;
  quiet?: boolean;
  dataDir?: string;
  staleAfter?: number;
  dryRun?: boolean;
  checkpoints?: boolean;
}

/** `--clean`: a line per buffer found (removed, or kept and why), then what was freed; with `--json`, JSON Lines. */
export async function cleanCommand(options: CleanCommandOptions, io: CliIo): Promise<number> {
  await assertListableDirectory(options.logDir);
  const { summary } = await cleanBuffers(options.logDir, {
    dataDir: options.dataDir,
    staleAfterMs: options.staleAfter,
    dryRun: options.dryRun,
    checkpoints: options.checkpoints,
    onBuffer: (buffer) => {
      if (options.json) io.stdout(`${JSON.stringify(snakeKeys(buffer))}\n`);
      else if (!options.quiet) io.stdout(`${bufferLine(buffer)}\n`);
    },
  });
  if (options.json) io.stdout(`${JSON.stringify({ summary: snakeKeys(summary) })}\n`);
  else if (!options.quiet) {
    const verb = summary.dryRun ? 'Dry run, nothing changed: would remove' : 'Removed';
    io.stdout(`${verb} ${summary.removed} of ${summary.buffers} buffers, ${formatBytes(summary.bytesFreed)} (${summary.kept} kept)\n`);
    if (summary.leftoversRemoved > 0) io.stdout(`Removed ${summary.leftoversRemoved} files killed writers left beside the logs (staging copies, temp files, leases)\n`);
  }
  return 0;
}

function bufferLine(buffer: CleanedBuffer): string {
  const verb = buffer.status === 'would-remove' ? 'would remove' : buffer.status;
  return `${verb} ${shownLocation(buffer.buffer)} (${buffer.kind}, ${formatBytes(buffer.bytes)}): ${buffer.reason}`;
}

