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

/** Inspect's `value_to_float`: letter grades, yes/no, booleans, numeric strings. */
export function scoreValueToFloat(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string') {
    const text = value.trim().toLowerCase();
    if (text === 'c' || text === 'yes' || text === 'true') return 1;
    if (text === 'p') return 0.5;
    if (text === 'i' || text === 'n' || text === 'no' || text === 'false') return 0;
    const number = Number(text);
    if (text !== '' && !Number.isNaN(number)) return number;
  }
  return Number.NaN;
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
    const values = scores.map((score) => scoreValueToFloat(score.value));
    const first = scores[0]!;
    return {
      value: values.some(Number.isNaN) ? Number.NaN : reduce(values),
      ...(first.answer != null ? { answer: first.answer } : {}),
      ...(first.explanation != null ? { explanation: first.explanation } : {}),
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
