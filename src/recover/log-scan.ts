/**
 * The logs under a directory or S3 prefix, each glanced at once: its listing stat (no request of
 * its own), and for an `.eval` whether it finished and, if so, its header, read a few logs at a
 * time with ranged reads. What listing, fleet recovery and cleaning start from, and what the
 * successful-log guard of each directory is computed from, once.
 */
import { EvalLogReader } from '../eval/eval-log-reader.js';
import { isJsonLogName } from '../eval/json-log.js';
import type { EvalLogHeader } from '../eval/schemas.js';
import type { Storage, StorageStat } from '../storage/storage.js';
import { mapConcurrently } from './concurrency.js';
import { parentLocation } from './output-path.js';
import { addIfSuccessful, headerReadConcurrency, type SuccessfulLogs } from './success-guard.js';

export interface ScannedLog {
  location: string;
  stat: StorageStat;
  format: 'eval' | 'json';
  /** An `.eval` that has its header.json; undefined for `.json` logs (read whole when described) and unreadable ones. */
  finished?: boolean;
  /** A finished `.eval`'s header, when it reads. */
  header?: EvalLogHeader;
  /** Why it could not be glanced at (not a zip, access denied...). */
  error?: unknown;
}

/** Every log under `logDir`, newest first (by its listing's mtime); `.buffer` and other dot directories left out. */
export async function scanLogs(storage: Storage, logDir: string): Promise<ScannedLog[]> {
  const files = (await storage.walk(logDir)).filter(({ relative }) => isLogPath(relative));
  files.sort((a, b) => b.stat.mtimeMs - a.stat.mtimeMs || (a.location < b.location ? -1 : 1));
  return mapConcurrently(files, headerReadConcurrency, async ({ location, stat }): Promise<ScannedLog> => {
    if (location.endsWith('.json')) return { location, stat, format: 'json' };
    try {
      return { location, stat, format: 'eval', ...(await glance(storage, location, stat)) };
    } catch (error) {
      return { location, stat, format: 'eval', error };
    }
  });
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

/** `.eval` logs (not our `-recovered` outputs) and `.json` files named as Inspect names logs, outside dot directories. */
function isLogPath(relative: string): boolean {
  const parts = relative.split('/');
  const name = parts[parts.length - 1]!;
  if (parts.some((part) => part.startsWith('.'))) return false;
  if (name.endsWith('.eval')) return !name.endsWith('-recovered.eval');
  return name.endsWith('.json') && isJsonLogName(name);
}

/** Whether it finished, from its directory alone; a log cut short (a partial copy) glances from its whole entries. */
async function glance(storage: Storage, location: string, stat: StorageStat): Promise<Pick<ScannedLog, 'finished' | 'header'>> {
  const reader = await EvalLogReader.open(storage.byteSource(location, stat), { headerOnly: true, salvage: true });
  try {
    if (!reader.finished) return { finished: false };
    const header = await reader.header().catch(() => undefined);
    return header ? { finished: true, header } : { finished: true };
  } finally {
    await reader.close();
  }
}
