/** Results recomputation (recovery.md §6), ModelUsage sums and the recovered header (§5). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EvalSampleReductions, EvalSampleSummary, EvalSpec, LogStart } from '../../src/eval/schemas.js';
import { parsePythonJson, stringifyPythonJson } from '../../src/json/python-json.js';
import { recoveredError, recoveredHeader } from '../../src/recover/recovered-header.js';
import { RunTotals } from '../../src/recover/run-totals.js';
import { recomputeResults, scoreValueToFloat } from '../../src/recover/results.js';
import { ScoreSpool, type SampleScore, type ScoreSpoolOptions } from '../../src/recover/score-spool.js';
import type { SampleId } from '../../src/sample-ref.js';
import { addModelUsage, addUsageMap } from '../../src/recover/usage.js';
import { arithStart } from '../support/arith-log.js';

type Metrics = Record<string, { name: string; value: number; params: unknown }>;
interface Score {
  name: string;
  scorer: string;
  reducer?: string;
  scored_samples: number;
  unscored_samples: number;
  metrics: Metrics;
}

const metric = (name: string, options: Record<string, unknown> = {}) => ({ name, options });

function spec(scorers: EvalSpec['scorers'], config: Partial<EvalSpec['config']> = {}, extra: Partial<EvalSpec> = {}): EvalSpec {
  const start = arithStart({ samples: 10, epochs: 1 });
  return { ...start.eval, scorers, config: { ...start.eval.config, ...config }, ...extra };
}

const matchScorer = (metrics: unknown[] = [metric('inspect_ai/accuracy'), metric('inspect_ai/stderr')]) => [{ name: 'match', options: {}, metrics }];

interface ScoredSample {
  id: SampleId;
  scores: Record<string, SampleScore>;
}

const scored = (id: string | number, value: unknown, name = 'match'): ScoredSample => ({ id, scores: { [name]: { value, answer: String(value) } } });

/**
 * `recomputeResults` over a spool of these samples, with `reductions.json` read back; the
 * streamed text must be exactly what `stringifyPythonJson` writes for the same array.
 */
async function recompute(spec: EvalSpec, samples: ScoredSample[], totals: { total: number; completed: number }, options?: ScoreSpoolOptions) {
  const spool = await ScoreSpool.create(options);
  try {
    for (const sample of samples) spool.append(sample.id, sample.scores);
    const result = await recomputeResults(spec, spool, totals);
    if ('unsupported' in result) return result;
    const json = await text(result.reductions);
    const reductions = parsePythonJson(json) as EvalSampleReductions;
    assert.equal(json, stringifyPythonJson(reductions));
    return { results: result.results, reductions, json };
  } finally {
    await spool.close();
  }
}

async function text(chunks: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts).toString('utf8');
}

function scoresOf(result: Awaited<ReturnType<typeof recompute>>): Score[] {
  assert.ok(!('unsupported' in result), `unsupported: ${'unsupported' in result ? result.unsupported : ''}`);
  return result.results.scores as Score[];
}

const close = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 1e-12, `${actual} ≉ ${expected}`);

describe('scoreValueToFloat', () => {
  it("converts as Inspect's value_to_float: letter grades, yes/no, booleans, numeric strings, numbers", () => {
    const cases: [unknown, number][] = [
      ['C', 1], ['P', 0.5], ['I', 0], ['N', 0], ['yes', 1], ['Yes', 1], ['true', 1], ['TRUE', 1], ['no', 0], ['No', 0], ['false', 0],
      ['0.25', 0.25], ['3', 3], ['-5', -5], ['1e3', 1000], [' 2.5 ', 2.5], ['1_000', 1000], ['.5', 0.5], ['7.', 7],
      [0.75, 0.75], [2, 2], [true, 1], [false, 0], [5n, 5],
    ];
    for (const [value, expected] of cases) assert.equal(scoreValueToFloat(value), expected, String(value));
  });

  it('a numeric NaN stays NaN (unscored); anything else it cannot read is 0, as in Inspect (not unscored)', () => {
    assert.ok(Number.isNaN(scoreValueToFloat(Number.NaN)));
    for (const value of ['maybe', '', 'c', 'p', 'nan', 'inf', 'Infinity', '1e999', '0x10', '1.2.3', null, undefined, { a: 1 }, [1]]) {
      assert.equal(scoreValueToFloat(value), 0, JSON.stringify(value));
    }
  });
});

