import type { EvalSampleSummary } from '../../src/eval/schemas.js';

/** A buffered sample's start summary as it reads once the sample completes (NaN score included). */
export function completedFrom(start: EvalSampleSummary): EvalSampleSummary {
  const { completed: _running, ...rest } = start;
  return {
    ...rest,
    scores: { match: { value: Number.NaN, answer: '33', explanation: '33', history: [] } },
    started_at: '2026-11-22T13:41:54.804332+00:00',
    completed_at: '2026-11-22T13:41:56.932022+00:00',
    total_time: 2.128,
    working_time: 2.12,
    retries: 0,
    completed: true,
    message_count: 5,
  };
}
