/**
 * What a log start must carry for Inspect to read the logs written from it (eval-log-format.md
 * §4.1, §4.3): the fields its reader requires, plus `eval.dataset.sample_ids`, without which
 * `read_eval_log_samples` refuses the log. A harness cannot be guessed its dataset's ids, so a
 * start without them is refused; the ids a writer makes up itself (`eval_id`, `run_id`) and the
 * dataset size the ids imply are filled in.
 */
import { randomBytes } from 'node:crypto';
import { LogStartError } from '../errors.js';
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
