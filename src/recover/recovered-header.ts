import type { EvalError, EvalLogHeader, EvalStatus, LogStart } from '../eval/schemas.js';
import type { RunTotals } from './run-totals.js';

export const recoveredError = {
  message: 'Eval recovered from crash',
  traceback: 'Eval process crashed; log recovered from sample buffer database.\n',
  traceback_ansi: 'Eval process crashed; log recovered from sample buffer database.\n',
};

/**
 * The header of a recovered log (recovery.md §5): status `error`, stats rebuilt from the samples;
 * a finalized one (every expected sample final: finalization.ts) is `success`, with no error.
 */
export function recoveredHeader(
  start: LogStart,
  totals: RunTotals,
  results: Record<string, unknown> | undefined,
  configUpdates: unknown[] | undefined,
  { finalized = false } = {},
): EvalLogHeader {
  if (finalized) return headerFromTotals(start, totals, results, { status: 'success', configUpdates });
  return headerFromTotals(start, totals, results, { status: 'error', error: recoveredError, configUpdates });
}

/** A finished log's header whose stats (and results, when given) come from its samples' summaries. */
export function headerFromTotals(
  start: LogStart,
  totals: RunTotals,
  results: Record<string, unknown> | undefined,
  { status, error, configUpdates }: { status: EvalStatus; error?: EvalError; configUpdates?: unknown[] },
): EvalLogHeader {
  // Inspect's read_eval_log_samples needs the dataset's ids; a start without them gets the ids recovered.
  const ids = totals.sampleIds;
  const spec = ids && start.eval.dataset.sample_ids == null ? { ...start.eval, dataset: { ...start.eval.dataset, sample_ids: [...ids.values()] } } : start.eval;
  return {
    version: 2,
    status,
    eval: spec,
    plan: start.plan,
    ...(results ? { results } : {}),
    stats: {
      started_at: totals.startedAt,
      completed_at: pythonIsoNow(),
      model_usage: totals.modelUsage,
      role_usage: totals.roleUsage,
      connection_limit_history: [],
    },
    ...(error ? { error } : {}),
    invalidated: false,
    ...(configUpdates?.length ? { config_updates: configUpdates } : {}),
    tags: [...((start.eval.tags as string[] | undefined) ?? [])].sort(),
    metadata: (start.eval.metadata as Record<string, unknown> | undefined) ?? {},
  };
}

/** Now as Python's `datetime.now(timezone.utc).isoformat()`: microseconds and `+00:00`. */
function pythonIsoNow(): string {
  return new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000+00:00');
}
