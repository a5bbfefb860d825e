import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SqliteDatabase } from '../../../src/buffer/database/sqlite.js';
import { JsonFormatError, BufferDatabaseError } from '../../../src/errors.js';
import { BufferDatabaseReader } from '../../../src/buffer/database/reader.js';
import {
  buildCrashedWalDatabase,
  buildDatabase,
  currentSchemaSql,
  insertEvent,
  insertSample,
  legacySchemaSql,
} from './buffer-database-helpers.js';
import { makeTempDir, removeTempDir } from '../../support/temp-dir.js';
import { processTempDir } from '../../../src/bytes/exit-cleanup.js';

const pretty = (value: unknown) => JSON.stringify(value, null, 2);
const message = (content: unknown) => ({ id: 'm1', role: 'user', content });

function insertPoolRows(db: SqliteDatabase, sampleId: string, rows: Array<[table: 'message_pool' | 'call_pool', key: string, data: string]>): void {
  for (const [table, key, data] of rows) {
    const keyColumn = table === 'message_pool' ? 'msg_id' : 'hash';
    db.prepare(`INSERT INTO ${table} (sample_id, sample_epoch, ${keyColumn}, data) VALUES (?, 1, ?, ?)`).run(sampleId, key, data);
  }
}

describe('BufferDatabaseReader', () => {
  let root: string;
  let reader: BufferDatabaseReader;

  before(async () => {
    root = await makeTempDir('inspect-recover-reader-');
    const path = join(root, 'run.eval.5.db');
    await buildCrashedWalDatabase(root, path, (db) => {
      db.prepare('UPDATE task_database SET version = 7, metrics = ?').run(
        '[\n  {"scorer": "match", "name": "accuracy", "value": NaN, "params": {}}\n]',
      );
      insertSample(db, 'b', 1, pretty({ id: 'b', epoch: 1, input: [message('attachment://cafe'), message('attachment://unknown')], target: 't' }));
      insertSample(db, '10', 1, pretty({ id: 10, epoch: 1, input: 'attachment://cafe', target: 't' }));
      insertSample(
        db,
        '2',
        1,
        pretty({ id: 2, epoch: 1, input: 'q', target: 't', completed_at: '2026-01-01T00:00:00+00:00', completed: true, metadata: { k: 1 } }),
        { json: pretty({ k: 1, long: 'text' }), hash: 'abc123' },
      );
      insertSample(db, '2', 2, pretty({ id: 2, epoch: 2, input: 'q', target: 't' }), { json: '[1, 2]', hash: 'h' });
      insertSample(db, '3', 1, pretty({ id: 3, epoch: 1, input: 'q', target: 't' }), { json: '{"broken"', hash: 'h' });
      // Sample 2 epoch 1: A pending, B, A resolved, '' (own slot), NULL (own slot), B resolved, ''.
      insertEvent(db, '2', 1, 'A', '{"event": "model", "pending": true, "working_start": Infinity}');
      insertEvent(db, '2', 1, 'B', '{"event": "tool", "pending": true}');
      insertEvent(db, '2', 1, 'A', '{"event": "model", "output": "done", "working_start": 1.5}');
      insertEvent(db, '2', 1, '', '{"event": "info", "n": 1}');
      insertEvent(db, '2', 1, null, '{"event": "info", "n": 2}');
      insertEvent(db, '2', 1, 'B', '{"event": "tool", "result": 4}');
      insertEvent(db, '2', 1, '', '{"event": "info", "n": 3}');
      // An event_id that looks like the row id of an id-less row must not merge with it.
      insertEvent(db, '2', 1, '4', '{"event": "info", "n": 4}');
      insertEvent(db, '2', 2, 'other', '{"event": "info"}');
      insertEvent(db, 'b', 1, 'x', '{"no_event_key": true}');
      insertEvent(db, '10', 1, 'y', '{"event": ');
      db.prepare("INSERT INTO attachments (sample_id, sample_epoch, hash, content) VALUES ('2', 1, 'cafe', 'the long text'), ('2', 1, 'beef', 'more'), ('b', 1, 'f00d', 'x')").run();
      insertPoolRows(db, '2', [
        ['message_pool', 'h1', '{"id": "m1", "content": "sys", "role": "system"}'],
        ['message_pool', 'h2', '{"id": "m2", "content": "caf\\u00e9", "role": "user"}'],
        ['call_pool', 'c1', '{"content": "sys", "role": "system", "score": NaN}'],
      ]);
      insertPoolRows(db, 'b', [['message_pool', 'h9', '{"content": "x"}']]);
    });
    reader = await BufferDatabaseReader.open(path);
  });

  after(async () => {
    reader?.close();
    await removeTempDir(root);
  });

  it('reads rows that exist only in the WAL of a crashed DB', () => {
    assert.equal(reader.task().version, 7);
    assert.equal(reader.samples().length, 5);
  });

  it('parses NaN and Infinity written as bare tokens', () => {
    assert.ok(Number.isNaN(reader.task().metrics[0]?.value));
    assert.equal(reader.eventRows('2', 1)[0]?.event.working_start, Number.POSITIVE_INFINITY);
    assert.ok(Number.isNaN((reader.callPool('2', 1)[0]?.value as { score: number }).score));
  });

  it('lists samples in SQLite text order of id, then epoch', () => {
    assert.deepEqual(
      reader.samples().map((sample) => [sample.id, sample.epoch]),
      [['10', 1], ['2', 1], ['2', 2], ['3', 1], ['b', 1]],
    );
  });

  it('gives the same listing without summaries: ids typed as the summaries write them, completed_at', () => {
    const full = reader.samples();
    assert.deepEqual(
      reader.sampleListing(),
      full.map((sample) => ({
        id: sample.summary.id,
        epoch: sample.epoch,
        completed: sample.completed,
        completedAt: sample.summary.completed_at ?? null,
      })),
    );
    assert.ok(reader.sampleListing().some((entry) => typeof entry.id === 'number'), 'the fixture has int ids');
  });

  it('classifies completion by completed_at and keeps the metadata hash', () => {
    const sample = reader.sample(2, 1);
    assert.equal(sample?.completed, true);
    assert.equal(sample?.metadataHash, 'abc123');
    assert.equal(reader.sample('10', 1)?.completed, false);
    assert.equal(reader.sample('nope', 1), undefined);
  });

  it('resolves refs in a message-list input by hash from any sample, keeping unknown refs and string inputs', () => {
    const input = reader.sample('b', 1)?.summary.input;
    assert.ok(Array.isArray(input));
    assert.deepEqual(input.map((item) => item.content), ['the long text', 'attachment://unknown']);
    assert.equal(reader.sample('10', 1)?.summary.input, 'attachment://cafe');
  });

  it('gives every raw event row in id order, with the row id as the logical id when event_id is empty', () => {
    const rows = reader.eventRows('2', 1);
    assert.deepEqual(
      rows.map((row) => [row.id, row.eventId]),
      [[1, 'A'], [2, 'B'], [3, 'A'], [4, '4'], [5, '5'], [6, 'B'], [7, '7'], [8, '4']],
    );
    assert.ok(rows.every((row) => row.sampleId === '2' && row.epoch === 1));
    assert.deepEqual(reader.eventRows('2', 1, 5).map((row) => row.id), [6, 7, 8]);
  });

  it('collapses versions: one slot per event id at its first row, with its last row’s payload', () => {
    const events = reader.events(2, 1);
    assert.deepEqual(
      events.map((event) => [event.firstRowId, event.id, event.eventId, event.rowCount]),
      [
        [1, 3, 'A', 2],
        [2, 6, 'B', 2],
        [4, 4, '4', 1],
        [5, 5, '5', 1],
        [7, 7, '7', 1],
        [8, 8, '4', 1],
      ],
    );
    assert.equal(events[0]?.event.output, 'done');
    assert.equal(events[0]?.event.pending, undefined);
    assert.equal(events[1]?.event.result, 4);
    assert.deepEqual(reader.events('2', 2).map((event) => event.eventId), ['other']);
  });

  it('lets event iterations interleave and nest', () => {
    const outer = reader.iterateEvents('2', 1);
    const first = outer.next();
    const other = [...reader.iterateEventRows('2', 2)];
    const nested = reader.eventRows('2', 1).length;
    const rest = [...outer];
    assert.equal(first.value?.eventId, 'A');
    assert.equal(other.length, 1);
    assert.equal(nested, 8);
    assert.equal(rest.length, 5);
  });

  it('reports an event row that is not valid JSON, or has no event type, as one-line JsonFormatError', () => {
    assert.throws(
      () => reader.eventRows('10', 1),
      (error: unknown) => error instanceof JsonFormatError && /events row \d+ \(sample 10, epoch 1\) is not valid JSON/.test(error.message) && !error.message.includes('\n'),
    );
    assert.throws(
      () => reader.events('b', 1),
      (error: unknown) => error instanceof JsonFormatError && /does not have the expected shape: event: /.test(error.message),
    );
  });

  it('returns attachments and pools in row order, honouring cursors', () => {
    assert.deepEqual([...reader.attachments('2', 1)], [['cafe', 'the long text'], ['beef', 'more']]);
    assert.deepEqual(reader.attachmentRows('2', 1, 1).map((row) => row.hash), ['beef']);
    const pool = reader.messagePool('2', 1);
    assert.deepEqual(pool.map((row) => [row.msgId, row.message.content]), [['h1', 'sys'], ['h2', 'café']]);
    assert.equal(pool[1]?.json, '{"id": "m2", "content": "caf\\u00e9", "role": "user"}');
    assert.deepEqual(reader.messagePool('2', 1, pool[0]?.id).map((row) => row.msgId), ['h2']);
    assert.deepEqual(reader.callPool('2', 1).map((row) => row.hash), ['c1']);
  });

  it('rejects a message-pool row that is not a chat message', () => {
    assert.throws(() => reader.messagePool('b', 1), (error: unknown) => error instanceof JsonFormatError && /message_pool row \d+ does not have the expected shape: role/.test(error.message));
  });

  it('reads sample metadata: present, absent, not an object, or not JSON', () => {
    assert.deepEqual(reader.sampleMetadata('2', 1), { status: 'present', metadata: { k: 1, long: 'text' }, json: pretty({ k: 1, long: 'text' }), hash: 'abc123' });
    assert.deepEqual(reader.sampleMetadata('10', 1), { status: 'absent' });
    assert.deepEqual(reader.sampleMetadata('missing', 1), { status: 'absent' });
    assert.equal(reader.sampleMetadata('2', 2).status, 'unreadable');
    const broken = reader.sampleMetadata('3', 1);
    assert.ok(broken.status === 'unreadable' && /not valid JSON/.test(broken.reason));
  });

  it("returns Inspect's SampleData with all rows by default, and undefined for an unknown sample", () => {
    const data = reader.sampleData('2', 1);
    assert.equal(data?.events.length, 8);
    assert.equal(data?.attachments.length, 2);
    assert.equal(data?.messagePool.length, 2);
    assert.equal(data?.callPool.length, 1);
    const later = reader.sampleData('2', 1, { afterEventId: 7, afterAttachmentId: 2, afterMessagePoolId: 1, afterCallPoolId: 1 });
    assert.deepEqual(
      [later?.events.length, later?.attachments.length, later?.messagePool.length, later?.callPool.length],
      [1, 0, 1, 0],
    );
    assert.equal(reader.sampleData('2', 3), undefined);
  });
});

