/**
 * The buffer database driver: Inspect's SQLite buffer in the data dir, named
 * `<log file name>.<pid>.db`. Its writer lives while that pid lives here and holds the file open
 * (writer-liveness.ts); a copy's fresh file times never count.
 */
import { readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileSystemError } from '../../errors.js';
import { isS3Location } from '../../storage/s3-location.js';
import { LocalStorage } from '../../storage/local-storage.js';
import { closingOnError, formatAge, type BufferDriver, type LocatedBuffer, type OwnedBuffer } from '../buffer-driver.js';
import { databaseWriterState, listBufferDatabases, logDirUriCandidates } from './candidates.js';
import { bufferDatabaseDir, inspectDataDir, parseBufferDatabaseFileName } from './location.js';
import { DatabaseBufferSource } from './database-source.js';
import { bufferDatabaseFiles, removeBufferDatabase } from './remove.js';

const localStorage = new LocalStorage();

export const databaseDriver: BufferDriver = {
  kind: 'database',

  async locate(log, options) {
    const databases = await listBufferDatabases(log, { dataDir: options.dataDir });
    const live = databases.find((candidate) => candidate.alive);
    const dead = databases.find((candidate) => !candidate.alive);
    // A newer crashed DB beside an older live one is a retry that crashed after the live one stalled.
    const running = live !== undefined && (dead === undefined || live.mtimeMs >= dead.mtimeMs);
    const database = running ? live : dead;
    if (!database) return undefined;
    return {
      kind: 'database',
      location: database.path,
      storage: localStorage,
      writer: { alive: database.alive, reason: database.reason, ...(database.unproven ? { unproven: true } : {}) },
      ...(database.relocated ? { relocatedFrom: dirname(database.path) } : {}),
    };
  },

  async locateNamed(named) {
    if (isS3Location(named) || !(await isRegularFile(named))) return undefined;
    return { kind: 'database', location: named, storage: localStorage, writer: databaseWriterState(named) ?? { alive: false, reason: 'named with --buffer' } };
  },

  async open(located: LocatedBuffer, options) {
    const source = await DatabaseBufferSource.open(located.location, options.warn);
    const writer = located.writer ?? databaseWriterState(located.location) ?? { alive: false, reason: 'its file name carries no pid' };
    return closingOnError(source, async () => {
      const lastActivityMs = await source.lastActivityMs();
      // A pid alone does not hold a run live past --stale-after: recovered, its buffer kept.
      const idleMs = lastActivityMs === undefined ? undefined : options.now - lastActivityMs;
      const stale = writer.alive && writer.unproven === true && idleMs !== undefined && idleMs >= options.staleAfterMs;
      return {
        source,
        verdict: !writer.alive ? 'crashed' : stale ? 'uncertain' : 'running',
        reason: `its buffer database ${located.location}: ${writer.reason}${stale ? `, but it last recorded activity ${formatAge(idleMs!)} ago, past --stale-after (${formatAge(options.staleAfterMs)})` : ''}`,
        lastActivityMs,
        ...(located.relocatedFrom !== undefined ? { relocatedFrom: located.relocatedFrom } : {}),
      };
    });
  },

  async enumerate(directories, options) {
    const found: OwnedBuffer[] = [];
    const seen = new Set<string>();
    for (const directory of directories) {
      // The hashes Inspect may have used for this directory (as given, and its real path).
      for (const uri of await logDirUriCandidates(joinLocation(directory, 'log'))) {
        const databaseDir = bufferDatabaseDir(uri, options.dataDir ?? inspectDataDir());
        if (seen.has(databaseDir)) continue;
        seen.add(databaseDir);
        for (const name of await readdir(databaseDir).catch(() => [] as string[])) {
          const parsed = parseBufferDatabaseFileName(name);
          if (!parsed) continue;
          const path = join(databaseDir, name);
          const bytes = await bufferDatabaseFiles(path).reduce(async (sum, file) => (await sum) + ((await stat(file).catch(() => undefined))?.size ?? 0), Promise.resolve(0));
          found.push({ kind: 'database', location: path, storage: localStorage, log: joinLocation(directory, parsed.logFileName), bytes });
        }
      }
    }
    return found;
  },

  async liveWriter(located) {
    const writer = databaseWriterState(located.location);
    return writer?.alive ? writer.reason : undefined;
  },

  remove: (located) => removeBufferDatabase(located.location),
};

/** A name inside a local directory or an S3 prefix. */
function joinLocation(directory: string, name: string): string {
  return isS3Location(directory) ? `${directory.replace(/\/+$/, '')}/${name}` : join(directory, name);
}

async function isRegularFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw fileSystemError(error, path, 'stat');
  }
}
