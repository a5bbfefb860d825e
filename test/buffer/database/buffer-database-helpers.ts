/** Inputs for the buffer-database tests: the Inspect schema, hand-built DBs, the fixture re-homed. */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { openSqlite, type SqliteDatabase } from '../../../src/buffer/database/sqlite.js';
import { isProcessAlive } from '../../../src/bytes/process-alive.js';
import { inspectFixture } from '../../support/shared-fixtures.js';
import { makeTempDir } from '../../support/temp-dir.js';

/** SampleBufferDatabase.SCHEMA as of the fixture's Inspect (sample-buffer.md §A.3). */
export const currentSchemaSql = `
  CREATE TABLE task_database (version INTEGER PRIMARY KEY DEFAULT 1, metrics TEXT DEFAULT '[]', last_updated DATETIME DEFAULT CURRENT_TIMESTAMP);
  CREATE TABLE samples (id TEXT, epoch INTEGER, data TEXT, sample_metadata TEXT, sample_metadata_hash TEXT, PRIMARY KEY (id, epoch));
  CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT, sample_id TEXT, sample_epoch INTEGER, data TEXT);
  CREATE TABLE attachments (id INTEGER PRIMARY KEY AUTOINCREMENT, sample_id TEXT, sample_epoch INTEGER, hash TEXT, content TEXT, UNIQUE(sample_id, sample_epoch, hash));
  CREATE TABLE message_pool (id INTEGER PRIMARY KEY AUTOINCREMENT, sample_id TEXT, sample_epoch INTEGER, msg_id TEXT, data TEXT, UNIQUE(sample_id, sample_epoch, msg_id));
  CREATE TABLE call_pool (id INTEGER PRIMARY KEY AUTOINCREMENT, sample_id TEXT, sample_epoch INTEGER, hash TEXT, data TEXT, UNIQUE(sample_id, sample_epoch, hash));
  CREATE INDEX idx_events_sample_uuid ON events(sample_id, sample_epoch, event_id, id);
  CREATE INDEX idx_events_sample ON events(sample_id, sample_epoch);
  CREATE INDEX idx_attachments_hash ON attachments(hash);
  INSERT INTO task_database (version) VALUES (1);`;

/** The schema before 2026-04-14: no pools, no sample metadata columns. */
export const legacySchemaSql = `
  CREATE TABLE task_database (version INTEGER PRIMARY KEY DEFAULT 1, metrics TEXT DEFAULT '[]', last_updated DATETIME DEFAULT CURRENT_TIMESTAMP);
  CREATE TABLE samples (id TEXT, epoch INTEGER, data TEXT, PRIMARY KEY (id, epoch));
  CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT, sample_id TEXT, sample_epoch INTEGER, data TEXT);
  CREATE TABLE attachments (id INTEGER PRIMARY KEY AUTOINCREMENT, sample_id TEXT, sample_epoch INTEGER, hash TEXT UNIQUE, content TEXT);
  INSERT INTO task_database (version) VALUES (1);`;

/** Creates a DB with the given schema; `populate` runs on the open connection, which is then closed. */
export function buildDatabase(path: string, schemaSql: string, populate: (db: SqliteDatabase) => void): void {
  const db = openSqlite(path);
  try {
    db.exec(schemaSql);
    populate(db);
  } finally {
    db.close();
  }
}

export function insertSample(db: SqliteDatabase, id: string, epoch: number, data: string, metadata?: { json: string; hash: string }): void {
  if (metadata) {
    db.prepare('INSERT INTO samples (id, epoch, data, sample_metadata, sample_metadata_hash) VALUES (?, ?, ?, ?, ?)').run(id, epoch, data, metadata.json, metadata.hash);
  } else {
    db.prepare('INSERT INTO samples (id, epoch, data) VALUES (?, ?, ?)').run(id, epoch, data);
  }
}

export function insertEvent(db: SqliteDatabase, sampleId: string, epoch: number, eventId: string | null, data: string): void {
  db.prepare('INSERT INTO events (event_id, sample_id, sample_epoch, data) VALUES (?, ?, ?, ?)').run(eventId, sampleId, epoch, data);
}


