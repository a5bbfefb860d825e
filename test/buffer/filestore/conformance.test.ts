/** The reader against the filestores a SIGKILLed Inspect left behind (fixtures/inspect/crashed-filestore and large). */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { filestoreDirForLog, segmentFileName } from '../../../src/buffer/filestore/layout.js';
import { FilestoreReader, type FilestoreSampleData } from '../../../src/buffer/filestore/reader.js';
import { conformanceSuiteOptions } from '../../support/shared-fixtures.js';
import { CountingStorage, fixtureLogLocation, warningCollector } from './filestore-helpers.js';

/** Per sample (epoch 1), from the fixture README and the segment members: raw rows, logical events, pool rows. */
const crashedSamples = [
  { id: '5', completed: true, segments: [2, 3, 4], rawEvents: 46, events: 39, messagePool: 6, callPool: 6 },
  { id: '7', completed: false, segments: [3, 4], rawEvents: 24, events: 21, messagePool: 4, callPool: 2 },
  { id: '9', completed: false, segments: [4], rawEvents: 17, events: 17, messagePool: 2, callPool: 0 },
  { id: 's-006', completed: false, segments: [3, 4], rawEvents: 24, events: 21, messagePool: 4, callPool: 2 },
  { id: 's-008', completed: true, segments: [3, 4], rawEvents: 46, events: 39, messagePool: 6, callPool: 6 },
  { id: 's-010', completed: false, segments: [4], rawEvents: 17, events: 17, messagePool: 2, callPool: 0 },
];

type Refs = Array<[number, number]>;

/** The largest end of any `input_refs` / `call_refs` range of the sample's events. */
function refEnds(data: FilestoreSampleData): { messages: number; calls: number; refCount: number } {
  let messages = 0;
  let calls = 0;
  let refCount = 0;
  for (const { event } of data.events) {
    for (const [, end] of (event.input_refs as Refs | undefined) ?? []) {
      messages = Math.max(messages, end);
      refCount++;
    }
    for (const [, end] of ((event.call as { call_refs?: Refs } | undefined)?.call_refs ?? [])) {
      calls = Math.max(calls, end);
      refCount++;
    }
  }
  return { messages, calls, refCount };
}

function attachmentRefs(value: unknown): string[] {
  return [...JSON.stringify(value).matchAll(/attachment:\/\/([0-9a-f]{32})/g)].map((match) => match[1]!);
}

describe('segment filestore: crashed Inspect fixture', conformanceSuiteOptions(), () => {
  const collector = warningCollector();
  let reader: FilestoreReader;
  const data = new Map<string, FilestoreSampleData>();

  before(async () => {
    reader = await FilestoreReader.open(fixtureLogLocation('crashed-filestore'), { onWarning: collector.onWarning });
    for (const { id } of crashedSamples) data.set(id, (await reader.sampleData(id, 1))!);
  });

  it('lists the 6 manifest samples in manifest order: 2 completed (5, s-008), 4 in progress', () => {
    const samples = reader.samples();
    assert.deepEqual(
      samples.map((sample) => [sample.id, sample.epoch, sample.completed]),
      crashedSamples.map((sample) => [sample.id, 1, sample.completed]),
    );
    for (const sample of samples) {
      assert.equal(String(sample.summary.id), sample.id);
      assert.equal(sample.completed, sample.summary.completed_at != null);
      assert.equal(sample.metadataHash, sample.completed ? 'summary' : null);
      assert.deepEqual(
        sample.segments.map((segment) => segment.id),
        crashedSamples.find((expected) => expected.id === sample.id)?.segments,
      );
    }
    assert.deepEqual(reader.manifest.segments.map((segment) => segment.id), [1, 2, 3, 4]);
    assert.deepEqual(reader.metrics.map((metric) => [metric.name, metric.value]), [['accuracy', 1], ['stderr', 0]]);
  });

  it('looks samples up by id as text, as Inspect does', () => {
    assert.equal(reader.sample(5, 1)?.id, '5');
    assert.equal(reader.sample('5', 1)?.id, '5');
    assert.equal(reader.sample('5', 2), undefined);
  });

  it('collapses events across segments to 39 (completed), 21 (7, s-006) and 17 (9, s-010)', () => {
    for (const expected of crashedSamples) {
      const sample = data.get(expected.id)!;
      assert.equal(sample.events.length, expected.events, `sample ${expected.id}`);
      assert.equal(sample.events.reduce((sum, event) => sum + event.rowCount, 0), expected.rawEvents, `sample ${expected.id}`);
      const firstRows = sample.events.map((event) => event.firstRowId);
      assert.deepEqual(firstRows, [...firstRows].sort((a, b) => a - b), `sample ${expected.id}: slots in first-row order`);
      assert.equal(new Set(sample.events.map((event) => event.eventId)).size, sample.events.length);
    }
  });

  it('keeps the last version of a model call whose first version is in an earlier segment', () => {
    // Sample 7: row 242 (segment 3, pending) and rows 296, 297 (segment 4).
    const call = data.get('7')!.events.find((event) => event.firstRowId === 242);
    assert.equal(call?.eventId, 'ez4zv9rqh8ejCRahLTa2PU');
    assert.equal(call?.id, 297);
    assert.equal(call?.rowCount, 3);
    assert.equal(call?.event.event, 'model');
    assert.notEqual(call?.event.pending, true);
  });

  it('concatenates pool rows in row-id order, and every input_refs / call_refs position is within the pool', () => {
    let refs = 0;
    for (const expected of crashedSamples) {
      const sample = data.get(expected.id)!;
      assert.equal(sample.messagePool.length, expected.messagePool, `sample ${expected.id}`);
      assert.equal(sample.callPool.length, expected.callPool, `sample ${expected.id}`);
      for (const pool of [sample.messagePool, sample.callPool]) {
        const ids = pool.map((row) => row.id);
        assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
      }
      assert.ok(sample.messagePool.every((row) => typeof row.message.role === 'string'));
      const ends = refEnds(sample);
      assert.ok(ends.messages <= sample.messagePool.length, `sample ${expected.id}: input_refs reach ${ends.messages}`);
      assert.ok(ends.calls <= sample.callPool.length, `sample ${expected.id}: call_refs reach ${ends.calls}`);
      refs += ends.refCount;
    }
    assert.ok(refs > 0);
  });

  it('carries the attachments every attachment:// ref of events and pools needs', () => {
    let total = 0;
    for (const { id } of crashedSamples) {
      const sample = data.get(id)!;
      const refs = attachmentRefs([sample.events.map((event) => event.event), sample.messagePool.map((row) => row.message)]);
      for (const hash of refs) assert.ok(sample.attachments.has(hash), `sample ${id}: attachment ${hash}`);
      total += sample.attachments.size;
    }
    assert.equal(total, 4);
    assert.match(data.get('s-008')!.attachments.get('66dcf5645e612b9caf09b4e60fce523e')!, /^Background: arithmetic/);
  });

  it('gives completed samples their full metadata ("summary" marker) and in-progress ones none', () => {
    for (const expected of crashedSamples) {
      const sample = data.get(expected.id)!;
      if (expected.completed) assert.deepEqual(sample.metadata, sample.sample.summary.metadata);
      else assert.equal(sample.metadata, undefined);
    }
  });

  it('reads a sound filestore without damage or warnings', () => {
    for (const sample of data.values()) assert.deepEqual(sample.damage, { skippedSegments: [], poolGap: undefined });
    assert.deepEqual(collector.warnings, []);
  });

  it('answers undefined for a sample the manifest does not list', async () => {
    assert.equal(await reader.sampleData('1', 1), undefined);
  });
});

