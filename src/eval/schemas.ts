/**
 * Loose schemas for what an `.eval` log holds (eval-log-format.md §4). They check the fields
 * Inspect's reader requires and the ones this tool uses, and accept every other key: Inspect
 * adds fields over time. Keys are listed in Inspect's declaration order.
 */
import { z } from 'zod';
import { JsonFormatError } from '../errors.js';

/** Any JSON number, NaN and ±Infinity included (Inspect writes them; zod's number() refuses them). */
export const pyNumber = z.custom<number>((value) => typeof value === 'number', 'expected a number');
export const sampleId = z.union([z.string(), z.number().int(), z.bigint()]);

export const ModelUsageSchema = z.looseObject({
  input_tokens: z.number().optional(),
  output_tokens: z.number().optional(),
  total_tokens: z.number().optional(),
  input_tokens_cache_write: z.number().nullish(),
  input_tokens_cache_read: z.number().nullish(),
  reasoning_tokens: z.number().nullish(),
  total_cost: pyNumber.nullish(),
});

export const EvalErrorSchema = z.looseObject({
  message: z.string(),
  traceback: z.string(),
  traceback_ansi: z.string(),
});

export const EvalSpecSchema = z.looseObject({
  eval_set_id: z.string().nullish(),
  eval_id: z.string().optional(),
  run_id: z.string().optional(),
  created: z.string(),
  task: z.string(),
  task_id: z.string().optional(),
  task_version: z.union([z.number(), z.string()]).optional(),
  task_file: z.string().nullish(),
  dataset: z.looseObject({
    name: z.string().nullish(),
    location: z.string().nullish(),
    samples: z.number().int().nullish(),
    sample_ids: z.array(sampleId).nullish(),
    shuffled: z.boolean().nullish(),
  }),
  model: z.string(),
  config: z.looseObject({
    limit: z.unknown().optional(),
    epochs: z.number().int().nullish(),
    epochs_reducer: z.array(z.string()).nullish(),
    log_buffer: z.number().int().nullish(),
    log_shared: z.union([z.number(), z.boolean()]).nullish(),
  }),
  scorers: z.array(z.looseObject({ name: z.string() })).nullish(),
});

export const EvalPlanSchema = z.looseObject({});

/** `_journal/start.json` */
export const LogStartSchema = z.looseObject({
  version: z.number().int(),
  eval: EvalSpecSchema,
  plan: EvalPlanSchema,
});

export const EvalStatusSchema = z.enum(['started', 'success', 'cancelled', 'error']);

export const EvalStatsSchema = z.looseObject({
  started_at: z.string().optional(),
  completed_at: z.string().optional(),
  model_usage: z.record(z.string(), ModelUsageSchema).optional(),
  role_usage: z.record(z.string(), ModelUsageSchema).optional(),
});

export const EvalResultsSchema = z.looseObject({
  total_samples: z.number().int().optional(),
  completed_samples: z.number().int().optional(),
  scores: z.array(z.looseObject({ name: z.string(), scorer: z.string() })).optional(),
});

/** `header.json` */
export const EvalLogHeaderSchema = z.looseObject({
  version: z.number().int().optional(),
  status: EvalStatusSchema.optional(),
  eval: EvalSpecSchema,
  plan: EvalPlanSchema.optional(),
  results: EvalResultsSchema.nullish(),
  stats: EvalStatsSchema.optional(),
  error: EvalErrorSchema.nullish(),
  invalidated: z.boolean().optional(),
  tags: z.array(z.string()).optional(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
});

export const ScoreSchema = z.looseObject({
  value: z.unknown(),
  answer: z.string().nullish(),
  explanation: z.string().nullish(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
});

/** Fields a sample and its summary share. */
const sampleFields = {
  id: sampleId,
  epoch: z.number().int(),
  input: z.unknown(),
  target: z.unknown(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  scores: z.record(z.string(), ScoreSchema).nullish(),
  model_usage: z.record(z.string(), ModelUsageSchema).optional(),
  started_at: z.string().nullish(),
  completed_at: z.string().nullish(),
  total_time: pyNumber.nullish(),
  working_time: pyNumber.nullish(),
  uuid: z.string().nullish(),
};

/** One row of `summaries.json` / `_journal/summaries/N.json`. */
export const EvalSampleSummarySchema = z.looseObject({
  ...sampleFields,
  error: z.string().nullish(),
  limit: z.string().nullish(),
  retries: z.number().int().nullish(),
  completed: z.boolean().optional(),
  message_count: z.number().int().nullish(),
});

export const EvalSampleSummariesSchema = z.array(EvalSampleSummarySchema);

/**
 * `samples/<id>_epoch_<n>.json`: the envelope only. Events, messages and the rest stay
 * unvalidated JSON (they are large, and Inspect validates them itself).
 */
export const EvalSampleSchema = z.looseObject({
  ...sampleFields,
  messages: z.array(z.unknown()).optional(),
  output: z.unknown().optional(),
  events: z.array(z.looseObject({ event: z.string() })).optional(),
  error: EvalErrorSchema.nullish(),
  error_retries: z.array(z.unknown()).nullish(),
  attachments: z.record(z.string(), z.string()).optional(),
  limit: z.looseObject({ type: z.string() }).nullish(),
});

/** `reductions.json` */
export const EvalSampleReductionsSchema = z.array(
  z.looseObject({
    scorer: z.string(),
    reducer: z.string().nullish(),
    samples: z.array(z.looseObject({ value: z.unknown() })),
  }),
);

export type LogStart = z.infer<typeof LogStartSchema>;
export type EvalSpec = z.infer<typeof EvalSpecSchema>;
export type EvalStatus = z.infer<typeof EvalStatusSchema>;
export type EvalLogHeader = z.infer<typeof EvalLogHeaderSchema>;
export type EvalSampleSummary = z.infer<typeof EvalSampleSummarySchema>;
export type EvalSample = z.infer<typeof EvalSampleSchema>;
export type EvalSampleReductions = z.infer<typeof EvalSampleReductionsSchema>;
export type ModelUsage = z.infer<typeof ModelUsageSchema>;
export type EvalError = z.infer<typeof EvalErrorSchema>;

/**
 * Checks `value` against `schema` and returns `value` itself, not zod's copy: the loose
 * schemas add nothing, and the original keeps every key in its original order.
 */
export function validate<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = issue.path.length ? ` at ${issue.path.join('.')}` : '';
    throw new JsonFormatError(`${what} does not have the shape Inspect writes${where}: ${issue.message}`);
  }
  return value as z.infer<S>;
}
