import type { EvalSample, EvalSampleSummary } from './schemas.js';

/** Inspect shortens long input and target strings in summaries to this many characters. */
const summaryTextLimit = 5120;
const truncationNote = '...\n(content truncated)';

/**
 * The summary row Inspect writes for a finished sample (eval-log-format.md §4.7): the sample's
 * identity, scores and timings without its messages and events. Long input and target text
 * are shortened as Inspect does; other thinning is left to Inspect, which re-thins on read.
 */
export function summarizeSample(sample: EvalSample): EvalSampleSummary {
  const summary: EvalSampleSummary = {
    id: sample.id,
    epoch: sample.epoch,
    input: thinInput(sample.input),
    target: Array.isArray(sample.target) ? sample.target.map(thinText) : thinText(sample.target),
  };
  copyDefined(summary, sample, ['choices']);
  summary.metadata = sample.metadata ?? {};
  if (sample.scores) {
    summary.scores = Object.fromEntries(Object.entries(sample.scores).map(([name, score]) => [name, { ...score, history: [] }]));
  }
  summary.model_usage = sample.model_usage ?? {};
  summary.role_usage = (sample.role_usage as Record<string, unknown> | undefined) ?? {};
  copyDefined(summary, sample, ['model_fallbacks', 'started_at', 'completed_at', 'total_time', 'working_time', 'uuid']);
  if (sample.error) summary.error = sample.error.message;
  if (sample.limit) summary.limit = sample.limit.type;
  summary.retries = sample.error_retries?.length ?? 0;
  summary.completed = true;
  summary.message_count = sample.messages?.length ?? 0;
  copyDefined(summary, sample, ['turn_count', 'token_limit', 'token_limit_type', 'token_limit_usage']);
  return summary;
}

function copyDefined(target: Record<string, unknown>, source: Record<string, unknown>, keys: string[]): void {
  for (const key of keys) if (source[key] !== undefined && source[key] !== null) target[key] = source[key];
}

function thinText(value: unknown): unknown {
  return typeof value === 'string' && value.length > summaryTextLimit ? value.slice(0, summaryTextLimit) + truncationNote : value;
}

/** String input, or the string content of each input message, shortened. */
function thinInput(input: unknown): unknown {
  if (!Array.isArray(input)) return thinText(input);
  return input.map((message: unknown) =>
    message && typeof message === 'object' && typeof (message as { content?: unknown }).content === 'string'
      ? { ...message, content: thinText((message as { content: string }).content) }
      : message,
  );
}
