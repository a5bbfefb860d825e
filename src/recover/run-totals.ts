/**
 * What the recovered header needs from the samples written (recovery.md §5–§6), gathered one
 * summary at a time so that nothing per sample is kept but its scores.
 */
import type { EvalSampleSummary, ModelUsage } from '../eval/schemas.js';
import type { ScoredSample } from './results.js';
import { addUsageMap } from './usage.js';

export class RunTotals {
  samples = 0;
  /** Samples with an error: failed, or cancelled by the crash. */
  errors = 0;
  readonly modelUsage: Record<string, ModelUsage> = {};
  readonly roleUsage: Record<string, ModelUsage> = {};
  readonly scored: ScoredSample[] = [];
  /** The earliest of the run's creation and every sample's start (ISO strings compare as text). */
  startedAt: string;

  constructor(created: string) {
    this.startedAt = created;
  }

  add(summary: EvalSampleSummary): void {
    this.samples++;
    if (summary.error) this.errors++;
    addUsageMap(this.modelUsage, summary.model_usage);
    addUsageMap(this.roleUsage, summary.role_usage as Record<string, ModelUsage> | undefined);
    if (summary.started_at && summary.started_at < this.startedAt) this.startedAt = summary.started_at;
    if (summary.scores) this.scored.push({ id: summary.id, scores: summary.scores });
  }
}
