/**
 * Round trip of a log real Inspect wrote: raw-copy its samples and rebuild its journal,
 * summaries, reductions and header with our writer; every entry must decode to the same values.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EvalLogReader } from '../../src/eval/eval-log-reader.js';
import { EvalLogWriter } from '../../src/eval/eval-log-writer.js';
import { EntryName, isSampleEntryName, journalSummaryIndex, sampleEntryName } from '../../src/eval/entry-names.js';
import type { ZipReader } from '../../src/zip/zip-reader.js';
import type { ZipEntry } from '../../src/zip/zip-entry.js';
import { conformanceSuiteOptions, inspectFixture } from '../support/shared-fixtures.js';
import { pythonReadsZip } from '../support/python.js';

const completedLog = () => inspectFixture('completed', '2026-11-22T13-41-33-00-00_arith_dHiqepvQpxKq7cnWKRdU3X.eval');

async function rawBytes(zip: ZipReader, entry: ZipEntry): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of zip.rawChunks(entry)) parts.push(chunk);
  return Buffer.concat(parts);
}

describe('round trip of the completed Inspect log', conformanceSuiteOptions(), () => {
  it('rewrites it with raw-copied samples and rebuilt metadata that decode to the same JSON', async (t) => {
    const directory = await mkdtemp(join(tmpdir(), 'round-trip-'));
    t.after(() => rm(directory, { recursive: true, force: true }));
    const output = join(directory, 'copy.eval');
    const original = await EvalLogReader.open(completedLog());
    t.after(() => original.close());

    const summaries = new Map((await original.summaries()).map((row) => [sampleEntryName(row.id, row.epoch), row]));
    const writer = await EvalLogWriter.create(output, await original.start());
    for (const entry of original.zip.entries) {
      if (isSampleEntryName(entry.name)) {
        await writer.addRawSample(entry, await original.zip.checkedRaw(entry));
        await writer.addSummary(summaries.get(entry.name)!);
      }
      else if (journalSummaryIndex(entry.name) !== undefined) await writer.flush();
    }
    await writer.finish({ header: await original.header(), reductions: (await original.reductions())! });

    const copy = await EvalLogReader.open(output);
    t.after(() => copy.close());
    assert.deepEqual(
      copy.zip.entries.map((entry) => entry.name),
      original.zip.entries.map((entry) => entry.name),
    );
    for (const entry of original.zip.entries) {
      const copied = copy.zip.entry(entry.name)!;
      assert.deepEqual(await copy.zip.json(copied), await original.zip.json(entry), entry.name);
      if (isSampleEntryName(entry.name)) {
        assert.equal(copied.method, entry.method);
        assert.equal(copied.crc32, entry.crc32);
        assert.deepEqual(await rawBytes(copy.zip, copied), await rawBytes(original.zip, entry), `${entry.name} raw bytes`);
      }
    }
    assert.equal((await copy.header()).status, 'success');
    assert.ok(copy.zip.has(EntryName.reductions));
    assert.equal(pythonReadsZip(output).entries, original.zip.entries.length);
  });
});
