/**
 * Shapes of the JSON stored in the buffer DB (sample-buffer.md §A.3–A.6). Only what readers rely on
 * is checked; every other key is kept as written. Numbers may be NaN or ±Infinity (Inspect writes
 * bare tokens) and huge integers arrive as bigint, so free-form numbers are not `z.number()`.
 */
import { z } from 'zod';

const anyNumber = z.custom<number>((value) => typeof value === 'number', 'expected a number');
const integerLike = z.union([anyNumber, z.bigint()]);
const jsonObject = z.record(z.string(), z.unknown());

/** A display metric from `task_database.metrics` (Inspect's TaskDisplayMetric). */
export const taskMetricSchema = z.looseObject({
  scorer: z.string(),
  name: z.string(),
  value: anyNumber.nullable(),
  reducer: z.string().nullish(),
  params: jsonObject.nullish(),
});
export type TaskMetric = z.infer<typeof taskMetricSchema>;
export const taskMetricsSchema = z.array(taskMetricSchema);

/** A ChatMessage as stored in summaries and in `message_pool.data`. */
export const chatMessageSchema = z.looseObject({
  role: z.string(),
  content: z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]),
  id: z.string().nullish(),
});
export type ChatMessage = z.infer<typeof chatMessageSchema>;

/**
 * `samples.data`: an EvalSampleSummary. While the sample runs it has no `started_at` /
 * `completed_at`; at completion those, scores, usage and `error` (a message string) are added.
 */
export const sampleSummarySchema = z.looseObject({
  id: z.union([z.string(), integerLike]),
  epoch: integerLike,
  uuid: z.string().nullish(),
  input: z.union([z.string(), z.array(chatMessageSchema)]),
  choices: z.array(z.string()).nullish(),
  target: z.union([z.string(), z.array(z.string())]).optional(),
  metadata: jsonObject.nullish(),
  scores: z.record(z.string(), jsonObject).nullish(),
  started_at: z.string().nullish(),
  completed_at: z.string().nullish(),
  total_time: anyNumber.nullish(),
  working_time: anyNumber.nullish(),
  error: z.string().nullish(),
  completed: z.boolean().nullish(),
});
export type SampleSummary = z.infer<typeof sampleSummarySchema>;

/**
 * `events.data`: one transcript event, still condensed (model events carry `input_refs` and
 * `call.call_refs` into the sample's pools; long strings are `attachment://<hash>` refs).
 */
export const bufferEventSchema = z.looseObject({
  event: z.string(),
  uuid: z.string().nullish(),
  span_id: z.string().nullish(),
  timestamp: z.string().nullish(),
  pending: z.boolean().nullish(),
});
export type BufferEvent = z.infer<typeof bufferEventSchema>;

/** `samples.sample_metadata`: the full sample metadata, a JSON object. */
export const sampleMetadataSchema = jsonObject;

