/**
 * Inspect's successful-log guard (recovery.md §7 rule 2): eval sets pick the newest log of a
 * task, so an `error` log written next to a `success` log of the same task would shadow it.
 * The successful logs of a directory are read once (their headers only, a few at a time), so a
 * batch recovering many logs into one directory reads each header once.
 */
import { RecoveryNotAvailable } from '../errors.js';
import { EvalLogReader } from '../eval/eval-log-reader.js';
import type { EvalLogHeader, EvalSpec } from '../eval/schemas.js';
import type { Storage } from '../storage/storage.js';
import { mapConcurrently } from './concurrency.js';

/** task_id → the successful logs of that task in one directory. */
export type SuccessfulLogs = ReadonlyMap<string, readonly string[]>;

/** How many headers are read at once: ranged reads, so S3's latency is what this hides. */
export const headerReadConcurrency = 16;

/** The successful logs directly in `directory`, by task_id. */
export async function successfulLogsIn(storage: Storage, directory: string): Promise<SuccessfulLogs> {
  const names = (await storage.list(directory)).filter((name) => name.endsWith('.eval'));
  const headers = await mapConcurrently(names, headerReadConcurrency, (name) => finishedHeader(storage, storage.join(directory, name)));
  const successful = new Map<string, string[]>();
  names.forEach((name, index) => addIfSuccessful(successful, storage.join(directory, name), headers[index]));
  return successful;
}

/** What the guard needs of a finished log's header. */
export interface FinishedHeader {
  status: string;
  taskId?: string;
  /** `eval.eval_id` and `eval.run_id`: a crashed log's recovered copy shares both, whatever its name. */
  evalId?: string;
  runId?: string;
  /** `eval.created`: which attempt of a task is the newest (superseded.ts). */
  created?: string;
}

/** Records `location` when its header says it is a successful log with a task_id. */
export function addIfSuccessful(successful: Map<string, string[]>, location: string, header: FinishedHeader | undefined): void {
  const taskId = header?.status === 'success' ? header.taskId : undefined;
  if (taskId) successful.set(taskId, [...(successful.get(taskId) ?? []), location]);
}

/** Refuses when the directory holds a successful log of the same task (other than those excluded). */
export function assertNoSuccessfulLog(successful: SuccessfulLogs, directory: string, spec: EvalSpec, exclude: string[]): void {
  if (!spec.task_id) return;
  const shadowed = successful.get(spec.task_id)?.find((location) => !exclude.includes(location));
  if (shadowed !== undefined) {
    const name = shadowed.slice(shadowed.lastIndexOf('/') + 1);
    throw new RecoveryNotAvailable(`A successful log for task '${spec.task}' already exists in ${directory} (${name}); use --output to write the recovered log elsewhere`);
  }
}

/** The header of a finished log; undefined for a crashed or unreadable one. */
async function finishedHeader(storage: Storage, location: string): Promise<FinishedHeader | undefined> {
  const reader = await EvalLogReader.open(storage.byteSource(location), { headerOnly: true }).catch(() => undefined);
  if (!reader) return undefined;
  try {
    return reader.finished ? guardedFields(await reader.header().catch(() => undefined)) : undefined;
  } finally {
    await reader.close();
  }
}

/** The fields of a header the guard and the scan keep. */
export function guardedFields(header: EvalLogHeader | undefined): FinishedHeader | undefined {
  if (!header) return undefined;
  const { task_id: taskId, eval_id: evalId, run_id: runId, created } = header.eval;
  return {
    status: header.status ?? 'started',
    ...(taskId ? { taskId } : {}),
    ...(evalId ? { evalId } : {}),
    ...(runId ? { runId } : {}),
    ...(typeof created === 'string' ? { created } : {}),
  };
}