export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Content hash and mtime of each file, to show that reading left them untouched. */
export async function fingerprint(paths: readonly string[]): Promise<Array<{ path: string; sha256: string; mtimeMs: number; size: number }>> {
  return Promise.all(
    paths.map(async (path) => {
      const [bytes, stats] = await Promise.all([readFile(path), stat(path)]);
      return { path, sha256: createHash('sha256').update(bytes).digest('hex'), mtimeMs: stats.mtimeMs, size: stats.size };
    }),
  );
}

export const fixtureLogFileName = '2026-11-22T13-41-49-00-00_arith_2iJZ4N7bW5JUPwpxW3MyVc.eval';
export const fixturePid = 7203;
export const fixtureDir = (...parts: string[]) => inspectFixture('crashed-database', ...parts);
export const fixtureDatabaseDir = () => fixtureDir('samplebuffer', 'dc8f26889265c147b969161459c851855241a71813f953c6a4ef4f8840535e8a');
export const fixtureDatabasePath = () => join(fixtureDatabaseDir(), `${fixtureLogFileName}.${fixturePid}.db`);
export const fixtureDatabaseFiles = () => ['', '-wal', '-shm'].map((suffix) => fixtureDatabasePath() + suffix);
export const checkpointedDatabasePath = () => fixtureDir('checkpointed', `${fixtureLogFileName}.${fixturePid}.db`);

export interface RehomedFixture {
  root: string;
  /** `<root>/data`: what XDG_DATA_HOME points at. */
  xdgDataHome: string;
  dataDir: string;
  logFile: string;
  databaseDir: string;
  databasePath: string;
  pid: number;
}

/** A pid with no process behind it now, starting from `from`. */
export function deadPid(from: number): number {
  let pid = from;
  while (isProcessAlive(pid)) pid++;
  return pid;
}

/**
 * The fixture's original layout under a temp root (fixture README): `<root>/logs/<log>.eval` and
 * `<root>/data/inspect_ai/samplebuffer/<sha256("file://<root>/logs")>/<log>.<pid>.db` (+ -wal, -shm),
 * renamed to a dead pid if 7203 is alive here.
 */
export async function rehomeFixture(): Promise<RehomedFixture> {
  const root = await makeTempDir('inspect-recover-fixture-');
  const logsDir = join(root, 'logs');
  const xdgDataHome = join(root, 'data');
  const dataDir = join(xdgDataHome, 'inspect_ai');
  const databaseDir = join(dataDir, 'samplebuffer', sha256Hex(`file://${logsDir}`));
  await mkdir(logsDir, { recursive: true });
  await mkdir(databaseDir, { recursive: true });
  const logFile = join(logsDir, fixtureLogFileName);
  await copyFile(fixtureDir(fixtureLogFileName), logFile);
  const pid = deadPid(fixturePid);
  const databasePath = join(databaseDir, `${fixtureLogFileName}.${pid}.db`);
  for (const source of fixtureDatabaseFiles()) {
    await copyFile(source, databasePath + basename(source).slice(basename(fixtureDatabasePath()).length));
  }
  return { root, xdgDataHome, dataDir, logFile, databaseDir, databasePath, pid };
}

/**
 * What a SIGKILL leaves: a WAL-mode DB whose latest rows live only in `-wal`. The files are copied
 * to `crashedPath` while the writing connection is still open (so nothing is checkpointed).
 */
export async function buildCrashedWalDatabase(
  workDir: string,
  crashedPath: string,
  populate: (db: SqliteDatabase) => void,
): Promise<void> {
  const livePath = join(workDir, `live-${basename(crashedPath)}`);
  const db = openSqlite(livePath);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.exec(currentSchemaSql);
    db.pragma('wal_checkpoint(TRUNCATE)');
    populate(db);
    for (const suffix of ['', '-wal', '-shm']) await copyFile(livePath + suffix, crashedPath + suffix);
  } finally {
    db.close();
  }
}
