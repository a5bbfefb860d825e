/**
 * The segment filestore driver: `.buffer/<log name>/` beside the log, local or on S3. Its writer
 * lives while our heartbeat is fresh (and, on the writer's own host, its pid lives). Inspect's own
 * filestore has no heartbeat: the newest time recorded inside it decides, since a copy makes
 * every file's time fresh. Within a few sync intervals it is running; older than that but within
 * `staleAfterMs`, a live run may be sitting in a long model call: 'uncertain' (recovered, buffer kept).
 */
import { hostname } from 'node:os';
import { isProcessAlive } from '../../bytes/process-alive.js';
import { BufferUnreadableError, JsonFormatError, StorageError } from '../../errors.js';
import type { Storage } from '../../storage/storage.js';
import { storageFor } from '../../storage/storage-for.js';
import { closingOnError, formatAge, type BufferDriver, type FoundBuffer, type OpenOptions, type OwnedBuffer } from '../buffer-driver.js';
import type { SampleBufferSource } from '../sample-buffer-source.js';
import { FilestoreBufferSource } from './filestore-source.js';
import { heartbeatFileName, isHeartbeatFresh, readHeartbeat } from './heartbeat.js';
import { bufferDirName, filestoreDirForLog, manifestFileName } from './layout.js';

/** Inspect's `--log-shared` default interval when the flag is given bare (true). */
const defaultSyncSeconds = 10;

export const filestoreDriver: BufferDriver = {
  kind: 'filestore',

  async locate(log, { storage }) {
    const directory = filestoreDirForLog(log);
    // A manifest that cannot even be looked at (a directory, no permission) is found, and then unreadable.
    const found = await hasManifest(storage, directory).catch((error: unknown) => {
      if (error instanceof StorageError) return true;
      throw error;
    });
    return found ? { kind: 'filestore', location: directory, storage } : undefined;
  },

  async locateNamed(named) {
    const storage = storageFor(named);
    const directory = named.replace(/\/+$/, '');
    return (await hasManifest(storage, directory)) ? { kind: 'filestore', location: directory, storage } : undefined;
  },

  async open(located, options) {
    const source = await FilestoreBufferSource.open(located.location, { storage: located.storage, warn: options.warn }).catch((error: unknown) => {
      if (error instanceof StorageError || error instanceof JsonFormatError) {
        throw new BufferUnreadableError(`its filestore ${located.location} cannot be read (${error.message})`, error);
      }
      throw error;
    });
    return closingOnError(source, () => judgeWriter(source, located.storage, options));
  },

  async enumerate(directories, { storage }) {
    const found: OwnedBuffer[] = [];
    for (const directory of directories) {
      const buffers = storage.join(directory, bufferDirName);
      for (const name of await storage.list(buffers)) {
        const location = storage.join(buffers, name);
        const files = await storage.walk(location);
        if (files.length === 0) continue;
        // `.buffer/<name>` is the buffer of `<name>.eval`: Inspect keeps a filestore for .eval logs only.
        found.push({ kind: 'filestore', location, storage, log: storage.join(directory, `${name}.eval`), bytes: files.reduce((sum, file) => sum + file.stat.size, 0) });
      }
    }
    return found;
  },

  async liveWriter(located, { staleAfterMs, now }) {
    const heartbeat = await readHeartbeat(located.storage, located.storage.join(located.location, heartbeatFileName));
    if (heartbeat) {
      const writerDead = heartbeat.host === hostname() && !isProcessAlive(heartbeat.pid);
      return !writerDead && isHeartbeatFresh(heartbeat, now) ? `its filestore heartbeat from ${heartbeat.host} pid ${heartbeat.pid} is fresh` : undefined;
    }
    if (!(await hasManifest(located.storage, located.location))) return undefined;
    const source = await FilestoreBufferSource.open(located.location, { storage: located.storage, warn: () => undefined });
    try {
      const lastActivityMs = await source.lastActivityMs();
      if (lastActivityMs === undefined || now - lastActivityMs >= staleAfterMs) return undefined;
      return `its filestore last recorded activity ${formatAge(now - lastActivityMs)} ago, within --stale-after (${formatAge(staleAfterMs)})`;
    } finally {
      await source.close();
    }
  },

  remove: (located) => located.storage.deleteTree(located.location),
};

async function hasManifest(storage: Storage, directory: string): Promise<boolean> {
  return (await storage.stat(storage.join(directory, manifestFileName))) !== undefined;
}

/** Whether the filestore's writer lives: from its heartbeat, else from the newest time recorded inside it. */
async function judgeWriter(source: SampleBufferSource, storage: Storage, { log, now, staleAfterMs }: OpenOptions): Promise<FoundBuffer> {
  const lastActivityMs = (await source.lastActivityMs()) ?? Date.parse((await log.start()).eval.created);
  const heartbeat = await readHeartbeat(storage, storage.join(source.location, heartbeatFileName));
  if (heartbeat) {
    // On the writer's own host a dead pid settles it; elsewhere only the heartbeat's age can.
    const writerDead = heartbeat.host === hostname() && !isProcessAlive(heartbeat.pid);
    if (!writerDead && isHeartbeatFresh(heartbeat, now)) {
      const age = Math.round((now - Date.parse(heartbeat.time)) / 1000);
      const reason = `its filestore heartbeat from ${heartbeat.host} pid ${heartbeat.pid} is ${age}s old`;
      return { source, verdict: 'running', reason, lastActivityMs };
    }
    return { source, verdict: 'crashed', reason: `its writer's heartbeat stopped`, lastActivityMs };
  }
  const interval = syncIntervalSeconds((await log.start()).eval.config.log_shared);
  const age = now - lastActivityMs;
  const ago = formatAge(age);
  if (age < (3 * interval + 5) * 1000) {
    return { source, verdict: 'running', reason: `its filestore recorded activity ${ago} ago (sync interval ${interval}s)`, lastActivityMs };
  }
  if (age < staleAfterMs) {
    const reason = `its filestore last recorded activity ${ago} ago, within --stale-after (${formatAge(staleAfterMs)}): the run may still be waiting on a model`;
    return { source, verdict: 'uncertain', reason, lastActivityMs };
  }
  return { source, verdict: 'crashed', reason: `its filestore last recorded activity ${ago} ago`, lastActivityMs };
}

function syncIntervalSeconds(logShared: number | boolean | null | undefined): number {
  if (typeof logShared === 'number' && logShared > 0) return logShared;
  return defaultSyncSeconds;
}
