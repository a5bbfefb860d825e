/**
 * Damage in the crashed log itself, built byte by byte: a flipped byte in a flushed sample, a
 * renamed entry, a damaged journal entry, a file cut mid-entry. The recovered log must never
 * carry damage nor a sample twice, and every whole sample must come back.
 */
import assert from 'node:assert/strict';
import { readFile, truncate, writeFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import type { EvalSample } from '../../src/eval/schemas.js';
import { recoverEvalLog } from '../../src/recover/recover-eval-log.js';
import { arithId, arithSample, arithStart } from '../support/arith-log.js';
import { pythonReadsZip } from '../support/python.js';
import { bufferSample, key, makeScratch, openBufferDatabase, readLog, writeCrashedLog } from '../support/recovery-inputs.js';
import { locateEntry } from '../support/zip-patch.js';

const sample = (index: number): EvalSample => arithSample(index, 1);
const entryName = (index: number) => `samples/${arithId(index)}_epoch_1.json`;

/** A crashed log of three flushed samples; `buffered` are also in its buffer database (as after a flush the buffer has not yet pruned). */
async function crashedRun(t: Parameters<typeof makeScratch>[0], buffered: number[] = []) {
  const scratch = await makeScratch(t);
  const log = scratch.log();
  await writeCrashedLog(log, arithStart({ samples: 4, epochs: 1 }), [[sample(1), sample(2)], [sample(3)]]);
  const db = openBufferDatabase(log, scratch.dataDir);
  for (const index of buffered) bufferSample(db, sample(index), 'completed');
  bufferSample(db, sample(4), 'in-progress');
  await db.close({ cleanup: false });
  return { scratch, log };
}

async function flipByteIn(log: string, name: string): Promise<void> {
  const bytes = await readFile(log);
  const entry = locateEntry(bytes, name);
  bytes[entry.dataOffset + Math.floor(entry.compressedSize / 2)]! ^= 0x10;
  await writeFile(log, bytes);
}

describe('damaged crashed logs', () => {
  it('a flipped byte in a flushed sample: SAMPLE_DAMAGED, the buffered copy is used, and every entry of the output passes its CRC', async (t) => {
    const { log, scratch } = await crashedRun(t, [2]);
    await flipByteIn(log, entryName(2));
    const before = await readFile(log);
    const result = await recoverEvalLog(log, { dataDir: scratch.dataDir });
    assert.deepEqual(
      result.warnings.map((warning) => [warning.code, warning.details?.entry]),
      [['SAMPLE_DAMAGED', entryName(2)]],
    );
    assert.match(result.warnings[0]!.message, /its buffered copy is used instead/);
    assert.deepEqual([result.samples, result.flushed, result.completed, result.inProgress, result.duplicates], [4, 2, 1, 1, 0]);
    const recovered = await readLog(result.output);
    assert.deepEqual([...recovered.samples.keys()].sort(), [1, 2, 3, 4].map((index) => key(arithId(index), 1)).sort());
    assert.equal(recovered.summaries.length, 4);
    assert.equal(pythonReadsZip(result.output).entries, recovered.entryNames.length, 'Python reads every entry, CRCs checked');
    assert.deepEqual(await readFile(log), before, 'the original is unchanged');
  });

  it('a flipped byte in a flushed sample the buffer no longer holds: left out, and the warning says it is lost', async (t) => {
    const { log, scratch } = await crashedRun(t);
    await flipByteIn(log, entryName(1));
    const result = await recoverEvalLog(log, { dataDir: scratch.dataDir });
    assert.deepEqual(result.warnings.map((warning) => warning.code), ['SAMPLE_DAMAGED']);
    assert.match(result.warnings[0]!.message, /cannot be used: .*; left out, that sample is lost/);
    assert.deepEqual([result.samples, result.flushed], [3, 2]);
    const recovered = await readLog(result.output);
    assert.equal(recovered.samples.size, 3);
    assert.equal(recovered.summaries.length, 3, 'no summary for the sample left out');
  });

  it('a flushed sample declaring 600 MB (a bomb): refused before decoding with SAMPLE_DAMAGED, the buffered copy used', async (t) => {
    const { log, scratch } = await crashedRun(t, [2]);
    const bytes = await readFile(log);
    const entry = locateEntry(bytes, entryName(2));
    bytes.writeUInt32LE(600_000_000, entry.centralOffset + 24);
    bytes.writeUInt32LE(600_000_000, entry.localOffset + 22);
    await writeFile(log, bytes);
    const result = await recoverEvalLog(log, { dataDir: scratch.dataDir });
    assert.deepEqual(result.warnings.map((warning) => warning.code), ['SAMPLE_DAMAGED']);
    assert.match(result.warnings[0]!.message, /declares 600000000 bytes, over the 536870912-byte limit .*; left out, its buffered copy is used instead/);
    assert.equal(result.samples, 4);
  });

  it('an entry renamed in the directory (its name says sample 3, it holds sample 1): settled by its content, no sample twice', async (t) => {
    const { log, scratch } = await crashedRun(t, [1]);
    const bytes = await readFile(log);
    // Same length, so only the names change: the central and local names of sample 1's entry.
    const [from, to] = [entryName(1), entryName(1).replace(/^samples\/1_/, 'samples/7_')];
    assert.equal(from.length, to.length);
    const patched = Buffer.from(bytes.toString('latin1').split(from).join(to), 'latin1');
    await writeFile(log, patched);
    const result = await recoverEvalLog(log, { dataDir: scratch.dataDir });
    assert.deepEqual(result.warnings.map((warning) => [warning.code, warning.details?.entry, warning.details?.name]), [['SAMPLE_RENAMED', to, from]]);
    const recovered = await readLog(result.output);
    assert.deepEqual([...recovered.samples.keys()].sort(), [1, 2, 3, 4].map((index) => key(arithId(index), 1)).sort());
    assert.ok(!recovered.entryNames.includes(to), 'written under the name of what it holds');
    assert.equal(result.samples, 4);
    assert.equal(result.duplicates, 1, "the buffer's copy of sample 1 is the duplicate");
    assert.equal(recovered.summaries.length, 4);
  });

  it('a damaged journal entry: JOURNAL_DAMAGED, and its samples are summarized from their own entries', async (t) => {
    const { log, scratch } = await crashedRun(t);
    await flipByteIn(log, '_journal/summaries/1.json');
    const result = await recoverEvalLog(log, { dataDir: scratch.dataDir });
    assert.deepEqual(result.warnings.map((warning) => warning.code), ['JOURNAL_DAMAGED']);
    const recovered = await readLog(result.output);
    assert.equal(recovered.samples.size, 4);
    assert.deepEqual(recovered.summaries.map((row) => row.id).sort(), [1, 2, 3, 4].map(arithId).sort());
  });

  it('a log cut in the middle of an entry: LOG_TRUNCATED, every whole entry plus the buffer', async (t) => {
    const { log, scratch } = await crashedRun(t, [3]);
    const bytes = await readFile(log);
    const third = locateEntry(bytes, entryName(3));
    await truncate(log, third.dataOffset + Math.floor(third.compressedSize / 2));
    const result = await recoverEvalLog(log, { dataDir: scratch.dataDir });
    assert.deepEqual(result.warnings.map((warning) => warning.code), ['LOG_TRUNCATED']);
    assert.equal(result.warnings[0]!.details?.entries, 4, 'start journal, two samples, their journal entry');
    assert.deepEqual([result.samples, result.flushed, result.completed, result.inProgress], [4, 2, 1, 1]);
    const recovered = await readLog(result.output);
    assert.equal(recovered.samples.size, 4);
    assert.equal(pythonReadsZip(result.output).entries, recovered.entryNames.length);
  });
});
