/**
 * The buffer database driver: Inspect's SQLite buffer in the data dir, named
 * `<log file name>.<pid>.db`. Its writer lives while that pid lives here and holds the file open
 * (writer-liveness.ts); a copy's fresh file times never count.
 */
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileSystemError } from '../../errors.js';
import { isS3Location } from '../../storage/s3-location.js';
import { LocalStorage } from '../../storage/local-storage.js';
import { closingOnError, type BufferDriver, type LocatedBuffer } from '../buffer-driver.js';
import { databaseWriterState, listBufferDatabases } from './candidates.js';
import { DatabaseBufferSource } from './database-source.js';

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
      writer: { alive: database.alive, reason: database.reason },
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
    return closingOnError(source, async () => ({
      source,
      verdict: writer.alive ? 'running' : 'crashed',
      reason: `its buffer database ${located.location}: ${writer.reason}`,
      lastActivityMs: await source.lastActivityMs(),
      ...(located.relocatedFrom !== undefined ? { relocatedFrom: located.relocatedFrom } : {}),
    }));
  },
};

async function isRegularFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw fileSystemError(error, path, 'stat');
  }
}