describe('recomputeResults', async () => {
  it('accuracy and stderr from letter grades (the fixture run: 5 of 6 correct → 0.8333, 0.1667)', async () => {
    const samples = [scored(1, 'C'), scored('s-002', 'C'), scored(3, 'C'), scored('s-004', 'C'), scored(5, 'I'), scored('s-008', 'C')];
    const result = await recompute(spec(matchScorer()), samples, { total: 10, completed: 6 });
    assert.ok(!('unsupported' in result));
    assert.equal(result.results.total_samples, 10);
    assert.equal(result.results.completed_samples, 6);
    const [score] = scoresOf(result);
    assert.equal(score!.name, 'match');
    assert.equal(score!.scorer, 'match');
    assert.equal(score!.reducer, undefined, 'the implicit mean reducer is not named');
    assert.equal(score!.scored_samples, 6);
    assert.equal(score!.unscored_samples, 0);
    assert.deepEqual(Object.keys(score!.metrics), ['accuracy', 'stderr']);
    assert.equal(score!.metrics.accuracy!.name, 'accuracy');
    close(score!.metrics.accuracy!.value, 5 / 6);
    close(score!.metrics.stderr!.value, 1 / 6);
    assert.deepEqual(result.reductions.map((reduction) => [reduction.scorer, reduction.reducer, reduction.samples.length]), [['match', undefined, 6]]);
    assert.deepEqual(result.reductions[0]!.samples[0], { value: 1, answer: 'C', history: [], sample_id: 1 });
  });

  it('mean and std (sample standard deviation) from numbers; one sample → stderr/std 0', async () => {
    const scorers = matchScorer([metric('inspect_ai/mean'), metric('inspect_ai/std'), metric('inspect_ai/stderr')]);
    const [score] = scoresOf(await recompute(spec(scorers), [1, 2, 3, 4].map((value, i) => scored(i, value)), { total: 4, completed: 4 }));
    close(score!.metrics.mean!.value, 2.5);
    close(score!.metrics.std!.value, Math.sqrt(5 / 3));
    close(score!.metrics.stderr!.value, Math.sqrt(5 / 3) / 2);
    const [single] = scoresOf(await recompute(spec(scorers), [scored(1, 0.5)], { total: 1, completed: 1 }));
    assert.equal(single!.metrics.std!.value, 0);
    assert.equal(single!.metrics.stderr!.value, 0);
  });

  it('NaN values are excluded from the metrics and counted as unscored; an unreadable string counts as 0', async () => {
    const samples = [scored(1, 'C'), scored(2, 'I'), scored(3, Number.NaN), scored(4, 'unconvertible'), scored(5, Number.NaN)];
    const result = await recompute(spec(matchScorer()), samples, { total: 5, completed: 5 });
    const [score] = scoresOf(result);
    assert.equal(score!.scored_samples, 3);
    assert.equal(score!.unscored_samples, 2);
    close(score!.metrics.accuracy!.value, 1 / 3);
    assert.ok(!('unsupported' in result));
    assert.ok(Number.isNaN(result.reductions[0]!.samples[2]!.value as number));
  });

  it('epochs: an unscored (NaN) epoch is skipped by the reducer; a sample with no scored epoch is unscored', async () => {
    const samples = [scored(1, 'C'), scored(1, Number.NaN), scored(2, 'I'), scored(2, 'C'), scored(3, Number.NaN), scored(3, Number.NaN)];
    const result = await recompute(spec(matchScorer(), { epochs: 2 }), samples, { total: 6, completed: 6 });
    const [score] = scoresOf(result);
    assert.ok(!('unsupported' in result));
    assert.deepEqual(result.reductions[0]!.samples.map((sample) => sample.value), [1, 0.5, Number.NaN]);
    assert.equal(score!.scored_samples, 2);
    assert.equal(score!.unscored_samples, 1);
    close(score!.metrics.accuracy!.value, 0.75);
  });

  it('reduced answer and explanation are kept only when every epoch agrees', async () => {
    const score = (value: string, answer: string) => ({ value, answer, explanation: 'same' });
    const samples: ScoredSample[] = [
      { id: 1, scores: { match: score('C', '11') } },
      { id: 1, scores: { match: score('I', '12') } },
      { id: 2, scores: { match: score('C', '7') } },
      { id: 2, scores: { match: score('C', '7') } },
    ];
    const result = await recompute(spec(matchScorer()), samples, { total: 4, completed: 4 });
    assert.ok(!('unsupported' in result));
    const [one, two] = result.reductions[0]!.samples;
    assert.deepEqual([one!.answer, one!.explanation], [undefined, 'same']);
    assert.deepEqual([two!.answer, two!.explanation], ['7', 'same']);
  });

  it('list or dict score values: unsupported (Inspect computes those per element or key)', async () => {
    const result = await recompute(spec(matchScorer()), [scored(1, { correctness: 1, style: 0.5 })], { total: 1, completed: 1 });
    assert.deepEqual(result, { unsupported: "list or dict values of score 'match'" });
    assert.ok('unsupported' in await recompute(spec(matchScorer()), [scored(1, [1, 0])], { total: 1, completed: 1 }));
  });

  it('epochs are reduced per sample id with the mean by default (int 1 and string "1" stay apart)', async () => {
    const samples = [scored(1, 'C'), scored(1, 'I'), scored('s-2', 'C'), scored('s-2', 'C'), scored('1', 'I'), scored('1', 'I')];
    const result = await recompute(spec(matchScorer(), { epochs: 2 }), samples, { total: 6, completed: 6 });
    const [score] = scoresOf(result);
    assert.equal(score!.scored_samples, 3);
    close(score!.metrics.accuracy!.value, (0.5 + 1 + 0) / 3);
    assert.ok(!('unsupported' in result));
    assert.deepEqual(result.reductions[0]!.samples.map((sample) => [sample.sample_id, sample.value]), [[1, 0.5], ['s-2', 1], ['1', 0]]);
  });

  it('epochs_reducer median and max: one score (and one reductions entry) per reducer, named', async () => {
    const samples = [scored(1, 0), scored(1, 1), scored(1, 5), scored(2, 2), scored(2, 4), scored(2, 9)];
    const scorers = matchScorer([metric('inspect_ai/mean')]);
    const result = await recompute(spec(scorers, { epochs: 3, epochs_reducer: ['median', 'max'] }), samples, { total: 6, completed: 6 });
    const scores = scoresOf(result);
    assert.deepEqual(scores.map((score) => [score.reducer, score.metrics.mean!.value]), [['median', (1 + 4) / 2], ['max', (5 + 9) / 2]]);
    assert.ok(!('unsupported' in result));
    assert.deepEqual(result.reductions.map((reduction) => reduction.reducer), ['median', 'max']);
    // median of an even count, min and mode
    const even = await recompute(spec(scorers, { epochs_reducer: ['median', 'min', 'mode'] }), [scored(1, 1), scored(1, 2), scored(1, 2), scored(1, 10)], { total: 4, completed: 4 });
    assert.deepEqual(scoresOf(even).map((score) => score.metrics.mean!.value), [2, 1, 2]);
  });

  it('task-level metrics apply to scores whose name matches no scorer', async () => {
    const withTaskMetrics = spec([], {}, { metrics: [metric('inspect_ai/mean')] } as Partial<EvalSpec>);
    const [score] = scoresOf(await recompute(withTaskMetrics, [scored(1, 0.5, 'judge'), scored(2, 1, 'judge')], { total: 2, completed: 2 }));
    assert.equal(score!.name, 'judge');
    close(score!.metrics.mean!.value, 0.75);
  });

  it('a metric or reducer it does not compute: unsupported, named', async () => {
    const custom = await recompute(spec(matchScorer([metric('inspect_ai/accuracy'), metric('tasks/my_metric')])), [scored(1, 'C')], { total: 1, completed: 1 });
    assert.deepEqual(custom, { unsupported: "metric 'tasks/my_metric'" });
    const withOptions = await recompute(spec(matchScorer([metric('inspect_ai/stderr', { cluster: 'group' })])), [scored(1, 'C')], { total: 1, completed: 1 });
    assert.ok('unsupported' in withOptions);
    const reducer = await recompute(spec(matchScorer(), { epochs_reducer: ['pass_at_2'] }), [scored(1, 'C')], { total: 1, completed: 1 });
    assert.deepEqual(reducer, { unsupported: "reducer 'pass_at_2'" });
    const perKey = await recompute(spec([{ name: 'match', options: {}, metrics: { '*': [metric('inspect_ai/mean')] } }]), [scored(1, 1)], { total: 1, completed: 1 });
    assert.ok('unsupported' in perKey);
  });

  it('gives, bit for bit, what the in-memory computation gave (random runs, colliding hashes too)', async () => {
    const metrics = ['accuracy', 'mean', 'stderr', 'std', 'var'];
    const scorers = ['match', 'judge'].map((name) => ({ name, options: {}, metrics: metrics.map((name) => metric(`inspect_ai/${name}`)) }));
    for (const [seed, reducers] of [[1, [undefined]], [2, ['mean', 'max']], [3, [undefined]]] as const) {
      const samples = randomSamples(seed, 300);
      const expected = inMemoryResults(samples, metrics, [...reducers]);
      for (const hash of [undefined, () => 42, (key: string) => key.length % 3]) {
        const result = await recompute(spec(scorers, { epochs_reducer: reducers[0] ? [...reducers] : null }), samples, { total: 300, completed: 300 }, { hash });
        assert.ok(!('unsupported' in result));
        assert.equal(stringifyPythonJson(result.results.scores), stringifyPythonJson(expected.scores));
        assert.equal(result.json, stringifyPythonJson(expected.reductions));
      }
    }
  });

  it('no scores at all: results with totals and no scores', async () => {
    const result = await recompute(spec(matchScorer()), [], { total: 3, completed: 0 });
    assert.deepEqual(result, { results: { total_samples: 3, completed_samples: 0, scores: [] }, reductions: [], json: '[]' });
  });
});

