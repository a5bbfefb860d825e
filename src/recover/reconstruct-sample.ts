/**
 * Rebuilds an `EvalSample` from what a sample buffer holds of it (recovery.md §4.1, §4.3),
 * with the key layout of Inspect's streaming recovery writer, and with four repairs where
 * Inspect loses data: the full input and target come from the `sample_init` event rather than
 * the truncated summary; `attachment://` references in `output` and `messages` are resolved;
 * refs that reach past a pool gap are dropped rather than resolved to the wrong messages; an
 * in-progress sample's summary carries its cancellation error.
 */
import type { BufferedSample } from '../buffer/buffered-sample.js';
import { shortUuid } from '../buffer/short-uuid.js';
import { resolveAttachmentRefs, type AttachmentLookup } from '../eval/attachments.js';
import type { EvalError, EvalSampleSummary } from '../eval/schemas.js';
import { MessageAccumulator } from './message-accumulator.js';
import { resolvedModelInput } from './pools.js';

type Json = Record<string, unknown>;

export interface ReconstructOptions {
  /** Recovered buffer samples get `events: []` (messages are still extracted from them). */
  noEvents?: boolean;
  /** `eval.sandbox`, the fallback for a sample without a `sample_init` sandbox. */
  evalSandbox?: unknown;
  /** The error a sample cut off while running ends with (default `cancelledError`: to be run again). */
  inProgressError?: EvalError;
}

export interface ReconstructedSample {
  sample: Json;
  summary: EvalSampleSummary;
  uuidSynthesized: boolean;
  /** Events whose pool refs were dropped because they reached past a pool gap. */
  droppedRefs: number;
}

export const cancelledError = {
  message: 'CancelledError()',
  traceback: 'CancelledError: recovered from crashed eval\n',
  traceback_ansi: 'CancelledError: recovered from crashed eval\n',
};

export function reconstructSample(buffered: BufferedSample, options: ReconstructOptions = {}): ReconstructedSample {
  const { summary } = buffered;
  const lookup: AttachmentLookup = (hash) => buffered.attachments.get(hash);
  const { events, droppedRefs } = buffered.soundPool ? dropRefsPastGap(buffered.events, buffered.soundPool) : { events: buffered.events, droppedRefs: 0 };

  const accumulator = new MessageAccumulator();
  let init: Json | undefined;
  let limit: Json | undefined;
  for (const event of events) {
    if (event.event === 'sample_init') init ??= (event.sample as Json | undefined) ?? {};
    if (event.event === 'sample_limit' && event.limit != null) limit = { type: event.type, limit: event.limit };
    accumulator.add(event, (model) => resolvedModelInput(model, buffered.messagePool));
  }
  const { messages, output } = accumulator.result();

  const error = buffered.completed
    ? typeof summary.error === 'string'
      ? { message: summary.error, traceback: `${summary.error}\n`, traceback_ansi: `${summary.error}\n` }
      : null
    : (options.inProgressError ?? cancelledError);
  const uuid = typeof summary.uuid === 'string' && summary.uuid ? summary.uuid : shortUuid();
  const files = init?.files && typeof init.files === 'object' ? Object.keys(init.files) : [];
  const metadata = buffered.metadata ?? (init?.metadata as Json | null | undefined) ?? (summary.metadata as Json | undefined) ?? {};
  const input = resolveAttachmentRefs(init?.input ?? summary.input, lookup, { keepDataUris: true });
  const target = resolveAttachmentRefs(init && 'target' in init ? init.target : summary.target, lookup);
  const withEvents = !options.noEvents;
  const pooled = buffered.messagePool.length > 0 || buffered.callPool.length > 0;

  const sample: Json = {
    id: summary.id,
    epoch: summary.epoch,
    choices: summary.choices ?? null,
    target,
    events: withEvents ? events : [],
    sandbox: init?.sandbox ?? options.evalSandbox ?? null,
    files: files.length ? files : null,
    setup: init?.setup ?? null,
    metadata,
    scores: summary.scores ?? null,
    store: {},
    model_usage: summary.model_usage ?? {},
    role_usage: summary.role_usage ?? {},
    model_fallbacks: summary.model_fallbacks ?? null,
    turn_count: summary.turn_count ?? null,
    token_limit: summary.token_limit ?? null,
    token_limit_type: summary.token_limit_type ?? null,
    token_limit_usage: summary.token_limit_usage ?? null,
    started_at: summary.started_at ?? null,
    completed_at: summary.completed_at ?? null,
    total_time: summary.total_time ?? null,
    working_time: summary.working_time ?? null,
    uuid,
    timelines: null,
    invalidation: null,
    error,
    error_retries: null,
    limit: limit ?? null,
    input,
    messages: resolveAttachmentRefs(messages, lookup, { keepDataUris: true }),
    output: resolveAttachmentRefs(output, lookup, { keepDataUris: true }),
    attachments: Object.fromEntries(buffered.attachments),
    events_data: withEvents && pooled ? { messages: buffered.messagePool, calls: buffered.callPool } : null,
  };

  const recoveredSummary: EvalSampleSummary = {
    ...(summary as EvalSampleSummary),
    uuid,
    completed: true,
    message_count: messages.length,
    ...(error && !buffered.completed ? { error: error.message } : {}),
    ...(limit ? { limit: limit.type as string } : {}),
  };
  return { sample, summary: recoveredSummary, uuidSynthesized: uuid !== summary.uuid, droppedRefs };
}

/** Removes pool refs that reach past the sound part of a pool; their input becomes unknown ([]). */
function dropRefsPastGap(events: Json[], sound: { messages: number; calls: number }): { events: Json[]; droppedRefs: number } {
  let droppedRefs = 0;
  const reaches = (refs: unknown, limit: number) => Array.isArray(refs) && refs.some((range) => (range as number[])[1]! > limit);
  const repaired = events.map((event) => {
    if (event.event !== 'model') return event;
    const call = event.call as Json | undefined;
    const badInput = reaches(event.input_refs, sound.messages);
    const badCall = call !== undefined && reaches(call.call_refs, sound.calls);
    if (!badInput && !badCall) return event;
    droppedRefs++;
    const copy: Json = { ...event };
    if (badInput) copy.input_refs = null;
    if (badCall) copy.call = { ...call, call_refs: null };
    return copy;
  });
  return { events: repaired, droppedRefs };
}
