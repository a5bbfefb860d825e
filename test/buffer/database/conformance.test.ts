/** The reader against the DB a SIGKILLed Inspect left behind (fixtures/inspect/crashed-database). */
import assert from 'node:assert/strict';
import { copyFile, open, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findCrashedBufferDatabase, listBufferDatabases } from '../../../src/buffer/database/candidates.js';
import { inspectDataDir } from '../../../src/buffer/database/location.js';
import { BufferDatabaseReader } from '../../../src/buffer/database/reader.js';
import type { BufferEventRow } from '../../../src/buffer/buffer-rows.js';
import { conformanceSuiteOptions } from '../../support/shared-fixtures.js';
import {
  checkpointedDatabasePath,
  fingerprint,
  fixtureDatabaseFiles,
  fixtureDatabasePath,
  fixtureLogFileName,
  rehomeFixture,
  type RehomedFixture,
} from './buffer-database-helpers.js';
import { removeTempDir } from '../../support/temp-dir.js';

const completedIds = ['5', 's-008'];
const inProgressIds = ['7', 's-006', '9', 's-010'];
/** Per sample (epoch 1): raw event rows and collapsed events (fixture README), pool rows (DB). */
const expected = [
  { id: '5', rawEvents: 46, events: 39, messagePool: 6, callPool: 6 },
  { id: 's-008', rawEvents: 46, events: 39, messagePool: 6, callPool: 6 },
  { id: '7', rawEvents: 24, events: 21, messagePool: 4, callPool: 2 },
  { id: 's-006', rawEvents: 24, events: 21, messagePool: 4, callPool: 2 },
  { id: '9', rawEvents: 17, events: 17, messagePool: 2, callPool: 0 },
  { id: 's-010', rawEvents: 17, events: 17, messagePool: 2, callPool: 0 },
];
const sampleIds = expected.map((sample) => sample.id);

/** The collapse rule written out plainly (recovery.md §4.1.3), to check the reader's SQL against. */
function collapseInMemory(rows: BufferEventRow[]): BufferEventRow[] {
  // A Map keeps first-insertion order: each slot stays where its first row was; set() keeps the last row.
  const slots = new Map<string, BufferEventRow>();
  for (const row of rows) slots.set(row.eventId, row);
  return [...slots.values()];
}

