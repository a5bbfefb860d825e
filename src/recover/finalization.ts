/**
 * Finishing a run instead of retrying it (Inspect's `incomplete_action="error"`): samples still
 * running at the crash are ended as terminated by the operator, and when every sample the run was
 * to produce is in the log, the log is written `success`, so `eval-retry` and `eval_set` stop
 * running hung samples again. Which samples a run was to produce is known by identity (the
 * start's `eval.dataset.sample_ids` × its epochs), never by a count.
 */
import type { LogStart } from '../eval/schemas.js';
import { logIdKey, type SampleId } from '../sample-ref.js';

/** What becomes of samples still running at the crash: cancelled, to be run again (`retry`), or final errors (`error`). */
export type IncompleteAction = 'retry' | 'error';

/** The error a sample still running at the crash ends with under `incompleteAction: 'error'`. */
export const operatorTerminationError = {
  message: 'terminated by operator during recovery',
  traceback: 'terminated by operator during recovery: the sample was still running when its eval crashed\n',
  traceback_ansi: 'terminated by operator during recovery: the sample was still running when its eval crashed\n',
};

export function isIncompleteAction(value: unknown): value is IncompleteAction {
  return value === 'retry' || value === 'error';
}

/** A valid `--incomplete-max`: a whole number of samples, or a proportion between 0 and 1. */
export function isIncompleteMax(value: number): boolean {
  return Number.isFinite(value) && value > 0 && (value < 1 || Number.isInteger(value));
}

/** `--incomplete-max`: a count, or below 1 a proportion of the samples the run was to produce. */
export function incompleteLimit(max: number, expected: number): number {
  return max < 1 ? Math.floor(max * expected) : max;
}

/** How many examples a reason names. */
const shownExamples = 3;
/** The most (id, epoch) pairs checked off (a byte each): a start that expects more is damaged or crafted. */
const maxExpectedSamples = 20_000_000;

/**
 * The (id, epoch) pairs a run was to produce, checked off as samples are written: one byte per
 * pair and one map entry per id (the start holds the ids already), whatever the log's size.
 */
export class ExpectedSamples {
  private readonly seen: Uint8Array;
  private unexpected = 0;
  private readonly unexpectedExamples: string[] = [];

  private constructor(
    private readonly ids: readonly SampleId[],
    private readonly indexOf: Map<string, number>,
    private readonly epochs: number,
  ) {
    this.seen = new Uint8Array(ids.length * epochs);
  }

  /** The samples a run's start expects, or why they cannot be checked off (no ids recorded, or absurdly many). */
  static of(start: LogStart): { expected: ExpectedSamples } | { reason: string } {
    const ids = start.eval.dataset.sample_ids as SampleId[] | null | undefined;
    if (!Array.isArray(ids)) return { reason: 'its start records no sample ids (eval.dataset.sample_ids), so whether every sample is there cannot be told' };
    const epochs = Math.max(1, start.eval.config.epochs ?? 1);
    const slots = ids.length * epochs;
    if (!Number.isSafeInteger(slots) || slots > maxExpectedSamples) {
      return { reason: `its start expects ${ids.length} sample ids × ${epochs} epochs, more than the ${maxExpectedSamples} samples that can be checked off` };
    }
    return { expected: new ExpectedSamples(ids, new Map(ids.map((id, index) => [logIdKey(id), index])), epochs) };
  }

  add(id: SampleId, epoch: number): void {
    const index = this.indexOf.get(logIdKey(id));
    if (index !== undefined && Number.isInteger(epoch) && epoch >= 1 && epoch <= this.epochs) {
      this.seen[index * this.epochs + epoch - 1] = 1;
      return;
    }
    this.unexpected++;
    if (this.unexpectedExamples.length < shownExamples) this.unexpectedExamples.push(describe(id, epoch));
  }

  /** Why the written samples are not exactly the expected ones, or undefined when they are. */
  shortfall(): string | undefined {
    let missing = 0;
    const examples: string[] = [];
    this.seen.forEach((seen, slot) => {
      if (seen) return;
      missing++;
      if (examples.length < shownExamples) examples.push(describe(this.ids[Math.floor(slot / this.epochs)]!, (slot % this.epochs) + 1));
    });
    if (missing > 0) return `${missing} samples missing (${listed(examples, missing)})`;
    if (this.unexpected > 0) return `${this.unexpected} samples whose id or epoch the run did not expect (${listed(this.unexpectedExamples, this.unexpected)})`;
    return undefined;
  }
}

/** A sample for a reason: a crafted id can be a megabyte long. */
function describe(id: SampleId, epoch: number): string {
  const text = typeof id === 'string' ? JSON.stringify(id) : String(id);
  return `id=${text.length > 40 ? `${text.slice(0, 37)}...` : text} epoch=${epoch}`;
}

function listed(examples: string[], count: number): string {
  return count > examples.length ? `${examples.join(', ')}, …` : examples.join(', ');
}
