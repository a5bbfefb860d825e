/**
 * The finished logs of a scan by run: a crashed log's recovered copy keeps its `eval_id` and
 * `run_id`, so it is found under any name the user gave it (`run-fixed.eval`), not only as
 * `<name>-recovered.eval`. Only a copy beside the log (or where its output goes) counts: the
 * same crashed file copied into another directory is another log to recover.
 */
import { parentLocation } from './output-path.js';
import type { FinishedHeader } from './success-guard.js';

export interface RunIdentity {
  evalId?: string;
  runId?: string;
}

export class FinishedRuns {
  private readonly byRun = new Map<string, string[]>();

  add(location: string, header: FinishedHeader | undefined): void {
    const key = header && runKey(header);
    if (key !== undefined) this.byRun.set(key, [...(this.byRun.get(key) ?? []), location]);
  }

  /** A finished log of this run in `directory` (default: beside `location`), or undefined. */
  copyOf(location: string, identity: RunIdentity, directory = parentLocation(location)): string | undefined {
    const key = runKey(identity);
    return key === undefined ? undefined : this.byRun.get(key)?.find((found) => found !== location && parentLocation(found) === directory);
  }

  merge(other: FinishedRuns): this {
    for (const [key, locations] of other.byRun) this.byRun.set(key, [...(this.byRun.get(key) ?? []), ...locations]);
    return this;
  }
}

/** Both ids are needed: an `eval-retry` keeps the run id and makes a new eval id. */
function runKey({ evalId, runId }: RunIdentity): string | undefined {
  return evalId && runId ? `${evalId} ${runId}` : undefined;
}
