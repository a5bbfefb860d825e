/**
 * What a log start must carry for Inspect to read the logs written from it (eval-log-format.md
 * §4.1, §4.3): the fields its reader requires, plus `eval.dataset.sample_ids`, without which
 * `read_eval_log_samples` refuses the log. A harness cannot be guessed its dataset's ids, so a
 * start without them is refused; the ids a writer makes up itself (`eval_id`, `run_id`) and the
 * dataset size the ids imply are filled in.
 */
import { randomBytes } from 'node:crypto';
import { LogStartError } from '../errors.js';
import type { SampleId } from '../sample-ref.js';
import { LogStartSchema, type LogStart } from './schemas.js';

/** A checked copy of `start` with `eval_id`, `run_id` and `dataset.samples` filled where absent. */
export function completeLogStart(start: LogStart): LogStart {
  const parsed = LogStartSchema.safeParse(start);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new LogStartError(`the log start is missing what Inspect's reader requires: ${issue.path.join('.') || '(the start itself)'}: ${issue.message}`);
  }
  const spec = start.eval;
  if (Number.isNaN(Date.parse(spec.created))) throw new LogStartError(`the log start's eval.created is not an ISO-8601 time: ${JSON.stringify(spec.created)}`);
  const ids = spec.dataset.sample_ids;
  if (ids == null) {
    throw new LogStartError("the log start has no eval.dataset.sample_ids: Inspect's read_eval_log_samples refuses a log without the dataset's sample ids");
  }
  const samples = spec.dataset.samples ?? ids.length;
  return {
    ...start,
    eval: {
      ...spec,
      eval_id: spec.eval_id || newId(),
      run_id: spec.run_id || newId(),
      dataset: { ...spec.dataset, samples },
    },
  };
}

/** 22 characters of [A-Za-z0-9], as long as Inspect's shortuuids. */
function newId(): string {
  return randomBytes(16).toString('base64url').replace(/[-_]/g, 'x').slice(0, 22);
}

/** What a TypeScript harness knows about its run; `evalLogStart` fills in the rest. */
export interface LogStartInput {
  task: string;
  /** The model, as Inspect names it (`provider/name`). */
  model: string;
  /** The dataset's sample ids, in dataset order. */
  sampleIds: SampleId[];
  dataset?: { name?: string; location?: string; shuffled?: boolean };
  /** Default 1. */
  epochs?: number;
  taskArgs?: Record<string, unknown>;
  taskVersion?: number | string;
  taskFile?: string;
  /** Each scorer with its metrics, named as Inspect names them (`accuracy`, `stderr`, or `inspect_ai/accuracy`). */
  scorers?: { name: string; metrics?: string[]; options?: Record<string, unknown> }[];
  /** The plan's steps (default none). */
  solvers?: { solver: string; params?: Record<string, unknown> }[];
  /** Further `eval.config` fields (`fail_on_error`, `log_buffer`, ...). */
  config?: Record<string, unknown>;
  modelArgs?: Record<string, unknown>;
  modelGenerateConfig?: Record<string, unknown>;
  tags?: string[];
  metadata?: Record<string, unknown>;
  /** What Inspect's viewer shows as the packages the run used (default none). */
  packages?: Record<string, string>;
  /** Made when absent: 22-character ids, and `created` now to the second. */
  evalId?: string;
  runId?: string;
  taskId?: string;
  created?: string;
}

/**
 * A log start Inspect reads, from what a harness knows: `eval_id`, `run_id`, `task_id`,
 * `created`, the dataset's size and ids, and the fields Inspect writes with defaults, in its
 * declaration order; checked as `EvalRecorder.start` checks a start.
 */
export function evalLogStart(input: LogStartInput): LogStart {
  const metric = (name: string) => ({ name: name.includes('/') ? name : `inspect_ai/${name}`, options: {} });
  return completeLogStart({
    version: 2,
    eval: {
      eval_id: input.evalId ?? newId(),
      run_id: input.runId ?? newId(),
      created: input.created ?? new Date().toISOString().replace(/\.\d{3}Z$/, '+00:00'),
      task: input.task,
      task_id: input.taskId ?? newId(),
      task_version: input.taskVersion ?? 0,
      ...(input.taskFile !== undefined ? { task_file: input.taskFile } : {}),
      task_attribs: {},
      task_args: input.taskArgs ?? {},
      task_args_passed: input.taskArgs ?? {},
      ...(input.tags ? { tags: input.tags } : {}),
      dataset: { ...input.dataset, samples: input.sampleIds.length, sample_ids: input.sampleIds, shuffled: input.dataset?.shuffled ?? false },
      model: input.model,
      model_generate_config: input.modelGenerateConfig ?? {},
      model_args: input.modelArgs ?? {},
      config: { ...input.config, epochs: input.epochs ?? 1 },
      packages: input.packages ?? {},
      metadata: input.metadata ?? {},
      scorers: (input.scorers ?? []).map((scorer) => ({ name: scorer.name, options: scorer.options ?? {}, metrics: (scorer.metrics ?? []).map(metric), metadata: {} })),
    },
    plan: { name: 'plan', steps: (input.solvers ?? []).map((step) => ({ solver: step.solver, params: step.params ?? {}, params_passed: step.params ?? {} })), config: {} },
  });
}

/** The name Inspect gives a run's log: `<created, : and + as ->_<task>_<task_id>.eval`. */
export function inspectLogFileName(start: LogStart): string {
  const created = start.eval.created.replace(/\.\d+/, '').replace(/[:+]/g, '-');
  const task = start.eval.task.replace(/[^A-Za-z0-9._-]+/g, '-');
  return `${created}_${task}_${start.eval.task_id ?? newId()}.eval`;
}