/**
 * The in-memory computation the spool replaced (every score held in arrays), kept as the
 * reference: the spooled results and reductions must be the same text, bit for bit.
 */
function inMemoryResults(samples: ScoredSample[], metrics: string[], reducers: (string | undefined)[]) {
  const mean = (values: number[]) => (values.length ? values.reduce((sum, value) => sum + value, 0) / values.length : Number.NaN);
  const variance = (values: number[]) => {
    const average = mean(values);
    return values.reduce((sum, value) => sum + (value - average) ** 2, 0) / (values.length - 1);
  };
  const metricFunctions: Record<string, (values: number[]) => number> = {
    accuracy: mean,
    mean,
    stderr: (values) => (values.length < 2 ? 0 : Math.sqrt(variance(values) / values.length)),
    std: (values) => (values.length < 2 ? 0 : Math.sqrt(variance(values))),
    var: (values) => (values.length < 2 ? 0 : variance(values)),
  };
  const reducerFunctions: Record<string, (values: number[]) => number> = { mean, max: (values) => Math.max(...values) };
  const scores: unknown[] = [];
  const reductions: unknown[] = [];
  for (const name of new Set(samples.flatMap((sample) => Object.keys(sample.scores)))) {
    for (const reducer of reducers) {
      const bySample = new Map<string, { id: SampleId; scores: SampleScore[] }>();
      for (const sample of samples) {
        const score = sample.scores[name];
        if (!score) continue;
        const key = `${typeof sample.id === 'string' ? 's' : 'n'}:${String(sample.id)}`;
        const entry = bySample.get(key) ?? { id: sample.id, scores: [] };
        entry.scores.push(score);
        bySample.set(key, entry);
      }
      const reduced = [...bySample.values()].map(({ id, scores: epochs }) => {
        const values = epochs.map((score) => scoreValueToFloat(score.value)).filter((value) => !Number.isNaN(value));
        const first = epochs[0]!;
        const shared = (field: 'answer' | 'explanation') => (epochs.every((score) => score[field] === first[field]) ? first[field] : undefined);
        const [answer, explanation] = [shared('answer'), shared('explanation')];
        return {
          value: values.length === 0 ? Number.NaN : reducerFunctions[reducer ?? 'mean']!(values),
          ...(answer != null ? { answer } : {}),
          ...(explanation != null ? { explanation } : {}),
          ...(first.metadata != null ? { metadata: first.metadata } : {}),
          history: [],
          sample_id: id,
        };
      });
      reductions.push({ scorer: name, ...(reducer ? { reducer } : {}), samples: reduced });
      const values = reduced.map((score) => score.value).filter((value) => !Number.isNaN(value));
      scores.push({
        name,
        scorer: name,
        ...(reducer ? { reducer } : {}),
        scored_samples: values.length,
        unscored_samples: reduced.length - values.length,
        params: {},
        metrics: Object.fromEntries(metrics.map((metric) => [metric, { name: metric, value: metricFunctions[metric]!(values), params: {} }])),
      });
    }
  }
  return { scores, reductions };
}

