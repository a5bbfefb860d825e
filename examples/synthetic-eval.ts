/**
 * A synthetic eval shaped like Inspect's `arith_fast` fixture task: per sample a sample_init,
 * spans, four model calls over a growing conversation (so pools dedupe), a tool call and a score.
 */
import type { EvalSample, LogStart } from '../src/eval/schemas.js';
import type { SampleInit } from '../src/recorder/eval-recorder.js';

/** The run's start, to the second: timestamps in the log read like a run that just happened. */
const runStartMs = Math.floor(Date.now() / 1000) * 1000;

const sampleId = (index: number) => (index % 2 === 1 ? index : `s-${String(index).padStart(5, '0')}`);

export function syntheticStart(samples: number, task = 'arith_bench'): LogStart {
  return {
    version: 2,
    eval: {
      eval_id: 'BenchEvalId00000000000',
      run_id: 'BenchRunId000000000000',
      created: new Date(runStartMs).toISOString().replace('.000Z', '+00:00'),
      task,
      task_id: `BenchTask${String(samples).padStart(13, '0')}`,
      task_version: 0,
      dataset: { samples, sample_ids: Array.from({ length: samples }, (_, i) => sampleId(i + 1)), shuffled: false },
      model: 'mockllm/model',
      model_generate_config: {},
      model_args: {},
      config: { epochs: 1 },
      packages: { inspect_ai: '0.3.261' },
      scorers: [{ name: 'match', options: {}, metrics: [{ name: 'inspect_ai/accuracy', options: {} }, { name: 'inspect_ai/stderr', options: {} }], metadata: {} }],
    },
    plan: { name: 'plan', steps: [{ solver: 'generate', params: {}, params_passed: {} }], config: {} },
  };
}

/** A transcript event: an `event` discriminator and whatever that event carries. */
type SyntheticEvent = { event: string } & Record<string, unknown>;

const time = (index: number, seconds: number) => new Date(runStartMs + index * 50 + seconds * 1000).toISOString().replace('Z', '+00:00');

export function syntheticInit(index: number, epoch = 1): SampleInit {
  const [a, b] = [index * 7, index + 11];
  return {
    id: sampleId(index),
    epoch,
    input: `What is ${a} + ${b}? Use the add tool, then reply with just the number.`,
    target: String(a + b),
    metadata: { index, operands: [a, b], kind: index % 2 ? 'odd' : 'even' },
  };
}

/** The sample's events, in order; `upTo` cuts them off as a crash would. */
export function syntheticEvents(index: number, upTo = Number.POSITIVE_INFINITY): SyntheticEvent[] {
  const init = syntheticInit(index);
  const answer = String(Number(init.target));
  const user = { id: `u${index}`, content: init.input, role: 'user', source: 'input' };
  const system = { id: `sys${index}`, content: 'You are a careful calculator. Think step by step, use the tools you are given, and reply tersely.', role: 'system' };
  const messages: Record<string, unknown>[] = [system, user];
  const events: SyntheticEvent[] = [
    { event: 'sample_init', uuid: `init-${index}`, timestamp: time(index, 0), working_start: 0, sample: { input: init.input, target: init.target, id: init.id, metadata: init.metadata }, state: {} },
    { event: 'span_begin', uuid: `span-${index}`, timestamp: time(index, 0), working_start: 0, id: `span-${index}`, name: 'solvers', type: 'solvers' },
  ];
  for (let turn = 0; turn < 4; turn++) {
    const reply =
      turn === 0
        ? { id: `a${index}-0`, content: '', role: 'assistant', source: 'generate', tool_calls: [{ id: `call-${index}`, function: 'add', arguments: { a: index * 7, b: index + 11 } }] }
        : { id: `a${index}-${turn}`, content: turn === 3 ? answer : `The sum is ${answer}.`, role: 'assistant', source: 'generate' };
    events.push({
      event: 'model',
      uuid: `model-${index}-${turn}`,
      timestamp: time(index, turn + 1),
      working_start: turn + 0.5,
      model: 'mockllm/model',
      input: [...messages],
      tools: [{ name: 'add', description: 'Add two integers and return their sum.', parameters: { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } } } }],
      tool_choice: 'auto',
      config: {},
      output: { model: 'mockllm/model', choices: [{ message: reply, stop_reason: turn === 0 ? 'tool_calls' : 'stop' }], completion: reply.content, usage: { input_tokens: 40 + turn * 20, output_tokens: 8, total_tokens: 48 + turn * 20 } },
      call: { request: { messages: [...messages], model: 'mock' }, response: { id: `r${index}-${turn}` } },
      completed: time(index, turn + 1.5),
      working_time: 0.4,
    });
    messages.push(reply);
    if (turn === 0) {
      events.push({ event: 'tool', uuid: `tool-${index}`, timestamp: time(index, 1.6), working_start: 1.6, type: 'function', id: `call-${index}`, function: 'add', arguments: { a: index * 7, b: index + 11 }, result: answer });
      messages.push({ id: `t${index}`, content: answer, role: 'tool', tool_call_id: `call-${index}`, function: 'add' });
    } else {
      messages.push({ id: `c${index}-${turn}`, content: `Please confirm (round ${turn}).`, role: 'user' });
    }
  }
  events.push({ event: 'score', uuid: `score-${index}`, timestamp: time(index, 6), working_start: 5.5, score: { value: index % 5 ? 'C' : 'I', answer }, intermediate: false });
  events.push({ event: 'span_end', uuid: `span-end-${index}`, timestamp: time(index, 6), working_start: 5.6, id: `span-${index}` });
  return events.slice(0, upTo);
}

export function syntheticSample(index: number, epoch = 1): EvalSample {
  const init = syntheticInit(index, epoch);
  const events = syntheticEvents(index);
  const last = events.filter((event) => event.event === "model").pop() as unknown as { input: unknown[]; output: { choices: { message: unknown }[] } };
  const answer = init.target as string;
  return {
    id: init.id,
    epoch,
    input: init.input,
    target: init.target,
    messages: [...last.input, last.output.choices[0]!.message],
    output: last.output,
    scores: { match: { value: index % 5 ? 'C' : 'I', answer, explanation: answer, history: [] } },
    metadata: init.metadata ?? {},
    store: {},
    events,
    model_usage: { 'mockllm/model': { input_tokens: 220, output_tokens: 32, total_tokens: 252 } },
    role_usage: {},
    started_at: time(index, 0),
    completed_at: time(index, 6),
    total_time: 6,
    working_time: 5.6,
    // 22 characters, as Inspect's shortuuids.
    uuid: epoch === 1 ? `bench${String(index).padStart(17, '0')}` : `e${epoch}${String(index).padStart(21 - String(epoch).length, '0')}`,
    error_retries: [],
    attachments: {},
  };
}
