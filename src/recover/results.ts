/**
 * Recomputes a recovered log's `results` and `reductions` from the scores of the samples it
 * holds (recovery.md §6), for the metrics and epoch reducers Inspect ships that are plain
 * arithmetic. When a log names anything else, results are left out, as Inspect does when
 * recomputation fails: the log stays valid.
 */
import type { EvalSpec, EvalSampleReductions } from '../eval/schemas.js';

export interface ScoredSample {
  id: string | number | bigint;
  scores: Record<string, { value?: unknown; answer?: unknown; explanation?: unknown; metadata?: unknown }>;
}

export interface RecomputedResults {
  results: Record<string, unknown>;
  reductions: EvalSampleReductions;
}

const metricFunctions: Record<string, (values: number[]) => number> = {
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
 * Results and reductions for the given samples, or undefined (with the reason) when the log's
 * scorers use a metric or reducer this tool does not compute.
 */
export function recomputeResults(
  spec: EvalSpec,
  samples: ScoredSample[],
  totals: { total: number; completed: number },
): RecomputedResults | { unsupported: string } {
  const reducers = spec.config.epochs_reducer?.length ? spec.config.epochs_reducer : [undefined];
  for (const reducer of reducers) if (reducer !== undefined && !reducerFunctions[reducer]) return { unsupported: `reducer '${reducer}'` };

  const scoreNames = [...new Set(samples.flatMap((sample) => Object.keys(sample.scores)))];
  const scores: Record<string, unknown>[] = [];
  const reductions: EvalSampleReductions = [];
  for (const name of scoreNames) {
    const metrics = metricsFor(spec, name);
    if ('unsupported' in metrics) return metrics;
    // Inspect computes list and dict values per element or key; that is not done here.
    const structured = samples.some((sample) => typeof sample.scores[name]?.value === 'object' && sample.scores[name]?.value !== null);
    if (structured) return { unsupported: `list or dict values of score '${name}'` };
    for (const reducer of reducers) {
      const reduced = reduceBySample(samples, name, reducerFunctions[reducer ?? 'mean']!);
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
  return {
    results: { total_samples: totals.total, completed_samples: totals.completed, scores },
    reductions,
  };
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

function reduceBySample(samples: ScoredSample[], scoreName: string, reduce: (values: number[]) => number) {
  const bySample = new Map<string, { id: ScoredSample['id']; scores: ScoredSample['scores'][string][] }>();
  for (const sample of samples) {
    const score = sample.scores[scoreName];
    if (!score) continue;
    const key = `${typeof sample.id === 'string' ? 's' : 'n'}:${String(sample.id)}`;
    const entry = bySample.get(key) ?? { id: sample.id, scores: [] };
    entry.scores.push(score);
    bySample.set(key, entry);
  }
  return [...bySample.values()].map(({ id, scores }) => {
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
  });
}

function mean(values: number[]): number {
  return values.length ? values.reduce((sum, value) => sum + value, 0) / values.length : Number.NaN;
}

/** Sample variance (n - 1), as numpy's ddof=1 that Inspect's stderr and std use. */
function variance(values: number[]): number {
  const average = mean(values);
  return values.reduce((sum, value) => sum + (value - average) ** 2, 0) / (values.length - 1);
}
