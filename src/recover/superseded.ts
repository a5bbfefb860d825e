/**
 * eval_set's retries (Inspect's `_eval/evalset.py`): each attempt of a task writes a new log in
 * the same directory, and the older `started` ones stay, for post-mortem debugging. Inspect
 * groups a directory's logs by `eval.task_id` and acts on the newest; so does a sweep. An
 * unfinished log is superseded when a log of another run of its task, in its directory, was
 * created later: by the time each run recorded (`eval.created`), never a file's mtime, which a
 * copy resets. A recovered copy is the same run as its log, so it supersedes nothing.
 */
import { attemptOf, type ScannedLog } from './log-scan.js';
import { parentLocation } from './output-path.js';

/** Each superseded unfinished log, with the newest log of its task that supersedes it. */
export function supersededLogs(logs: readonly ScannedLog[]): Map<string, string> {
  /** The attempts that can be placed (a task id and a creation time), by log. */
  const placed = new Map<ScannedLog, { group: string; created: string; runId?: string }>();
  for (const log of logs) {
    const attempt = attemptOf(log);
    if (attempt?.taskId && attempt.created) placed.set(log, { group: `${parentLocation(log.location)}\u0000${attempt.taskId}`, created: attempt.created, runId: attempt.runId });
  }
  const newest = new Map<string, { location: string; created: string; runId?: string }>();
  for (const [log, attempt] of placed) {
    const best = newest.get(attempt.group);
    if (!best || isLater(attempt.created, best.created)) newest.set(attempt.group, { location: log.location, created: attempt.created, runId: attempt.runId });
  }
  const superseded = new Map<string, string>();
  for (const [log, attempt] of placed) {
    const best = newest.get(attempt.group)!;
    if (log.finished === false && best.location !== log.location && best.runId !== attempt.runId && isLater(best.created, attempt.created)) {
      superseded.set(log.location, best.location);
    }
  }
  return superseded;
}

/** ISO times with offsets compare as instants; one that does not parse is never later. */
function isLater(candidate: string, than: string): boolean {
  const [a, b] = [Date.parse(candidate), Date.parse(than)];
  return Number.isFinite(a) && (!Number.isFinite(b) || a > b);
}

/** The line said of a superseded log, in `--list`, `--all` and `--clean`. */
export function supersededReason(newer: string): string {
  return `superseded by ${newer} (a newer attempt of its task, as eval_set retries it)`;
}
