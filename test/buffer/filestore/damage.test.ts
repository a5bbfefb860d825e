/** The reader on damaged copies of the crashed fixture: bad segments are skipped, warned about once, and pool gaps reported. */
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { FilestoreReader, type FilestoreSampleData } from '../../../src/buffer/filestore/reader.js';
import { JsonFormatError, NotFoundError } from '../../../src/errors.js';
import { StrictModeError } from '../../../src/warnings.js';
import { conformanceSuiteOptions } from '../../support/shared-fixtures.js';
import { useTempDir } from '../../support/temp-dir.js';
import { copyFixtureLayout, fixtureLogLocation, noiseBytes, warningCollector } from './filestore-helpers.js';

const sampleIds = ['5', '7', '9', 's-006', 's-008', 's-010'];
/** Raw event rows of each sample in each segment (the segment members of the fixture). */
const eventRowsBySegment: Record<number, Record<string, number>> = {
  2: { '5': 17 },
  3: { '5': 9, '7': 17, 's-006': 17, 's-008': 17 },
  4: { '5': 20, '7': 7, '9': 17, 's-006': 7, 's-008': 29, 's-010': 17 },
};

type Damage = (segmentPath: string) => Promise<void>;

const damages: Array<{ name: string; segment: number; damage: Damage; soundRows: Record<string, { messagePool: number; callPool: number }> }> = [
  {
    name: 'deleted',
    segment: 3,
    damage: (path) => rm(path),
    soundRows: {
      '5': { messagePool: 2, callPool: 0 },
      '7': { messagePool: 0, callPool: 2 },
      's-006': { messagePool: 0, callPool: 2 },
      's-008': { messagePool: 0, callPool: 6 },
    },
  },
  {
    name: 'truncated',
    segment: 2,
    damage: async (path) => truncate(path, Math.floor((await readFile(path)).length / 2)),
    soundRows: { '5': { messagePool: 0, callPool: 6 } },
  },
  {
    name: 'overwritten with random bytes',
    segment: 4,
    damage: async (path) => writeFile(path, noiseBytes((await readFile(path)).length)),
    soundRows: {
      '5': { messagePool: 4, callPool: 4 },
      '7': { messagePool: 2, callPool: 0 },
      '9': { messagePool: 0, callPool: 0 },
      's-006': { messagePool: 2, callPool: 0 },
      's-008': { messagePool: 2, callPool: 0 },
      's-010': { messagePool: 0, callPool: 0 },
    },
  },
];

async function readAll(reader: FilestoreReader): Promise<Map<string, FilestoreSampleData>> {
  const data = new Map<string, FilestoreSampleData>();
  for (const id of sampleIds) data.set(id, (await reader.sampleData(id, 1))!);
  return data;
}

function rawRowCount(data: FilestoreSampleData): number {
  return data.events.reduce((sum, event) => sum + event.rowCount, 0);
}