describe('BufferDatabaseReader on other DBs', () => {
  let root: string;

  before(async () => {
    root = await makeTempDir('inspect-recover-reader-other-');
  });

  after(async () => {
    await removeTempDir(root);
  });

  it('reads a legacy DB: pools empty, metadata absent', async () => {
    const path = join(root, 'legacy.db');
    buildDatabase(path, legacySchemaSql, (db) => {
      insertSample(db, '1', 1, pretty({ id: 1, epoch: 1, input: 'q', target: 't' }));
      insertEvent(db, '1', 1, 'e', '{"event": "info"}');
    });
    const reader = await BufferDatabaseReader.open(path);
    try {
      assert.deepEqual(reader.samples().map((sample) => [sample.id, sample.metadataHash]), [['1', null]]);
      assert.deepEqual(reader.sampleMetadata('1', 1), { status: 'absent' });
      assert.deepEqual(reader.sampleData('1', 1), { events: reader.eventRows('1', 1), attachments: [], messagePool: [], callPool: [] });
      assert.equal(reader.events('1', 1).length, 1);
    } finally {
      reader.close();
    }
  });

  it('reports a DB without its task row as a BufferDatabaseError', async () => {
    const path = join(root, 'no-task.db');
    buildDatabase(path, currentSchemaSql, (db) => db.exec('DELETE FROM task_database'));
    const reader = await BufferDatabaseReader.open(path);
    try {
      assert.throws(() => reader.task(), BufferDatabaseError);
    } finally {
      reader.close();
    }
  });

  it('closes while an event iteration is unfinished and removes its private copy', async () => {
    const path = join(root, 'iterating.db');
    buildDatabase(path, currentSchemaSql, (db) => {
      insertSample(db, '1', 1, pretty({ id: 1, epoch: 1, input: 'q', target: 't' }));
      for (let i = 0; i < 3; i++) insertEvent(db, '1', 1, `e${i}`, '{"event": "info"}');
    });
    // The private copy goes under this process's own temp dir, where the test can watch it.
    const scratchParent = processTempDir();
    const before = await readdir(scratchParent);
    const reader = await BufferDatabaseReader.open(path);
    const iterator = reader.iterateEvents('1', 1);
    assert.equal(iterator.next().done, false);
    assert.equal((await readdir(scratchParent)).length, before.length + 1);
    assert.doesNotThrow(() => reader.close());
    assert.deepEqual(await readdir(scratchParent), before);
    assert.equal(iterator.next().done, true);
  });
});
