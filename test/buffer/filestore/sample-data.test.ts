/** The reader on hand-built filestores: collapse across segments, legacy entries, damaged members and rows. */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { filestoreDirForLog } from '../../../src/buffer/filestore/layout.js';
import { FilestoreReader } from '../../../src/buffer/filestore/reader.js';
import { CompressionMethod } from '../../../src/codec/compression-method.js';
import { useTempDir } from '../../support/temp-dir.js';
import { rows, warningCollector, writeManifestJson, writeSegment } from './filestore-helpers.js';

interface SegmentEntry {
  id: number;
  last_event_id: number;
  last_attachment_id: number;
  last_message_pool_id?: number;
  last_call_pool_id?: number;
}

function record(id: number, last: { event?: number; attachment?: number; message?: number; call?: number } = {}): SegmentEntry {
  return {
    id,
    last_event_id: last.event ?? 0,
    last_attachment_id: last.attachment ?? 0,
    last_message_pool_id: last.message ?? 0,
    last_call_pool_id: last.call ?? 0,
  };
}

function manifestSample(id: string, segments: Array<SegmentEntry | number>, extra: Record<string, unknown> = {}) {
  return { summary: { id, epoch: 1, input: `input of ${id}`, target: 'x' }, segments, ...extra };
}

const model = (pending: boolean, content: string) => ({ event: 'model', pending: pending || undefined, output: { completion: content } });

