/**
 * Both crashed Inspect fixtures laid out as a real log dir, as their READMEs describe: one
 * `.eval` with its buffer database under a private data dir, one with its `.buffer/` filestore.
 * Buffer files are dated an hour back, so nothing looks like a live run.
 */
import { cp, mkdir, mkdtemp, readdir, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logDirHash } from '../../src/buffer/database/location.js';
import { deadPid } from '../buffer/database/buffer-database-helpers.js';
import { inspectFixture } from './shared-fixtures.js';

export const databaseLogName = '2026-11-22T13-41-49-00-00_arith_2iJZ4N7bW5JUPwpxW3MyVc.eval';
export const filestoreLogName = '2026-11-22T13-41-38-00-00_arith_Uot4jnS8UzLQ6p656KMACS.eval';
export const largeLogName = '2026-11-22T13-42-00-00-00_arith-fast_2VAgAbhyGnugayT9nhQ37M.eval';

export interface CrashedLayout {
  root: string;
  logsDir: string;
  /** Inspect's data dir (`$XDG_DATA_HOME/inspect_ai`). */
  dataDir: string;
  xdgDataHome: string;
  databaseLog: string;
  filestoreLog: string;
  databaseDir: string;
}

export async function layOutCrashedFixtures(root?: string): Promise<CrashedLayout> {
  root ??= await mkdtemp(join(tmpdir(), 'crashed-layout-'));
  const logsDir = join(root, 'logs');
  const xdgDataHome = join(root, 'data');
  const dataDir = join(xdgDataHome, 'inspect_ai');
  const databaseDir = join(dataDir, 'samplebuffer', logDirHash(`file://${logsDir}`));
  await mkdir(databaseDir, { recursive: true });
  await cp(inspectFixture('crashed-database', databaseLogName), join(logsDir, databaseLogName));
  await cp(inspectFixture('crashed-filestore', filestoreLogName), join(logsDir, filestoreLogName));
  await cp(inspectFixture('crashed-filestore', '.buffer'), join(logsDir, '.buffer'), { recursive: true });
  const pid = deadPid(7203);
  const fixtureDb = inspectFixture('crashed-database', 'samplebuffer', 'dc8f26889265c147b969161459c851855241a71813f953c6a4ef4f8840535e8a');
  for (const name of await readdir(fixtureDb)) {
    await cp(join(fixtureDb, name), join(databaseDir, name.replace('.7203.db', `.${pid}.db`)));
  }
  await ageTree(logsDir);
  await ageTree(databaseDir);
  return { root, logsDir, dataDir, xdgDataHome, databaseLog: join(logsDir, databaseLogName), filestoreLog: join(logsDir, filestoreLogName), databaseDir };
}

/** The `large/` fixture (2,000 samples, filestore) laid out under `root/logs`. */
export async function layOutLargeFixture(root: string): Promise<string> {
  const logsDir = join(root, 'logs');
  await mkdir(logsDir, { recursive: true });
  await cp(inspectFixture('large', largeLogName), join(logsDir, largeLogName));
  await cp(inspectFixture('large', '.buffer'), join(logsDir, '.buffer'), { recursive: true });
  await ageTree(logsDir);
  return join(logsDir, largeLogName);
}

/** Dates every file under `directory` an hour back (copies are fresh, and fresh looks live). */
export async function ageTree(directory: string): Promise<void> {
  const then = new Date(Date.now() - 3600_000);
  for (const entry of await readdir(directory, { withFileTypes: true, recursive: true })) {
    await utimes(join(entry.parentPath, entry.name), then, then);
  }
}
