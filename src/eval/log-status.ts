import type { Storage } from '../storage/storage.js';
import { storageFor } from '../storage/storage-for.js';
import { logKey } from '../sample-ref.js';
import { EvalLogReader } from './eval-log-reader.js';
import { readJsonEvalLog } from './json-log.js';
import type { EvalLogHeader, EvalSampleSummary, EvalStatus } from './schemas.js';

/** What `inspect-recover show` reports for one log. */
export interface EvalLogStatus {
  log: string;
  task: string;
  task_file: string | null;
  model: string;
  /** `started` means still running, or crashed. */
  status: EvalStatus;
  /** Sample entries present in the log (distinct names). */
  samples: number;
  /** Samples the run was to produce: dataset samples × epochs; null when the log does not say. */
  total_samples: number | null;
  /** Samples whose summary records an error. */
  errors: number;
  /** What a retry or a resumed run would run: the samples that errored and those the log lacks; null when the total is unknown. */
  remaining: number | null;
  created: string;
  /** ISO time of the log file's last modification. */
  last_modified: string;
  /** Finished: stats.started_at to completed_at. Unfinished: created to the last flushed sample's completion. */
  duration_seconds: number | null;
  /** The log is cut short (no end records): what it holds was read from its whole entries. */
  truncated: boolean;
}

export async function evalLogStatus(location: string, storage: Storage = storageFor(location)): Promise<EvalLogStatus> {
  const stat = await storage.stat(location);
  if (location.endsWith('.json')) {
    const { header, samples } = await readJsonEvalLog(storage, location);
    const rows = samples.map((sample) => ({ error: sample.error ? sample.error.message : null, completed_at: sample.completed_at }));
    return { ...describe(location, header, samples.length, rows, stat?.mtimeMs), truncated: false };
  }
  const reader = await EvalLogReader.open(storage.byteSource(location), { salvage: true });
  try {
    // One row per (id, epoch), the last written winning; damaged journal entries are passed
    // over, since `show` describes what can be read.
    const rows = new Map<string, Pick<EvalSampleSummary, 'error' | 'completed_at'>>();
    for await (const row of reader.summaryRows({ onDamaged: () => undefined })) rows.set(logKey(row.id, row.epoch), { error: row.error, completed_at: row.completed_at });
    return { ...describe(location, await reader.header(), reader.sampleCount(), [...rows.values()], stat?.mtimeMs), truncated: reader.truncated !== undefined };
  } finally {
    await reader.close();
  }
}

function describe(
  location: string,
  header: EvalLogHeader,
  samples: number,
  summaries: Pick<EvalSampleSummary, 'error' | 'completed_at'>[],
  mtimeMs: number | undefined,
): Omit<EvalLogStatus, 'truncated'> {
  const spec = header.eval;
  const datasetSamples = spec.dataset.samples;
  const finished = header.status !== 'started';
  const totalSamples = typeof datasetSamples === 'number' ? datasetSamples * (spec.config.epochs ?? 1) : null;
  const errors = summaries.filter((summary) => summary.error).length;
  return {
    log: location,
    task: spec.task,
    task_file: spec.task_file ?? null,
    model: spec.model,
    status: header.status ?? 'started',
    samples,
    total_samples: totalSamples,
    errors,
    remaining: totalSamples === null ? null : Math.max(0, totalSamples - samples) + errors,
    created: spec.created,
    // In the form Inspect writes its times (`+00:00`), as `created` is.
    last_modified: new Date(mtimeMs ?? Date.now()).toISOString().replace(/Z$/, '+00:00'),
    duration_seconds: finished
      ? secondsBetween(header.stats?.started_at, header.stats?.completed_at)
      : secondsBetween(spec.created, latest(summaries.map((summary) => summary.completed_at))),
  };
}

function latest(times: (string | null | undefined)[]): string | undefined {
  let best: string | undefined;
  for (const time of times) if (time && (!best || Date.parse(time) > Date.parse(best))) best = time;
  return best;
}

function secondsBetween(from: string | undefined, to: string | undefined): number | null {
  if (!from || !to) return null;
  const seconds = (Date.parse(to) - Date.parse(from)) / 1000;
  return Number.isFinite(seconds) ? Math.round(seconds * 1000) / 1000 : null;
}