describe('segment filestore: hand-built segments', () => {
  const temp = useTempDir('filestore-sample-data-');

  /** A log location whose filestore holds the given manifest (segments are written by the test). */
  async function filestore(name: string, manifest: unknown): Promise<{ logLocation: string; bufferDir: string }> {
    const logLocation = join(temp.path, name, 'run.eval');
    const bufferDir = filestoreDirForLog(logLocation);
    await mkdir(bufferDir, { recursive: true });
    await writeManifestJson(bufferDir, manifest);
    return { logLocation, bufferDir };
  }

  it('collapses one logical event across segments: first position, last payload', async (t) => {
    const { logLocation, bufferDir } = await filestore('collapse', {
      samples: [manifestSample('s1', [record(2, { event: 5 }), record(1, { event: 3 })])],
      segments: [record(1, { event: 3 }), record(2, { event: 5 })],
    });
    await writeSegment(bufferDir, 1, {
      's1_1.json': { events: [rows.event(1, 'init', 's1', { event: 'sample_init' }), rows.event(2, 'call', 's1', model(true, '')), rows.event(3, 'info', 's1', { event: 'info' })], attachments: [] },
    });
    await writeSegment(bufferDir, 2, {
      's1_1.json': { events: [rows.event(4, 'call', 's1', model(false, 'resolved content')), rows.event(5, 'score', 's1', { event: 'score' })], attachments: [] },
    });
    const reader = await FilestoreReader.open(logLocation);
    t.after(() => reader.close());
    const data = (await reader.sampleData('s1', 1))!;
    assert.deepEqual(
      data.events.map((event) => [event.eventId, event.firstRowId, event.id, event.rowCount]),
      [['init', 1, 1, 1], ['call', 2, 4, 2], ['info', 3, 3, 1], ['score', 5, 5, 1]],
    );
    const call = data.events[1]!;
    assert.equal(call.event.pending, undefined);
    assert.deepEqual(call.event.output, { completion: 'resolved content' });
    assert.equal(call.sampleId, 's1');
    assert.equal(call.epoch, 1);
    // Absent pools read as empty (segments from before pools existed).
    assert.deepEqual([data.messagePool, data.callPool], [[], []]);
  });

  it('concatenates pools in segment-id order, counts a row listed twice once, and keeps the first attachment per hash', async () => {
    const { logLocation, bufferDir } = await filestore('pools', {
      samples: [manifestSample('s1', [record(3, { message: 4 }), 1])],
      segments: [record(1, { message: 2, call: 1 }), record(3, { message: 4 })],
    });
    await writeSegment(bufferDir, 1, {
      's1_1.json': {
        events: [rows.event(1, 'a', 's1', { event: 'info' })],
        attachments: [rows.attachment(1, 's1', 'h1', 'first')],
        message_pool: [rows.message(2, 's1', 'two'), rows.message(1, 's1', 'one')],
        call_pool: [rows.call(1, 's1', { request: 1 })],
      },
    });
    await writeSegment(bufferDir, 3, {
      's1_1.json': {
        events: [rows.event(1, 'a', 's1', { event: 'info' }), rows.event(2, 'b', 's1', { event: 'info' })],
        attachments: [rows.attachment(2, 's1', 'h1', 'second'), rows.attachment(3, 's1', 'h2', 'other')],
        message_pool: [rows.message(2, 's1', 'two'), rows.message(3, 's1', 'three'), rows.message(4, 's1', 'four')],
      },
    });
    const collector = warningCollector();
    const reader = await FilestoreReader.open(logLocation, { onWarning: collector.onWarning });
    const data = (await reader.sampleData('s1', 1))!;
    await reader.close();
    assert.deepEqual(data.messagePool.map((row) => [row.id, row.message.content]), [[1, 'one'], [2, 'two'], [3, 'three'], [4, 'four']]);
    assert.equal(data.messagePool[0]?.json, JSON.stringify({ role: 'user', content: 'one' }));
    assert.deepEqual(data.callPool.map((row) => [row.id, row.value]), [[1, { request: 1 }]]);
    assert.deepEqual(data.events.map((event) => [event.eventId, event.rowCount]), [['a', 1], ['b', 1]]);
    assert.deepEqual([...data.attachments], [['h1', 'first'], ['h2', 'other']]);
    assert.deepEqual(collector.warnings, []);
  });

  it('skips only the damaged sample when a sound segment lacks its member or holds a corrupt one', async (t) => {
    const { logLocation, bufferDir } = await filestore('members', {
      samples: [
        manifestSample('a', [record(1, { event: 1, message: 1 })]),
        manifestSample('b', [record(1, { event: 2 })]),
        manifestSample('c', [record(1, { event: 3 })]),
      ],
      segments: [record(1, { event: 3, message: 1 })],
    });
    const marker = 'CORRUPT-ME-'.repeat(4);
    const path = await writeSegment(
      bufferDir,
      1,
      {
        'b_1.json': { events: [rows.event(2, 'b', 'b', { event: 'info', note: marker })], attachments: [] },
        'c_1.json': { events: [rows.event(3, 'c', 'c', { event: 'info' })], attachments: [] },
      },
      CompressionMethod.stored,
    );
    // Stored entries hold their JSON verbatim: flip a byte of b's member so its CRC fails.
    const bytes = await readFile(path);
    const at = bytes.indexOf(marker) + 3;
    bytes[at] = bytes[at]! ^ 0x20;
    await writeFile(path, bytes);

    const collector = warningCollector();
    const reader = await FilestoreReader.open(logLocation, { onWarning: collector.onWarning });
    t.after(() => reader.close());
    const [a, b, c] = [await reader.sampleData('a', 1), await reader.sampleData('b', 1), await reader.sampleData('c', 1)];
    assert.equal(c?.events.length, 1);
    assert.deepEqual(c?.damage.skippedSegments, []);
    assert.match(a!.damage.skippedSegments[0]!.reason, /has no member a_1\.json/);
    assert.match(b!.damage.skippedSegments[0]!.reason, /CRC/);
    const unreadable = collector.ofCode('SEGMENT_UNREADABLE');
    assert.deepEqual(unreadable.map((warning) => warning.details?.samples), [[{ id: 'a', epoch: 1 }], [{ id: 'b', epoch: 1 }]]);
    assert.ok(unreadable.every((warning) => warning.message.includes('segment.1.zip')));
    // a's member would have held message-pool rows: a gap. b's record says it held no pool rows: none.
    assert.deepEqual(a?.damage.poolGap, { segmentIds: [1], soundRows: { messagePool: 0, callPool: 0 } });
    assert.equal(b?.damage.poolGap, undefined);
    assert.deepEqual(collector.ofCode('POOL_GAP').map((warning) => warning.details?.sample), [{ id: 'a', epoch: 1 }]);
  });

  it('counts a missing legacy segment as a pool gap when its global record says it held pool rows, or when no record exists', async (t) => {
    const { logLocation, bufferDir } = await filestore('legacy', {
      samples: [manifestSample('s1', [1, 2, 3]), manifestSample('s2', [1, 4])],
      // Segment 4 has no global record; segment 2 held no pool rows.
      segments: [record(1, { message: 1 }), record(2, { event: 9 }), record(3, { call: 5 })],
    });
    await writeSegment(bufferDir, 1, {
      's1_1.json': { events: [], attachments: [], message_pool: [rows.message(1, 's1', 'one')] },
      's2_1.json': { events: [], attachments: [], message_pool: [] },
    });
    const collector = warningCollector();
    const reader = await FilestoreReader.open(logLocation, { onWarning: collector.onWarning });
    t.after(() => reader.close());
    const s1 = (await reader.sampleData('s1', 1))!;
    const s2 = (await reader.sampleData('s2', 1))!;
    assert.deepEqual(s1.damage.skippedSegments.map((skipped) => skipped.id), [2, 3]);
    assert.deepEqual(s1.damage.poolGap, { segmentIds: [3], soundRows: { messagePool: 1, callPool: 0 } });
    assert.deepEqual(s2.damage.poolGap, { segmentIds: [4], soundRows: { messagePool: 0, callPool: 0 } });
    assert.equal(collector.ofCode('SEGMENT_UNREADABLE').length, 3);
    assert.equal(collector.ofCode('POOL_GAP').length, 2);
  });

  it('leaves out unreadable rows with one warning per member; a lost pool row is a pool gap', async () => {
    const { logLocation, bufferDir } = await filestore('rows', {
      samples: [manifestSample('s1', [record(1, { message: 1 }), record(2, { message: 3 })])],
      segments: [record(1, { message: 1 }), record(2, { message: 3 })],
    });
    await writeSegment(bufferDir, 1, {
      's1_1.json': { events: [rows.event(1, 'a', 's1', { event: 'info' })], attachments: [], message_pool: [rows.message(1, 's1', 'one')] },
    });
    await writeSegment(bufferDir, 2, {
      's1_1.json': {
        events: [{ id: 2, event_id: 'b', sample_id: 's1', epoch: 1 }, rows.event(3, 'c', 's1', { event: 'info' })],
        attachments: [{ id: 1, hash: 'h' }],
        message_pool: [{ ...rows.message(2, 's1', 'two'), data: '{"role": ' }, rows.message(3, 's1', 'three')],
      },
    });
    const collector = warningCollector();
    const reader = await FilestoreReader.open(logLocation, { onWarning: collector.onWarning });
    const data = (await reader.sampleData('s1', 1))!;
    await reader.close();
    assert.deepEqual(data.events.map((event) => event.eventId), ['a', 'c']);
    assert.equal(data.attachments.size, 0);
    assert.deepEqual(data.messagePool.map((row) => row.id), [1, 3]);
    assert.deepEqual(data.damage.skippedSegments, []);
    assert.deepEqual(data.damage.poolGap, { segmentIds: [2], soundRows: { messagePool: 1, callPool: 0 } });
    const [rowWarning, ...more] = collector.ofCode('ROW_UNREADABLE');
    assert.equal(more.length, 0);
    assert.equal((rowWarning?.details?.rows as string[]).length, 3);
    assert.match(rowWarning!.message, /3 unreadable row\(s\) of sample s1 \(epoch 1\) in segment\.2\.zip/);
    assert.equal(collector.ofCode('POOL_GAP').length, 1);
  });

  it('skips a segment that held no pool rows of the sample without reporting a pool gap', async () => {
    const { logLocation, bufferDir } = await filestore('no-gap', {
      samples: [manifestSample('s1', [record(1, { event: 1, message: 1 }), record(2, { event: 2 })])],
      segments: [record(1, { event: 1, message: 1 }), record(2, { event: 2 })],
    });
    await writeSegment(bufferDir, 1, {
      's1_1.json': { events: [rows.event(1, 'a', 's1', { event: 'info' })], attachments: [], message_pool: [rows.message(1, 's1', 'one')] },
    });
    const collector = warningCollector();
    const reader = await FilestoreReader.open(logLocation, { onWarning: collector.onWarning });
    const data = (await reader.sampleData('s1', 1))!;
    await reader.close();
    assert.deepEqual(data.damage.skippedSegments.map((skipped) => skipped.id), [2]);
    assert.equal(data.damage.poolGap, undefined);
    assert.deepEqual(collector.warnings.map((warning) => warning.code), ['SEGMENT_UNREADABLE']);
  });
});
