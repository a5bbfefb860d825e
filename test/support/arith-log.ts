/**
 * Inspect-shaped inputs for tests, modelled on the `arith` task of the Inspect fixtures
 * (../shared/fixtures/inspect/README.md): ids alternate int and "s-00N", one model turn,
 * a `match` scorer.
 */
import type { EvalLogHeader, EvalSample, LogStart } from '../../src/eval/schemas.js';

export interface ArithRun {
  samples: number;
  epochs: number;
  task?: string;
  created?: string;
  /** Default one for every test log: logs meant as different evals give their own (a finished log of the same eval_id and run_id is a recovered copy). */
  evalId?: string;
}

export function arithId(index: number): number | string {
  return index % 2 === 1 ? index : `s-${String(index).padStart(3, '0')}`;
}

export function arithStart({ samples, epochs, task = 'arith', created = '2026-11-22T12:00:00+00:00', evalId = 'EvalIdForTests00000000' }: ArithRun): LogStart {
  return {
    version: 2,
    eval: {
      eval_id: evalId,
      run_id: 'RunIdForTests000000000',
      created,
      task,
      task_id: 'TaskIdForTests00000000',
      task_version: 0,
      task_file: 'tasks/arith.py',
      dataset: { samples, sample_ids: Array.from({ length: samples }, (_, i) => arithId(i + 1)), shuffled: false },
      model: 'mockllm/model',
      model_generate_config: {},
      model_args: {},
      config: { epochs, log_buffer: 2 },
      packages: { inspect_ai: '0.3.261' },
      scorers: [{ name: 'match', options: {}, metrics: [{ name: 'inspect_ai/accuracy', options: {} }, { name: 'inspect_ai/stderr', options: {} }], metadata: {} }],
      a_field_from_a_future_inspect: { kept: true },
    },
    plan: { name: 'plan', steps: [{ solver: 'generate', params: {}, params_passed: {} }], config: {} },
  };
}

export function arithSample(index: number, epoch: number, options: { correct?: boolean; score?: number } = {}): EvalSample {
  const [a, b] = [index * 3, index + 7];
  const answer = String(a + b);
  const started = new Date(Date.UTC(2026, 10, 22, 12, 0, index + epoch * 30)).toISOString().replace('Z', '+00:00');
  const completed = new Date(Date.parse(started) + 1500).toISOString().replace('Z', '+00:00');
  const value = options.score ?? ((options.correct ?? true) ? 'C' : 'I');
  const input = [{ id: `in-${index}`, content: `What is ${a} + ${b}? Reply with just the number.`, role: 'user' }];
  const reply = { id: `out-${index}-${epoch}`, content: answer, source: 'generate', role: 'assistant', model: 'mockllm/model' };
  return {
    id: arithId(index),
    epoch,
    input,
    target: options.correct === false ? String(a + b + 1) : answer,
    messages: [...input, reply],
    output: { model: 'mockllm/model', choices: [{ message: reply, stop_reason: 'stop' }], completion: answer },
    scores: { match: { value, answer, explanation: answer, history: [] } },
    metadata: { index, operands: [a, b], nested: { weight: 0.5 } },
    store: {},
    events: [
      { event: 'sample_init', timestamp: started, working_start: 0, sample: { input, target: answer, id: arithId(index) }, state: {} },
      { event: 'score', timestamp: completed, working_start: 1.2, score: { value, answer }, intermediate: false },
    ],
    model_usage: {},
    role_usage: {},
    started_at: started,
    completed_at: completed,
    total_time: 1.5,
    working_time: 1.2,
    uuid: `uuid-${index}-${epoch}`.padEnd(22, '0'),
    error_retries: [],
    attachments: {},
  };
}

export function arithHeader(start: LogStart, status: EvalLogHeader['status'], accuracy: number): EvalLogHeader {
  return {
    version: 2,
    status,
    eval: start.eval,
    plan: start.plan,
    results: {
      total_samples: start.eval.dataset.samples ?? 0,
      completed_samples: start.eval.dataset.samples ?? 0,
      scores: [{ name: 'match', scorer: 'match', params: {}, metrics: { accuracy: { name: 'accuracy', value: accuracy, params: {} } } }],
    },
    stats: { started_at: start.eval.created, completed_at: '2026-11-22T12:05:00+00:00', model_usage: {}, role_usage: {} },
    invalidated: false,
    tags: [],
    metadata: {},
  };
}
