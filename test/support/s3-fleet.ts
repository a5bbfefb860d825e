/**
 * An S3 prefix laid out as a fleet of runs, the way `aws s3 sync` leaves one: copies of one
 * crashed run recorded by our recorder (its log, and its `.buffer/` filestore), under names of
 * their own, and copies of a finished log written by Inspect itself.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Storage } from '../../src/storage/storage.js';
import type { RecordedCrash } from './recorded-crash.js';
import { inspectFixture } from './shared-fixtures.js';

export const finishedLogFixture = inspectFixture('completed', '2026-11-22T13-41-33-00-00_arith_dHiqepvQpxKq7cnWKRdU3X.eval');

/** `<prefix>/<time>_sweep_<tag>.eval`. */
export function fleetLogName(tag: string): string {
  return `2026-11-22T12-00-00-00-00_sweep_${tag}.eval`;
}

/** The crashed run uploaded as `tag`: its log, and its filestore unless `filestore` is false. */
export async function uploadCrashedCopy(storage: Storage, crash: RecordedCrash, prefix: string, tag: string, { filestore = true } = {}): Promise<string> {
  const log = `${prefix}/${fleetLogName(tag)}`;
  await storage.write(log, await readFile(crash.log));
  if (filestore) {
    const recorded = crash.log.slice(crash.log.lastIndexOf('/') + 1).replace(/\.eval$/, '');
    const local = join(crash.log, '..', '.buffer', recorded);
    for (const name of await readdir(local)) {
      await storage.write(`${prefix}/.buffer/${fleetLogName(tag).replace(/\.eval$/, '')}/${name}`, await readFile(join(local, name)));
    }
  }
  return log;
}

/** `count` copies of Inspect's finished fixture log, uploaded 25 at a time. */
export async function uploadFinishedLogs(storage: Storage, prefix: string, count: number): Promise<void> {
  const bytes = await readFile(finishedLogFixture);
  for (let start = 0; start < count; start += 25) {
    await Promise.all(
      Array.from({ length: Math.min(25, count - start) }, (_, index) =>
        storage.write(`${prefix}/2026-11-22T13-41-33-00-00_arith_finished${String(start + index).padStart(5, '0')}.eval`, bytes),
      ),
    );
  }
}
