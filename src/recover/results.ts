/**
 * Recomputes a recovered log's `results` and `reductions` from the scores of the samples it
 * holds (recovery.md §6), for the metrics and epoch reducers Inspect ships that are plain
 * arithmetic. When a log names anything else, results are left out, as Inspect does when
 * recomputation fails: the log stays valid.
 *
 * The scores are read back from their spool one sample at a time: metrics need only one reduced
 * value per sample (8 bytes), and `reductions.json` is streamed, never held whole.
 */
import { stringifyPythonJson } from '../json/python-json.js';
import type { EvalSpec } from '../eval/schemas.js';
import type { SampleScores, ScoreSpool } from './score-spool.js';

export interface RecomputedResults {
  results: Record<string, unknown>;
  /** `reductions.json`, streamed from the spool: read it before the spool is closed. */
  reductions: AsyncIterable<Uint8Array>;
}

/** Reductions text is handed on in pieces of about this many characters. */
const reductionsChunk = 1024 * 1024;

const metricFunctions: Record<string, (values: Float64Array) => number> = {
  accuracy: mean,
  mean,
  stderr: (values) => (values.length < 2 ? 0 : Math.sqrt(variance(values) / values.length)),
  std: (values) => (values.length < 2 ? 0 : Math.sqrt(variance(values))),
  var: (values) => (values.length < 2 ? 0 : variance(values)),
};

const reducerFunctions: Record<string, (values: number[]) => number> = {
  mean,
  median: (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  },
  mode: (values) => {
    const counts = new Map<number, number>();
    for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
    return [...counts].reduce((best, entry) => (entry[1] > best[1] ? entry : best))[0];
  },
  max: (values) => Math.max(...values),
  min: (values) => Math.min(...values),
};

/** Python's `float()` syntax for a string (whitespace, sign, digits with `_`, fraction, exponent). */
const pythonFloatSyntax = /^\s*[+-]?(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?\s*$/;

/**
 * Inspect's `value_to_float()`: numbers and booleans cast (NaN stays NaN: unscored); the exact
 * grades `C` 1, `P` 0.5, `I`/`N` 0; `yes`/`true` 1 and `no`/`false` 0 in any case; strings that
 * parse as a finite float; anything else (other strings, lists, dicts) 0, as Inspect does after
 * warning "Unable to convert value to float".
 */
export function scoreValueToFloat(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value === 'C') return 1;
  if (value === 'P') return 0.5;
  if (value === 'I' || value === 'N') return 0;
  if (typeof value === 'string') {
    const text = value.toLowerCase();
    if (text === 'yes' || text === 'true') return 1;
    if (text === 'no' || text === 'false') return 0;
    if (pythonFloatSyntax.test(text)) {
      const number = Number(text.replaceAll('_', '').trim());
      if (Number.isFinite(number)) return number;
    }
  }
  return 0;
}

/**
 * Results and reductions for the spooled scores, or the reason there are none: the log's scorers
 * use a metric or reducer this tool does not compute.
 */
export async function recomputeResults(
  spec: EvalSpec,
  spool: ScoreSpool,
  totals: { total: number; completed: number },
): Promise<RecomputedResults | { unsupported: string }> {
  const reducers = spec.config.epochs_reducer?.length ? spec.config.epochs_reducer : [undefined];
  for (const reducer of reducers) if (reducer !== undefined && !reducerFunctions[reducer]) return { unsupported: `reducer '${reducer}'` };

  const metricsByName: [string, string[]][] = [];
  for (const name of spool.scoreNames) {
    const metrics = metricsFor(spec, name);
    if ('unsupported' in metrics) return metrics;
    // Inspect computes list and dict values per element or key; that is not done here.
    if (spool.hasListOrDictValue(name)) return { unsupported: `list or dict values of score '${name}'` };
    metricsByName.push([name, metrics]);
  }
  const scores: Record<string, unknown>[] = [];
  const reductions: Reduction[] = [];
  // One reduced value per sample, reused for every score and reducer.
  const values = new Float64Array(spool.size);
  for (const [name, metrics] of metricsByName) {
    for (const reducer of reducers) {
      const reduction = { scorer: name, ...(reducer ? { reducer } : {}) };
      reductions.push(reduction);
      let reduced = 0;
      let scored = 0;
      for await (const batch of reducedSamples(spool, reduction)) {
        for (const sample of batch) {
          reduced++;
          if (!Number.isNaN(sample.value)) values[scored++] = sample.value;
        }
      }
      const scoredValues = values.subarray(0, scored);
      scores.push({
        name,
        scorer: name,
        ...(reducer ? { reducer } : {}),
        scored_samples: scored,
        unscored_samples: reduced - scored,
        params: {},
        metrics: Object.fromEntries(metrics.map((metric) => [metric, { name: metric, value: metricFunctions[metric]!(scoredValues), params: {} }])),
      });
    }
  }
  return {
    results: { total_samples: totals.total, completed_samples: totals.completed, scores },
    reductions: reductionsJson(spool, reductions),
  };
}