describe('sample buffer database: crashed Inspect fixture', conformanceSuiteOptions(), () => {
  let fixture: RehomedFixture;
  let reader: BufferDatabaseReader;

  before(async () => {
    fixture = await rehomeFixture();
    reader = await BufferDatabaseReader.open(fixture.databasePath);
  });

  after(async () => {
    reader?.close();
    if (fixture) await removeTempDir(fixture.root);
  });

  it('finds the DB of the log under $XDG_DATA_HOME, hashed by the file:// URI of the log dir', async () => {
    const saved = process.env.XDG_DATA_HOME;
    process.env.XDG_DATA_HOME = fixture.xdgDataHome;
    try {
      assert.equal(inspectDataDir(), fixture.dataDir);
      const found = await findCrashedBufferDatabase(fixture.logFile);
      assert.equal(found?.path, fixture.databasePath);
      assert.equal(found?.pid, fixture.pid);
      assert.equal(found?.alive, false);
    } finally {
      if (saved === undefined) delete process.env.XDG_DATA_HOME;
      else process.env.XDG_DATA_HOME = saved;
    }
  });

  it('reads the task row', () => {
    const task = reader.task();
    assert.equal(task.version, 380);
    assert.equal(task.lastUpdated, '2026-11-22 13:41:56');
    assert.deepEqual(
      task.metrics.map((metric) => [metric.scorer, metric.name, metric.value]),
      [
        ['match', 'accuracy', 1],
        ['match', 'stderr', 0],
      ],
    );
  });

  it('lists 6 samples in id order: 2 completed, 4 in progress', () => {
    const samples = reader.samples();
    assert.deepEqual(
      samples.map((sample) => [sample.id, sample.epoch]),
      [['5', 1], ['7', 1], ['9', 1], ['s-006', 1], ['s-008', 1], ['s-010', 1]],
    );
    assert.deepEqual(samples.filter((sample) => sample.completed).map((sample) => sample.id).sort(), completedIds);
    assert.deepEqual(samples.filter((sample) => !sample.completed).map((sample) => sample.id).sort(), [...inProgressIds].sort());
    for (const sample of samples) {
      assert.equal(String(sample.summary.id), sample.id);
      assert.equal(typeof sample.summary.uuid, 'string');
      assert.equal(sample.summary.completed, sample.completed);
      assert.equal(sample.metadataHash, sample.completed ? 'summary' : null);
    }
  });

  it('resolves attachment refs in a summary input from the attachments table', () => {
    const input = reader.sample('s-008', 1)?.summary.input;
    assert.ok(Array.isArray(input));
    const content = input[0]?.content;
    assert.equal(typeof content, 'string');
    assert.match(content as string, /^Background: arithmetic has been studied since antiquity/);
    assert.equal(content, reader.attachments('s-008', 1).get('66dcf5645e612b9caf09b4e60fce523e'));
  });

  it('has 174 raw event rows with the per-sample counts Inspect recorded', () => {
    let total = 0;
    for (const { id, rawEvents } of expected) {
      const rows = reader.eventRows(id, 1);
      assert.equal(rows.length, rawEvents, `sample ${id}`);
      assert.deepEqual(rows.map((row) => row.id), [...rows.map((row) => row.id)].sort((a, b) => a - b));
      total += rows.length;
    }
    assert.equal(total, 174);
  });

  it('collapses event versions to 39 (completed), 21 (7, s-006) and 17 (9, s-010) events', () => {
    for (const { id, rawEvents, events: eventCount } of expected) {
      const events = reader.events(id, 1);
      assert.equal(events.length, eventCount, `sample ${id}`);
      assert.equal(events.reduce((sum, event) => sum + event.rowCount, 0), rawEvents, `sample ${id}`);
    }
  });

  it('collapses exactly as the rule says: first row position, last row payload', () => {
    for (const id of sampleIds) {
      const actual = reader.events(id, 1).map(({ firstRowId: _first, rowCount: _count, ...row }) => row);
      assert.deepEqual(actual, collapseInMemory(reader.eventRows(id, 1)), `sample ${id}`);
    }
  });

  it('keeps the resolved version of a model call that was logged pending', () => {
    const rows = reader.eventRows('7', 1).filter((row) => row.eventId === '7F3dn5UkhAMaKLQY8GFVLc');
    assert.deepEqual(rows.map((row) => row.id), [242, 296, 297]);
    assert.equal(rows[0]?.event.pending, true);
    const collapsed = reader.events('7', 1).find((event) => event.eventId === '7F3dn5UkhAMaKLQY8GFVLc');
    assert.equal(collapsed?.id, 297);
    assert.equal(collapsed?.firstRowId, 242);
    assert.equal(collapsed?.rowCount, 3);
    assert.equal(collapsed?.event.pending, undefined);
    assert.equal(collapsed?.event.event, 'model');
  });

  it('streams events without building arrays, and stops cleanly when the consumer breaks', () => {
    let seen = 0;
    for (const event of reader.iterateEvents('5', 1)) {
      assert.equal(typeof event.event.event, 'string');
      if (++seen === 5) break;
    }
    assert.equal(seen, 5);
    assert.equal(reader.events('5', 1).length, 39);
  });

  it('has 4 attachments, 24 message-pool rows and 16 call-pool rows', () => {
    const attachments = sampleIds.flatMap((id) => reader.attachmentRows(id, 1));
    const messagePool = sampleIds.flatMap((id) => reader.messagePool(id, 1));
    const callPool = sampleIds.flatMap((id) => reader.callPool(id, 1));
    assert.equal(attachments.length, 4);
    assert.equal(messagePool.length, 24);
    assert.equal(callPool.length, 16);
    for (const row of messagePool) assert.equal(typeof row.message.role, 'string');
    for (const { id, messagePool: messages, callPool: calls } of expected) {
      assert.equal(reader.messagePool(id, 1).length, messages, `sample ${id}`);
      assert.equal(reader.callPool(id, 1).length, calls, `sample ${id}`);
    }
  });

  it('returns the message pool in row-id order, the order input_refs index into', () => {
    const pool = reader.messagePool('5', 1);
    assert.deepEqual(pool.map((row) => row.id), [...pool.map((row) => row.id)].sort((a, b) => a - b));
    assert.equal(pool[0]?.message.role, 'system');
    assert.equal(pool[0]?.msgId, 'c6abe78bd8cdf6f4882e0123e6bc8f39');
    assert.equal(pool[1]?.message.content, 'What is 36 + 27? Reply with just the number.');
  });

  it('reads the full sample metadata of a completed sample and none for an in-progress one', () => {
    const completed = reader.sampleMetadata('5', 1);
    assert.equal(completed.status, 'present');
    assert.ok(completed.status === 'present');
    assert.equal(completed.hash, 'summary');
    assert.deepEqual(completed.metadata, reader.sample('5', 1)?.summary.metadata);
    assert.deepEqual(reader.sampleMetadata('7', 1), { status: 'absent' });
  });

  it("gives Inspect's SampleData for a sample, honouring cursors, and undefined for an unknown one", () => {
    const all = reader.sampleData(5, 1);
    assert.equal(all?.events.length, 46);
    const after = reader.sampleData(5, 1, { afterEventId: all?.events[39]?.id ?? 0 });
    assert.deepEqual(after?.events.map((row) => row.id), all?.events.slice(40).map((row) => row.id));
    assert.equal(reader.sampleData('5', 2), undefined);
    assert.equal(reader.sampleData('s-004', 1), undefined);
  });

  it('reads the same rows from the checkpointed single-file copy', async () => {
    const checkpointed = await BufferDatabaseReader.open(checkpointedDatabasePath());
    try {
      assert.deepEqual(checkpointed.task(), reader.task());
      assert.deepEqual(checkpointed.samples(), reader.samples());
      for (const id of sampleIds) {
        assert.deepEqual(checkpointed.sampleData(id, 1), reader.sampleData(id, 1), `sample ${id}`);
        assert.deepEqual(checkpointed.events(id, 1), reader.events(id, 1), `sample ${id}`);
        assert.deepEqual(checkpointed.sampleMetadata(id, 1), reader.sampleMetadata(id, 1), `sample ${id}`);
      }
    } finally {
      checkpointed.close();
    }
  });

  it('gets most rows from the WAL: the main file alone holds an older state', async () => {
    const mainOnly = join(fixture.root, 'main-only.db');
    await copyFile(fixtureDatabasePath(), mainOnly);
    const stale = await BufferDatabaseReader.open(mainOnly);
    try {
      const staleRows = stale.samples().reduce((sum, sample) => sum + stale.eventRows(sample.id, sample.epoch).length, 0);
      assert.notEqual(staleRows, 174);
      assert.notEqual(stale.task().version, 380);
    } finally {
      stale.close();
    }
  });

  it('leaves the original files byte-identical with unchanged mtimes', async () => {
    const originals = [fixture.databasePath, `${fixture.databasePath}-wal`, `${fixture.databasePath}-shm`];
    const shared = fixtureDatabaseFiles();
    const beforeLocal = await fingerprint(originals);
    const beforeShared = await fingerprint(shared);
    // Read everything once more, from the re-homed copy and straight from the (read-only) fixture.
    for (const path of [fixture.databasePath, fixtureDatabasePath()]) {
      const again = await BufferDatabaseReader.open(path);
      try {
        for (const sample of again.samples()) {
          again.sampleData(sample.id, sample.epoch);
          again.events(sample.id, sample.epoch);
        }
      } finally {
        again.close();
      }
    }
    assert.deepEqual(await fingerprint(originals), beforeLocal);
    assert.deepEqual(await fingerprint(shared), beforeShared);
    assert.deepEqual(
      beforeLocal.map(({ sha256, size }) => ({ sha256, size })),
      beforeShared.map(({ sha256, size }) => ({ sha256, size })),
    );
  });

  it('skips a DB that a live process holds open even when it is newer', async () => {
    const liveCopy = join(fixture.databaseDir, `${fixtureLogFileName}.${process.pid}.db`);
    await copyFile(fixture.databasePath, liveCopy);
    const future = new Date(Date.now() + 60_000);
    await utimes(liveCopy, future, future);
    const held = await open(liveCopy, 'r');
    try {
      const listed = await listBufferDatabases(fixture.logFile, { dataDir: fixture.dataDir });
      assert.deepEqual(
        listed.map((candidate) => [candidate.pid, candidate.alive]),
        [
          [process.pid, true],
          [fixture.pid, false],
        ],
      );
      const chosen = await findCrashedBufferDatabase(fixture.logFile, { dataDir: fixture.dataDir });
      assert.equal(chosen?.path, fixture.databasePath);
    } finally {
      await held.close();
      await removeTempDir(liveCopy);
    }
  });
});