/** Random samples: mixed id types ("1" beside 1), repeats, NaN and ±Infinity, agreeing and differing text. */
function randomSamples(seed: number, count: number): ScoredSample[] {
  let state = seed;
  const random = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(choices: T[]): T => choices[Math.floor(random() * choices.length)]!;
  const values = ['C', 'I', 'P', 'yes', '0.25', 'junk', 0.1, 0.7, 1e-17, 3, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, true];
  const score = (): SampleScore => ({
    value: pick(values),
    ...(random() < 0.8 ? { answer: pick(['a', 'b', '']) } : {}),
    ...(random() < 0.5 ? { explanation: pick(['same', 'other']) } : {}),
    ...(random() < 0.3 ? { metadata: { n: Math.floor(random() * 3) } } : {}),
  });
  return Array.from({ length: count }, () => {
    const n = Math.floor(random() * count * 0.6);
    const scores: Record<string, SampleScore> = {};
    if (random() < 0.9) scores.match = score();
    if (random() < 0.5) scores.judge = score();
    return { id: pick([n, String(n), `s-${n}`]), scores };
  });
}

describe('ModelUsage sums', () => {
  const full = {
    input_tokens: 10,
    output_tokens: 5,
    total_tokens: 15,
    input_tokens_cache_write: 3,
    input_tokens_cache_read: 2,
    reasoning_tokens: 7,
    total_cost: 0.125,
  };

  it('every field adds, optional ones included (cost 0.125 × 2 = 0.25)', () => {
    assert.deepEqual(addModelUsage(full, full), {
      input_tokens: 20,
      output_tokens: 10,
      total_tokens: 30,
      input_tokens_cache_write: 6,
      input_tokens_cache_read: 4,
      reasoning_tokens: 14,
      total_cost: 0.25,
    });
  });

  it('an optional field present on one side only is kept', () => {
    const plain = { input_tokens: 1, output_tokens: 1, total_tokens: 2 };
    assert.equal(addModelUsage(plain, { ...plain, total_cost: 0.5 }).total_cost, 0.5);
    assert.equal(addModelUsage({ ...plain, reasoning_tokens: 4 }, plain).reasoning_tokens, 4);
    assert.equal('total_cost' in addModelUsage(plain, plain), false);
  });

  it('usage maps add per model, leaving the inputs unchanged', () => {
    const total = {};
    const a = { 'mockllm/model': { ...full } };
    addUsageMap(total, a);
    addUsageMap(total, { 'mockllm/model': full, 'other/model': { input_tokens: 1, output_tokens: 2, total_tokens: 3 } });
    addUsageMap(total, undefined);
    assert.deepEqual(Object.keys(total), ['mockllm/model', 'other/model']);
    assert.equal((total as Record<string, typeof full>)['mockllm/model']!.total_cost, 0.25);
    assert.deepEqual(a['mockllm/model'], full);
  });
});

