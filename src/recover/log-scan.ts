/**
 * The logs under a directory or S3 prefix, each glanced at once: its listing stat (no request of
 * its own), and for an `.eval` whether it finished and, if so, its header, read a few logs at a
 * time with ranged reads. What listing, fleet recovery and cleaning start from, and what the
 * successful-log guard of each directory is computed from, once.
 */
import { EvalLogReader } from '../eval/eval-log-reader.js';
import { isJsonLogName } from '../eval/json-log.js';
import type { Storage, StorageStat, StoredFile } from '../storage/storage.js';
import { mapConcurrently } from './concurrency.js';
import { parentLocation } from './output-path.js';
import { FinishedRuns } from './finished-runs.js';
import { HeaderIndex } from './header-index.js';
import { isInsideCheckpoints } from './checkpoints.js';
import { addIfSuccessful, guardedFields, headerReadConcurrency, type FinishedHeader, type SuccessfulLogs } from './success-guard.js';

export interface ScannedLog {
  location: string;
  stat: StorageStat;
  format: 'eval' | 'json';
  /** An `.eval` that has its header.json; undefined for `.json` logs (read whole when described) and unreadable ones. */
  finished?: boolean;
  /** What the scan keeps of a finished `.eval`'s header (its status and task), when it reads. */
  header?: FinishedHeader;
  /** An unfinished `.eval`'s run, from its start, when it reads: which attempt of its task it is. */
  started?: AttemptIdentity;
  /** Why it could not be glanced at (not a zip, access denied...). */
  error?: unknown;
}

export interface ScanOptions {
  /** Never write anything (a dry run): the S3 header index is read but not written back. */
  readOnly?: boolean;
  /** The log dir's `walk`, when the caller has it already (so a prefix is listed once). */
  walked?: readonly StoredFile[];
}

/**
 * Every log under `logDir`, newest first (by its listing's mtime); `.buffer` and other dot
 * directories left out. On S3, finished logs unchanged since a scan before come from the header
 * index (header-index.ts) without a request of their own.
 */
export interface LogScan {
  /** The logs, newest first; recovered copies named `-recovered.eval` are not among them. */
  logs: ScannedLog[];
  /** Our `-recovered.eval` outputs, as scanned. */
  copies: ScannedLog[];
  /** Every finished log by run, recovered copies included: where a crashed log's copy is, whatever its name. */
  runs: FinishedRuns;
}

export async function scanLogs(storage: Storage, logDir: string, options: ScanOptions = {}): Promise<LogScan> {
  const files = (options.walked ?? (await storage.walk(logDir))).filter(({ relative }) => logPathKind(relative) !== undefined);
  files.sort((a, b) => b.stat.mtimeMs - a.stat.mtimeMs || (a.location < b.location ? -1 : 1));
  const index = storage.kind === 's3' ? await HeaderIndex.open(storage, logDir) : undefined;
  const scanned = await mapConcurrently(files, headerReadConcurrency, async ({ location, relative, stat }): Promise<ScannedLog> => {
    if (location.endsWith('.json')) return { location, stat, format: 'json' };
    const indexed = index?.lookup(relative, stat);
    if (indexed) return { location, stat, format: 'eval', finished: true, header: indexed };
    try {
      const glanced = await glance(storage, location, stat);
      if (glanced.header) index?.record(relative, stat, glanced.header);
      return { location, stat, format: 'eval', ...glanced };
    } catch (error) {
      return { location, stat, format: 'eval', error };
    }
  });
  if (index) {
    index.keepOnly(new Set(files.map((file) => file.relative)));
    if (!options.readOnly) await index.save();
  }
  const runs = new FinishedRuns();
  for (const log of scanned) if (log.finished) runs.add(log.location, log.header);
  const isCopy = (log: ScannedLog) => log.location.endsWith('-recovered.eval');
  return { logs: scanned.filter((log) => !isCopy(log)), copies: scanned.filter(isCopy), runs };
}

/** The successful logs of each directory the scan covered, by task_id: the guard for logs recovered into it. */
export function successfulLogsByDirectory(scanned: readonly ScannedLog[]): Map<string, SuccessfulLogs> {
  const byDirectory = new Map<string, Map<string, string[]>>();
  for (const log of scanned) {
    if (!log.header) continue;
    const directory = parentLocation(log.location);
    const successful = byDirectory.get(directory) ?? new Map<string, string[]>();
    addIfSuccessful(successful, log.location, log.header);
    byDirectory.set(directory, successful);
  }
  return byDirectory;
}

/**
 * `log`: an `.eval` log, or a `.json` file named as Inspect names logs; `copy`: our `-recovered`
 * output (read for its run, never offered as a log); outside dot directories.
 */
function logPathKind(relative: string): 'log' | 'copy' | undefined {
  const parts = relative.split('/');
  const name = parts[parts.length - 1]!;
  if (parts.some((part) => part.startsWith('.')) || isInsideCheckpoints(relative)) return undefined;
  if (name.endsWith('.eval')) return name.endsWith('-recovered.eval') ? 'copy' : 'log';
  return name.endsWith('.json') && isJsonLogName(name) ? 'log' : undefined;
}

/** Which run, and which attempt of a task, a log is: its recovered copy's identity (finished-runs.ts) and what eval_set's newest-attempt rule compares (superseded.ts). */
export interface AttemptIdentity {
  taskId?: string;
  evalId?: string;
  runId?: string;
  created?: string;
}

/** A scanned log's attempt identity: from its header when it finished, else from its start. */
export function attemptOf(log: ScannedLog): AttemptIdentity | undefined {
  return log.header ?? log.started;
}

/**
 * Whether it finished, from its directory alone, and its header or (unfinished) its start; a log
 * cut short (a partial copy) glances from its whole entries.
 */
async function glance(storage: Storage, location: string, stat: StorageStat): Promise<Pick<ScannedLog, 'finished' | 'header' | 'started'>> {
  const reader = await EvalLogReader.open(storage.byteSource(location, stat), { headerOnly: true, salvage: true });
  try {
    if (!reader.finished) {
      const spec = (await reader.start().catch(() => undefined))?.eval;
      return spec ? { finished: false, started: { taskId: spec.task_id, evalId: spec.eval_id, runId: spec.run_id, created: spec.created } } : { finished: false };
    }
    const header = guardedFields(await reader.header().catch(() => undefined));
    return header ? { finished: true, header } : { finished: true };
  } finally {
    await reader.close();
  }
}
