import { RecoveryNotAvailable } from '../errors.js';
import { EvalLogReader } from '../eval/eval-log-reader.js';
import type { EvalSpec } from '../eval/schemas.js';
import type { Storage } from '../storage/storage.js';

/**
 * Inspect's successful-log guard (recovery.md §7 rule 2): eval sets pick the newest log of a
 * task, so an `error` log written next to a `success` log of the same task would shadow it.
 * Refuses when the output directory already holds a successful log with the same task_id.
 */
export async function assertNoSuccessfulLog(storage: Storage, directory: string, spec: EvalSpec, exclude: string[]): Promise<void> {
  if (!spec.task_id) return;
  for (const name of await storage.list(directory)) {
    const location = storage.join(directory, name);
    if (!name.endsWith('.eval') || exclude.includes(location)) continue;
    const reader = await EvalLogReader.open(storage.byteSource(location), { headerOnly: true }).catch(() => undefined);
    if (!reader) continue;
    try {
      if (!reader.finished) continue;
      const header = await reader.header().catch(() => undefined);
      if (header?.status === 'success' && header.eval.task_id === spec.task_id) {
        throw new RecoveryNotAvailable(
          `A successful log for task '${spec.task}' already exists in ${directory} (${name}); use --output to write the recovered log elsewhere`,
        );
      }
    } finally {
      await reader.close();
    }
  }
}
