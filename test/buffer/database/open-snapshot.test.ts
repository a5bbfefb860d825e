import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NotFoundError, StorageError, BufferDatabaseError } from '../../../src/errors.js';
import { openBufferDatabaseSnapshot } from '../../../src/buffer/database/open-snapshot.js';
import {
  buildCrashedWalDatabase,
  buildDatabase,
  currentSchemaSql,
  fingerprint,
  insertEvent,
  insertSample,
  legacySchemaSql,
} from './buffer-database-helpers.js';
import { makeTempDir, removeTempDir } from '../../support/temp-dir.js';

const summary = (id: string) => JSON.stringify({ id, epoch: 1, input: 'hi', target: 'x', completed: false });

describe('openBufferDatabaseSnapshot', () => {
  let root: string;

  before(async () => {
    root = await makeTempDir('inspect-recover-snapshot-');
  });

  after(async () => {
    await removeTempDir(root);
  });

  it('replays a hot WAL from a private copy, leaving the read-only originals untouched', async () => {
    const crashed = join(root, 'crashed', 'run.eval.7.db');
    await mkdir(dirname(crashed), { recursive: true });
    await buildCrashedWalDatabase(root, crashed, (db) => {
      insertSample(db, '1', 1, summary('1'));
      insertEvent(db, '1', 1, 'e1', '{"event": "info"}');
    });
    const files = [crashed, `${crashed}-wal`, `${crashed}-shm`];
    for (const file of files) await chmod(file, 0o444);
    const before = await fingerprint(files);

    const snapshot = await openBufferDatabaseSnapshot(crashed);
    try {
      assert.equal(snapshot.sourcePath, crashed);
      assert.notEqual(dirname(snapshot.database.name), dirname(crashed));
      assert.equal(snapshot.database.prepare('SELECT COUNT(*) FROM events').pluck().get(), 1);
    } finally {
      snapshot.close();
    }
    assert.deepEqual(await fingerprint(files), before);
  });

  it('opens the copy query-only with a small page cache, and deletes it on close (twice is fine)', async () => {
    const path = join(root, 'plain.db');
    buildDatabase(path, currentSchemaSql, () => {});
    const snapshot = await openBufferDatabaseSnapshot(path);
    const copyDir = dirname(snapshot.database.name);
    assert.ok(existsSync(copyDir));
    assert.throws(() => snapshot.database.exec('DELETE FROM samples'), /readonly|query_only|attempt to write/i);
    assert.equal(snapshot.database.pragma('cache_size'), -2000, "a 2 MB page cache, not better-sqlite3's 16 MB");
    snapshot.close();
    snapshot.close();
    assert.equal(existsSync(copyDir), false);
  });

  it('reports the layout: current schema has pools and metadata columns, a legacy one has not', async () => {
    const current = join(root, 'current.db');
    const legacy = join(root, 'legacy.db');
    buildDatabase(current, currentSchemaSql, () => {});
    buildDatabase(legacy, legacySchemaSql, () => {});
    const a = await openBufferDatabaseSnapshot(current);
    const b = await openBufferDatabaseSnapshot(legacy);
    try {
      assert.deepEqual(a.layout, { hasMessagePool: true, hasCallPool: true, hasSampleMetadata: true });
      assert.deepEqual(b.layout, { hasMessagePool: false, hasCallPool: false, hasSampleMetadata: false });
    } finally {
      a.close();
      b.close();
    }
  });

  it('rejects a file of random bytes with a one-line BufferDatabaseError and cleans up', async () => {
    const path = join(root, 'random.db');
    await writeFile(path, randomBytes(8192));
    await assert.rejects(openBufferDatabaseSnapshot(path), (error: unknown) => {
      assert.ok(error instanceof BufferDatabaseError);
      assert.equal(error.code, 'BUFFER_DATABASE');
      assert.ok(error.message.startsWith(`${path}: `));
      assert.match(error.message, /not a database/);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
  });

  it('rejects a SQLite file without the buffer tables, naming what is missing', async () => {
    const path = join(root, 'other.db');
    buildDatabase(path, 'CREATE TABLE samples (id TEXT); CREATE TABLE unrelated (x);', () => {});
    await assert.rejects(openBufferDatabaseSnapshot(path), (error: unknown) => {
      assert.ok(error instanceof BufferDatabaseError);
      assert.equal(error.message, `${path}: not an Inspect sample buffer database (missing tables task_database, events, attachments)`);
      return true;
    });
  });

  it('treats an empty file as a database without tables', async () => {
    const path = join(root, 'empty.db');
    await writeFile(path, '');
    await assert.rejects(openBufferDatabaseSnapshot(path), BufferDatabaseError);
  });

  it('gives NotFoundError for a missing DB and StorageError for a directory', async () => {
    await assert.rejects(openBufferDatabaseSnapshot(join(root, 'missing.db')), NotFoundError);
    await assert.rejects(openBufferDatabaseSnapshot(root), StorageError);
  });

  it('keeps the original base name for the copy (SQLite finds sidecars by name) and opens a single-file DB', async () => {
    const source = join(root, 'single.db');
    buildDatabase(source, currentSchemaSql, (db) => insertSample(db, 's', 1, summary('s')));
    const renamed = join(root, 'renamed.eval.9.db');
    await copyFile(source, renamed);
    const snapshot = await openBufferDatabaseSnapshot(renamed);
    try {
      assert.match(snapshot.database.name, /renamed\.eval\.9\.db$/);
      assert.equal(snapshot.database.prepare('SELECT COUNT(*) FROM samples').pluck().get(), 1);
    } finally {
      snapshot.close();
    }
  });
});
