/**
 * What makes a harness's start the same run as a log's, for resuming it: the task, the task's
 * arguments, the epochs and the dataset's sample ids. Anything else (the model's config, the
 * time, the ids a writer makes) may differ between the runs of one eval.
 */
import type { LogStart } from '../eval/schemas.js';
import { logKey, type SampleId } from '../sample-ref.js';

export interface RunDifference {
  /** `eval.task`, `eval.task_args`, `eval.config.epochs` or `eval.dataset.sample_ids`. */
  field: string;
  /** The difference in words, for a message. */
  text: string;
}

/** How `given` differs from a log's start where a resumed run must not: task, task arguments, epochs, sample ids. */
export function runDifferences(start: LogStart, given: LogStart): RunDifference[] {
  const differences: RunDifference[] = [];
  const differ = (field: string, logged: unknown, passed: unknown) => differences.push({ field, text: `${field}: the log has ${brief(logged)}, the harness passes ${brief(passed)}` });
  const [was, now] = [start.eval, given.eval];
  if (was.task !== now.task) differ('eval.task', was.task, now.task);
  if (canonicalJson(was.task_args ?? {}) !== canonicalJson(now.task_args ?? {})) differ('eval.task_args', was.task_args ?? {}, now.task_args ?? {});
  if ((was.config.epochs ?? 1) !== (now.config.epochs ?? 1)) differ('eval.config.epochs', was.config.epochs ?? 1, now.config.epochs ?? 1);
  const idDifference = sampleIdDifference(was.dataset.sample_ids ?? [], now.dataset.sample_ids ?? []);
  if (idDifference) differences.push({ field: 'eval.dataset.sample_ids', text: `eval.dataset.sample_ids: ${idDifference}` });
  return differences;
}

/** What the harness's ids lack and add against the log's (as sets: int 1 and "1" apart), or undefined when they are the same. */
function sampleIdDifference(logged: readonly SampleId[], passed: readonly SampleId[]): string | undefined {
  const key = (id: SampleId) => logKey(id, 0);
  const [was, now] = [new Map(logged.map((id) => [key(id), id])), new Map(passed.map((id) => [key(id), id]))];
  const removed = [...was.keys()].filter((id) => !now.has(id)).map((id) => was.get(id)!);
  const added = [...now.keys()].filter((id) => !was.has(id)).map((id) => now.get(id)!);
  if (removed.length === 0 && added.length === 0) return undefined;
  const list = (ids: SampleId[]) => `${ids.length} (${ids.slice(0, 3).map((id) => JSON.stringify(typeof id === 'bigint' ? String(id) : id)).join(', ')}${ids.length > 3 ? ', …' : ''})`;
  return [removed.length ? `the harness lacks ${list(removed)}` : '', added.length ? `adds ${list(added)}` : ''].filter(Boolean).join(' and ');
}

function brief(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : canonicalJson(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** JSON with object keys sorted, so that key order is no difference. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : typeof inner === 'bigint'
        ? String(inner)
        : inner,
  );
}
