/**
 * The SQLite layer on this runtime: node:sqlite where Node has it (22.13+), better-sqlite3
 * otherwise, the same behaviour either way, and nothing of node:sqlite's experimental status
 * reaching the user.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openSqlite, sqliteEngineName } from '../../../src/buffer/database/sqlite.js';
import { layOutCrashedFixtures } from '../../support/crashed-layout.js';
import { runCliIn } from '../../support/recover-cli.js';
import { conformanceSuiteOptions } from '../../support/shared-fixtures.js';
import { useTempDir } from '../../support/temp-dir.js';

const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
const hasNodeSqlite = major > 22 || (major === 22 && minor >= 13);

describe('the SQLite layer', () => {
  const temp = useTempDir('sqlite-layer-');

  it(`uses ${hasNodeSqlite ? 'node:sqlite' : 'better-sqlite3'} on Node ${process.versions.node}`, () => {
    assert.equal(sqliteEngineName(), hasNodeSqlite ? 'node:sqlite' : 'better-sqlite3');
  });

  it('rows are plain objects, pluck gives first columns, iteration stops cleanly, a throwing transaction commits nothing', () => {
    const database = openSqlite(join(temp.path, 'layer.db'));
    try {
      database.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)');
      const insert = database.prepare('INSERT INTO t (name) VALUES (?)');
      database.transaction(() => ['a', 'b', 'c'].forEach((name) => insert.run(name)))();
      assert.throws(() =>
        database.transaction(() => {
          insert.run('d');
          throw new Error('rolled back');
        })(),
      );
      assert.deepEqual(database.prepare('SELECT id, name FROM t ORDER BY id').all(), [
        { id: 1, name: 'a' },
        { id: 2, name: 'b' },
        { id: 3, name: 'c' },
      ]);
      assert.equal(Object.getPrototypeOf(database.prepare('SELECT name FROM t').get()), Object.prototype);
      assert.deepEqual(database.prepare('SELECT name FROM t ORDER BY id').pluck().all(), ['a', 'b', 'c']);
      assert.equal(database.prepare('SELECT name FROM t WHERE id = ?').pluck().get(2), 'b');
      assert.equal(database.prepare('SELECT name FROM t WHERE id = ?').get(9), undefined);
      const rows = database.prepare('SELECT name FROM t ORDER BY id').iterate();
      assert.deepEqual(rows.next().value, { name: 'a' });
      rows.return?.();
      assert.equal(rows.next().done, true, 'stays done once returned');
      assert.equal(database.pragma('user_version'), 0);
      assert.equal(database.open, true);
    } finally {
      database.close();
    }
    assert.throws(() => openSqlite(join(temp.path, 'missing.db'), { fileMustExist: true }));
  });

  it('an integer past 2^53 (a damaged buffer) reads as its nearest number on every engine, in get, all and pluck', () => {
    const database = openSqlite(join(temp.path, 'large.db'));
    try {
      database.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, epoch INTEGER, name TEXT)');
      database.prepare('INSERT INTO t (epoch, name) VALUES (?, ?)').run(2n ** 62n, 'large');
      database.prepare('INSERT INTO t (epoch, name) VALUES (?, ?)').run(1, 'small');
      assert.deepEqual(database.prepare('SELECT epoch, name FROM t ORDER BY id').all(), [
        { epoch: 2 ** 62, name: 'large' },
        { epoch: 1, name: 'small' },
      ]);
      assert.deepEqual(database.prepare('SELECT epoch, name FROM t WHERE id = 1').get(), { epoch: 2 ** 62, name: 'large' });
      assert.equal(Object.getPrototypeOf(database.prepare('SELECT epoch FROM t WHERE id = 1').get()), Object.prototype);
      assert.deepEqual(database.prepare('SELECT epoch FROM t ORDER BY id').pluck().all(), [2 ** 62, 1]);
      assert.equal(database.prepare('SELECT epoch FROM t WHERE id = 2').pluck().get(), 1, 'the statement reads numbers again afterwards');
    } finally {
      database.close();
    }
  });

  it('a database recovery through the CLI shows no warning about the engine', conformanceSuiteOptions(), async () => {
    const layout = await layOutCrashedFixtures(join(temp.path, 'cli'));
    const result = await runCliIn(layout.root, [layout.databaseLog, '--data-dir', layout.dataDir, '--no-cleanup']);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /source: database/);
    assert.doesNotMatch(result.stderr, /ExperimentalWarning|SQLite is an experimental feature/);
  });
});
