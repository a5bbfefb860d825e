/**
 * The header and reductions of a run the harness finishes without its own: status `success`,
 * results recomputed from the log's final rows (as recovery computes them), stats summed from
 * the same rows. What a resumed run needs, whose earlier processes ran samples this one never saw.
 */
import type { EvalLogHeader, EvalSampleSummary, LogStart } from '../eval/schemas.js';
import { headerFromTotals } from '../recover/recovered-header.js';
import { recomputeResults } from '../recover/results.js';
import { RunTotals } from '../recover/run-totals.js';

export interface FinishedRun {
  header: EvalLogHeader;
  /** Left out when the scorers use a metric or reducer this tool does not compute (their results are then left out too). */
  reductions?: AsyncIterable<Uint8Array>;
  /** Removes the score spool, once the reductions are written. */
  close(): Promise<void>;
}

export async function finishedRun(start: LogStart, rows: AsyncIterable<EvalSampleSummary>): Promise<FinishedRun> {
  const totals = await RunTotals.create(start.eval.created);
  try {
    for await (const row of rows) totals.add(row);
    const recomputed = await recomputeResults(start.eval, totals.scores, { total: totals.samples, completed: totals.samples - totals.errors });
    const results = 'unsupported' in recomputed ? undefined : recomputed;
    const header = headerFromTotals(start, totals, results?.results, { status: 'success' });
    return { header, ...(results ? { reductions: results.reductions } : {}), close: () => totals.close() };
  } catch (error) {
    await totals.close();
    throw error;
  }
}
