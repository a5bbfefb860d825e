/**
 * Inspect's agent checkpoints (`docs/checkpointing.qmd`): restic snapshots of a sample's sandbox
 * and tracked state, kept in `<log base>.checkpoints/` beside the log, where the log base is the
 * file's name without `.eval` and then without `-recovered` (`eval_checkpoints_dir.py`).
 * `eval-retry` finds them from the name of the log it retries, in that log's own directory, and
 * resumes samples from their last checkpoint. Recovery never writes or removes them; it says
 * where they are, and warns when an output's name would hide them from `eval-retry`.
 */
import type { Storage, StoredFile } from '../storage/storage.js';
import { warnings, type WarningHandler } from '../warnings.js';
import { parentLocation } from './output-path.js';

export const checkpointsSuffix = '.checkpoints';

/** A log's checkpoints directory and the bytes it holds. */
export interface LogCheckpoints {
  path: string;
  bytes: number;
}

/** The log's name as Inspect keys its checkpoints: without `.eval`, then without `-recovered`. */
export function checkpointsBase(location: string): string {
  let base = location.slice(location.lastIndexOf('/') + 1);
  if (base.endsWith('.eval')) base = base.slice(0, -'.eval'.length);
  if (base.endsWith('-recovered')) base = base.slice(0, -'-recovered'.length);
  return base;
}

/** The log base a checkpoints directory belongs to: its name without `.checkpoints`. */
export function baseOfCheckpointsDir(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1).slice(0, -checkpointsSuffix.length);
}

/** Where `eval-retry` of this log looks for its checkpoints. */
export function checkpointsDirFor(storage: Storage, location: string): string {
  return storage.join(parentLocation(location), `${checkpointsBase(location)}${checkpointsSuffix}`);
}

/** The log's checkpoints, when it has any (a directory holding files). */
export async function checkpointsOf(storage: Storage, location: string): Promise<LogCheckpoints | undefined> {
  const path = checkpointsDirFor(storage, location);
  const files = await storage.walk(path).catch(() => [] as StoredFile[]);
  if (files.length === 0) return undefined;
  return { path, bytes: files.reduce((sum, file) => sum + file.stat.size, 0) };
}

/** Whether a path lies inside a checkpoints directory (a restic repository: never a log, never a buffer). */
export function isInsideCheckpoints(relative: string): boolean {
  return relative.split('/').slice(0, -1).some((part) => part.endsWith(checkpointsSuffix));
}

/**
 * Warns when the log has checkpoints and the output's name would not find them: `eval-retry` of
 * the output looks beside it, under the output's own base.
 */
export async function warnIfCheckpointsUnlinked(storage: Storage, location: string, output: string, outputStorage: Storage, warn: WarningHandler): Promise<void> {
  // Compared first: an output that keeps them linked (the default) costs no listing.
  const looked = checkpointsDirFor(outputStorage, output);
  if (looked === checkpointsDirFor(storage, location)) return;
  const checkpoints = await checkpointsOf(storage, location);
  if (!checkpoints) return;
  const keeping = storage.join(parentLocation(location), `${checkpointsBase(location)}-recovered.eval`);
  warn(
    warnings.checkpointsUnlinked(
      `${location} has agent checkpoints in ${checkpoints.path}, but eval-retry of ${output} will look in ${looked} and not find them, ` +
        `so its samples would start over: write the recovered log as ${keeping} (the default) or use --overwrite to keep them linked`,
      { checkpoints: checkpoints.path, output },
    ),
  );
}