describe('recoveredHeader', () => {
  const start: LogStart = arithStart({ samples: 2, epochs: 1, created: '2026-11-22T12:00:05+00:00' });
  const usage = { input_tokens: 10, output_tokens: 5, total_tokens: 15, total_cost: 0.125 };
  const summary = (id: number, startedAt: string | undefined): EvalSampleSummary => ({
    id,
    epoch: 1,
    input: 'x',
    target: 'y',
    model_usage: { 'mockllm/model': usage },
    role_usage: { grader: usage },
    ...(startedAt ? { started_at: startedAt } : {}),
  });

  const totalsOf = async (summaries: EvalSampleSummary[]) => {
    const totals = await RunTotals.create(start.eval.created);
    for (const row of summaries) totals.add(row);
    await totals.close();
    return totals;
  };

  it('status error with the recovery error, stats from the samples, eval and plan unchanged', async () => {
    const results = { total_samples: 2, completed_samples: 2, scores: [] };
    const header = recoveredHeader(start, await totalsOf([summary(1, '2026-11-22T12:00:01+00:00'), summary(2, undefined)]), results, [{ model_config: {} }]);
    assert.equal(header.version, 2);
    assert.equal(header.status, 'error');
    assert.deepEqual(header.error, recoveredError);
    assert.deepEqual(header.error, {
      message: 'Eval recovered from crash',
      traceback: 'Eval process crashed; log recovered from sample buffer database.\n',
      traceback_ansi: 'Eval process crashed; log recovered from sample buffer database.\n',
    });
    assert.deepEqual(header.eval, start.eval);
    assert.deepEqual(header.plan, start.plan);
    assert.deepEqual(header.results, results);
    assert.equal(header.stats!.started_at, '2026-11-22T12:00:01+00:00', 'the earliest of eval.created and the samples');
    assert.match(header.stats!.completed_at!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
    assert.deepEqual(header.stats!.model_usage, { 'mockllm/model': { input_tokens: 20, output_tokens: 10, total_tokens: 30, total_cost: 0.25 } });
    assert.deepEqual(header.stats!.role_usage, { grader: { input_tokens: 20, output_tokens: 10, total_tokens: 30, total_cost: 0.25 } });
    assert.deepEqual((header.stats as Record<string, unknown>).connection_limit_history, []);
    assert.equal(header.invalidated, false);
    assert.deepEqual((header as Record<string, unknown>).config_updates, [{ model_config: {} }]);
  });

  it('no samples and no results: started_at is eval.created; no results and no config_updates keys', async () => {
    const header = recoveredHeader(start, await totalsOf([]), undefined, []);
    assert.equal(header.stats!.started_at, '2026-11-22T12:00:05+00:00');
    assert.equal('results' in header, false);
    assert.equal('config_updates' in header, false);
    assert.deepEqual(header.stats!.model_usage, {});
  });
});