describe('segment filestore: large Inspect fixture', conformanceSuiteOptions(), () => {
  const collector = warningCollector();
  const storage = new CountingStorage();
  let reader: FilestoreReader;

  before(async () => {
    reader = await FilestoreReader.open(fixtureLogLocation('large'), { storage, onWarning: collector.onWarning });
  });

  it('lists 145 samples (127 completed, 18 in progress) and 42 segments, reading only the manifest', () => {
    const samples = reader.samples();
    assert.equal(samples.length, 145);
    assert.equal(samples.filter((sample) => sample.completed).length, 127);
    assert.equal(samples.filter((sample) => !sample.completed).length, 18);
    assert.equal(reader.manifest.segments.length, 42);
    const referenced = new Set(samples.flatMap((sample) => sample.segments.map((segment) => segment.id)));
    assert.deepEqual([...referenced].sort((a, b) => a - b), [39, 40, 41, 42]);
    assert.deepEqual(storage.opened, [join(filestoreDirForLog(fixtureLogLocation('large')), 'manifest.json')]);
  });

  it('reads each sample from its own segments, each once, in id order', async () => {
    const sample = reader.samples().find((candidate) => candidate.segments.length === 2)!;
    storage.opened.length = 0;
    await reader.sampleData(sample.id, sample.epoch);
    const bufferDir = filestoreDirForLog(fixtureLogLocation('large'));
    assert.deepEqual(
      storage.opened,
      sample.segments.map((segment) => join(bufferDir, segmentFileName(segment.id))),
    );
  });

  it('gives every completed sample its 26 events, with pool refs in range, and warns of nothing', async () => {
    let completed = 0;
    let inProgress = 0;
    for (const sample of reader.samples()) {
      const data = (await reader.sampleData(sample.id, sample.epoch))!;
      if (sample.completed) {
        assert.equal(data.events.length, 26, `sample ${sample.id}`);
        completed++;
      } else {
        assert.ok(data.events.length > 0 && data.events.length <= 26, `sample ${sample.id}`);
        inProgress++;
      }
      const ends = refEnds(data);
      assert.ok(ends.messages <= data.messagePool.length && ends.calls <= data.callPool.length, `sample ${sample.id}`);
      assert.equal(data.damage.skippedSegments.length, 0);
    }
    assert.deepEqual([completed, inProgress], [127, 18]);
    assert.deepEqual(collector.warnings, []);
  });
});