describe('segment filestore: damaged copies of the crashed fixture', conformanceSuiteOptions(), () => {
  const temp = useTempDir('filestore-damage-');
  let pristine: Map<string, FilestoreSampleData>;

  before(async () => {
    const reader = await FilestoreReader.open(fixtureLogLocation('crashed-filestore'));
    pristine = await readAll(reader);
    await reader.close();
  });

  async function damagedCopy(name: string, damage: (bufferDir: string) => Promise<void>) {
    const { logLocation, bufferDir } = await copyFixtureLayout('crashed-filestore', join(temp.path, name));
    await damage(bufferDir);
    return { logLocation, bufferDir };
  }

  for (const { name, segment, damage, soundRows } of damages) {
    it(`skips a segment that was ${name}, with one warning naming it and its samples, and reports pool gaps`, async (t) => {
      const { logLocation, bufferDir } = await damagedCopy(name.replaceAll(' ', '-'), (dir) => damage(join(dir, `segment.${segment}.zip`)));
      const collector = warningCollector();
      const reader = await FilestoreReader.open(logLocation, { onWarning: collector.onWarning });
      t.after(() => reader.close());
      const data = await readAll(reader);
      const holders = Object.keys(eventRowsBySegment[segment]!);

      const [unreadable, ...others] = collector.ofCode('SEGMENT_UNREADABLE');
      assert.equal(others.length, 0);
      assert.ok(unreadable);
      assert.match(unreadable.message, new RegExp(`segment\\.${segment}\\.zip`));
      for (const id of holders) assert.ok(unreadable.message.includes(`${id} (epoch 1)`), `${unreadable.message} names ${id}`);
      assert.doesNotMatch(unreadable.message, /\n/);
      assert.deepEqual(unreadable.details?.samples, reader.samples().filter((sample) => holders.includes(sample.id)).map(({ id, epoch }) => ({ id, epoch })));
      assert.equal(unreadable.details?.location, join(bufferDir, `segment.${segment}.zip`));

      for (const id of sampleIds) {
        const sample = data.get(id)!;
        if (!holders.includes(id)) {
          assert.deepEqual(sample, pristine.get(id), `sample ${id} is untouched`);
          continue;
        }
        assert.deepEqual(sample.damage.skippedSegments.map((skipped) => skipped.id), [segment], `sample ${id}`);
        assert.equal(rawRowCount(sample), rawRowCount(pristine.get(id)!) - eventRowsBySegment[segment]![id]!, `sample ${id}: the other segments' rows are all there`);
        assert.deepEqual(sample.damage.poolGap?.soundRows, soundRows[id], `sample ${id}`);
      }

      const gaps = collector.ofCode('POOL_GAP');
      assert.deepEqual(gaps.map((gap) => (gap.details?.sample as { id: string }).id).sort(), Object.keys(soundRows).sort());
      for (const gap of gaps) {
        assert.match(gap.message, new RegExp(`segment\\.${segment}\\.zip`));
        assert.deepEqual(gap.details?.segmentIds, [segment]);
      }
      assert.equal(collector.warnings.length, 1 + gaps.length);
    });
  }

  it('warns once per bad segment when several are bad, however often they are read', async (t) => {
    const { logLocation } = await damagedCopy('two-deleted', async (dir) => {
      await rm(join(dir, 'segment.3.zip'));
      await rm(join(dir, 'segment.4.zip'));
    });
    const collector = warningCollector();
    const reader = await FilestoreReader.open(logLocation, { onWarning: collector.onWarning });
    t.after(() => reader.close());
    await readAll(reader);
    await readAll(reader);
    const unreadable = collector.ofCode('SEGMENT_UNREADABLE');
    assert.equal(unreadable.length, 2);
    assert.deepEqual(unreadable.map((warning) => warning.details?.segmentId), [3, 4]);
    // Sample 9 had only segment 4: nothing is left of it but its summary.
    const nine = (await reader.sampleData('9', 1))!;
    assert.deepEqual([nine.events.length, nine.messagePool.length, nine.damage.skippedSegments.length], [0, 0, 1]);
  });

  it('throws the warning in strict mode on every read that meets the damage, and reads undamaged samples as usual', async (t) => {
    const { logLocation } = await damagedCopy('strict', (dir) => rm(join(dir, 'segment.3.zip')));
    const reader = await FilestoreReader.open(logLocation, { strict: true });
    t.after(() => reader.close());
    assert.deepEqual(await reader.sampleData('9', 1), pristine.get('9'));
    for (const id of ['5', '5', '7']) {
      await assert.rejects(reader.sampleData(id, 1), (error: unknown) => {
        assert.ok(error instanceof StrictModeError);
        assert.equal(error.warning.code, 'SEGMENT_UNREADABLE');
        assert.match(error.message, /segment\.3\.zip/);
        return true;
      }, `sample ${id}`);
    }
  });

  it('reports a missing manifest as NotFoundError, one line naming the file', async () => {
    const { logLocation, bufferDir } = await damagedCopy('no-manifest', (dir) => rm(join(dir, 'manifest.json')));
    await assert.rejects(FilestoreReader.open(logLocation), (error: unknown) => {
      assert.ok(error instanceof NotFoundError);
      assert.ok(error.message.includes(join(bufferDir, 'manifest.json')));
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
    // No .buffer directory at all: the same.
    await mkdir(join(temp.path, 'empty'));
    await assert.rejects(FilestoreReader.open(join(temp.path, 'empty', 'x.eval')), NotFoundError);
  });

  for (const [label, text] of [
    ['not JSON', '{"samples": [{"summary": '],
    ['not a manifest', '{"samples": {"summary": {}}}'],
  ] as const) {
    it(`reports a manifest that is ${label} as JsonFormatError, one line naming the file`, async () => {
      const { logLocation, bufferDir } = await damagedCopy(`manifest-${label.replaceAll(' ', '-')}`, (dir) => writeFile(join(dir, 'manifest.json'), text));
      await assert.rejects(FilestoreReader.open(logLocation), (error: unknown) => {
        assert.ok(error instanceof JsonFormatError);
        assert.ok(error.message.startsWith(join(bufferDir, 'manifest.json')));
        assert.doesNotMatch(error.message, /\n/);
        return true;
      });
    });
  }
});
