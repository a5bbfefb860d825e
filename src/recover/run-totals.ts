/**
 * What the recovered header needs from the samples written (recovery.md §5–§6), gathered one
 * summary at a time: counts and usage sums in memory, scores in a spool on disk.
 */
import type { EvalSampleSummary, ModelUsage } from '../eval/schemas.js';
import type { SampleId } from '../sample-ref.js';
import { ScoreSpool } from './score-spool.js';
import { addUsageMap } from './usage.js';

export class RunTotals {
  samples = 0;
  /** Samples with an error: failed, or cancelled by the crash. */
  errors = 0;
  readonly modelUsage: Record<string, ModelUsage> = {};
  readonly roleUsage: Record<string, ModelUsage> = {};
  /** The earliest of the run's creation and every sample's start (ISO strings compare as text). */
  startedAt: string;
  /** With `collectIds`: each distinct sample id, in first-seen order (int 1 and "1" apart). */
  readonly sampleIds: Map<string, SampleId> | undefined;

  private constructor(
    created: string,
    readonly scores: ScoreSpool,
    collectIds: boolean,
  ) {
    this.startedAt = created;
    this.sampleIds = collectIds ? new Map() : undefined;
  }

  /** Totals for a run created at `created`; close them to remove their spool. */
  static async create(created: string, { collectIds = false } = {}): Promise<RunTotals> {
    return new RunTotals(created, await ScoreSpool.create(), collectIds);
  }

  add(summary: EvalSampleSummary): void {
    this.samples++;
    if (summary.error) this.errors++;
    addUsageMap(this.modelUsage, summary.model_usage);
    addUsageMap(this.roleUsage, summary.role_usage as Record<string, ModelUsage> | undefined);
    if (summary.started_at && summary.started_at < this.startedAt) this.startedAt = summary.started_at;
    if (summary.scores) this.scores.append(summary.id, summary.scores);
    this.sampleIds?.set(`${typeof summary.id}:${summary.id}`, summary.id);
  }

  close(): Promise<void> {
    return this.scores.close();
  }
}