/** One `reductions.json` entry, but its samples. */
interface Reduction {
  scorer: string;
  reducer?: string;
}

/** Unqualified metric names for a score: its scorer's metrics, else the task's. */
function metricsFor(spec: EvalSpec, scoreName: string): string[] | { unsupported: string } {
  const scorer = spec.scorers?.find((candidate) => candidate.name === scoreName);
  const definitions = scorer ? scorer.metrics : spec.metrics;
  if (definitions === undefined || definitions === null) return [];
  if (!Array.isArray(definitions)) return { unsupported: `metrics of '${scoreName}' given per score key` };
  const names: string[] = [];
  for (const definition of definitions) {
    const registryName = (definition as { name?: unknown })?.name;
    const name = typeof registryName === 'string' ? registryName.replace(/^inspect_ai\//, '') : undefined;
    const options = (definition as { options?: Record<string, unknown> }).options;
    if (!name || !metricFunctions[name] || (options && Object.keys(options).length > 0)) {
      return { unsupported: `metric '${String(registryName)}'` };
    }
    names.push(name);
  }
  return names;
}

/** `reductions.json` as the JSON array `stringifyPythonJson` would write, a piece at a time. */
async function* reductionsJson(spool: ScoreSpool, reductions: Reduction[]): AsyncGenerator<Uint8Array> {
  let text = '[';
  for (const [index, reduction] of reductions.entries()) {
    text += `${index ? ',' : ''}${stringifyPythonJson(reduction).slice(0, -1)},"samples":[`;
    let first = true;
    for await (const batch of reducedSamples(spool, reduction)) {
      // One stringify per batch, its brackets dropped: the samples join the open array.
      text += `${first ? '' : ','}${stringifyPythonJson(batch).slice(1, -1)}`;
      first = false;
      if (text.length >= reductionsChunk) {
        yield Buffer.from(text);
        text = '';
      }
    }
    text += ']}';
  }
  yield Buffer.from(`${text}]`);
}

/** Reduced samples, a batch at a time (never empty). */
async function* reducedSamples(spool: ScoreSpool, { scorer, reducer }: Reduction) {
  const reduce = reducerFunctions[reducer ?? 'mean']!;
  for await (const batch of spool.bySample(scorer)) yield batch.map((sample) => reducedSample(sample, reduce));
}

function reducedSample({ id, scores }: SampleScores, reduce: (values: number[]) => number) {
  // Inspect's reducers skip unscored (NaN) epochs; a sample with none scored reduces to NaN.
  const values = scores.map((score) => scoreValueToFloat(score.value)).filter((value) => !Number.isNaN(value));
  const first = scores[0]!;
  // Answer and explanation are kept only when every epoch agrees (Inspect's `_reduced_score`).
  const shared = (field: 'answer' | 'explanation') => (scores.every((score) => score[field] === first[field]) ? first[field] : undefined);
  const [answer, explanation] = [shared('answer'), shared('explanation')];
  return {
    value: values.length === 0 ? Number.NaN : reduce(values),
    ...(answer != null ? { answer } : {}),
    ...(explanation != null ? { explanation } : {}),
    ...(first.metadata != null ? { metadata: first.metadata } : {}),
    history: [],
    sample_id: id,
  };
}

/** Sums left to right from 0, then divides by n. */
function mean(values: ArrayLike<number>): number {
  if (values.length === 0) return Number.NaN;
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return sum / values.length;
}

/** Sample variance (n - 1), as numpy's ddof=1 that Inspect's stderr and std use: two passes. */
function variance(values: ArrayLike<number>): number {
  const average = mean(values);
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += (values[i]! - average) ** 2;
  return sum / (values.length - 1);
}
