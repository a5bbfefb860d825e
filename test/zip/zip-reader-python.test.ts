import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Flag } from '../../src/zip/records.js';
import { pythonReadZip, pythonSuiteOptions, pythonWriteManyEntries, pythonWriteZip } from '../support/python-zip.js';
import { useTempDir } from '../support/temp-dir.js';
import { locateEntries } from '../support/zip-patch.js';
import { noise, sampleText, withReader } from '../support/zip-test-helpers.js';

/** Our reader on archives written by Python's zipfile, the implementation Inspect uses. */
describe('ZipReader on archives written by Python zipfile', { ...pythonSuiteOptions() }, () => {
  const tmp = useTempDir();

  it('reads a deflate-only archive like older Inspect logs', async () => {
    const path = tmp.file('deflate.eval');
    const start = '{"version":2,"eval":{"task":"t","created":"2025-10-06T10:15:43+00:00"},"plan":{}}';
    const sample = `{"id":1,"epoch":1,"scores":{"match":{"value":NaN}},"metadata":{"big":123456789012345678901234567890}}`;
    const big = sampleText(17 * 1024 * 1024 + 17); // past the whole-entry limit: several raw chunks and many inflate slices
    pythonWriteZip(path, {
      entries: [
        { name: '_journal/start.json', data: start },
        { name: 'samples/1_epoch_1.json', data: sample },
        { name: 'samples/2_epoch_1.json', data: big },
        { name: 'empty.json', data: '' },
      ],
    });
    const python = pythonReadZip(path, { data: false });
    await withReader(path, async (reader) => {
      assert.deepEqual(
        reader.entries.map((entry) => entry.name),
        ['_journal/start.json', 'samples/1_epoch_1.json', 'samples/2_epoch_1.json', 'empty.json'],
      );
      for (const [index, entry] of reader.entries.entries()) {
        const expected = python.entries[index]!;
        assert.equal(entry.method, 8);
        assert.equal(entry.flags, 0);
        assert.equal(entry.crc32, expected.crc);
        assert.equal(entry.compressedSize, expected.compressSize);
        assert.equal(entry.uncompressedSize, expected.fileSize);
        assert.equal(entry.localHeaderOffset, expected.headerOffset);
      }
      assert.equal(await reader.text(reader.entry('_journal/start.json')!), start);
      assert.equal(await reader.text(reader.entry('samples/2_epoch_1.json')!), big);
      assert.equal((await reader.bytes(reader.entry('empty.json')!)).length, 0);
      const parsed = (await reader.json(reader.entry('samples/1_epoch_1.json')!)) as {
        scores: { match: { value: number } };
        metadata: { big: bigint };
      };
      assert.ok(Number.isNaN(parsed.scores.match.value));
      assert.equal(parsed.metadata.big, 123456789012345678901234567890n);
      let chunks = 0;
      for await (const chunk of reader.chunks(reader.entry('samples/2_epoch_1.json')!)) chunks += chunk.length > 0 ? 1 : 0;
      assert.ok(chunks > 1, 'an entry past the whole-decode limit streams in several chunks');
    });
  });

  it('reads stored entries and mixes of methods', async () => {
    const path = tmp.file('stored.zip');
    const binary = noise(200_000);
    pythonWriteZip(path, {
      entries: [
        { name: 'a.bin', data: binary, method: 'stored' },
        { name: 'b.txt', data: 'deflated text '.repeat(100), method: 'deflate' },
        { name: 'c.empty', data: '', method: 'stored' },
      ],
    });
    await withReader(path, async (reader) => {
      assert.deepEqual(
        reader.entries.map((entry) => [entry.name, entry.method]),
        [
          ['a.bin', 0],
          ['b.txt', 8],
          ['c.empty', 0],
        ],
      );
      assert.deepEqual(Buffer.from(await reader.bytes(reader.entry('a.bin')!)), binary);
      assert.equal(await reader.text(reader.entry('b.txt')!), 'deflated text '.repeat(100));
      assert.equal((await reader.bytes(reader.entry('c.empty')!)).length, 0);
      const raw: Buffer[] = [];
      for await (const chunk of reader.rawChunks(reader.entry('a.bin')!)) raw.push(Buffer.from(chunk));
      assert.deepEqual(Buffer.concat(raw), binary, 'raw bytes of a stored entry are the data');
    });
  });

  it('reads an archive with a comment', async () => {
    const path = tmp.file('comment.zip');
    const comment = 'archive comment '.repeat(200);
    pythonWriteZip(path, { entries: [{ name: 'x.json', data: '{"x":1}' }], comment });
    assert.equal(pythonReadZip(path, { data: false }).comment, comment);
    await withReader(path, async (reader) => {
      assert.deepEqual(await reader.json(reader.entry('x.json')!), { x: 1 });
    });
  });

  it('reads entries written with force_zip64 (0xFFFFFFFF local sizes and a ZIP64 extra)', async () => {
    const path = tmp.file('zip64.eval');
    const data = sampleText(100_000);
    pythonWriteZip(path, {
      entries: [
        { name: 'samples/1_epoch_1.json', data, forceZip64: true },
        { name: 'samples/2_epoch_1.json', data: 'stored', method: 'stored', forceZip64: true },
        { name: 'plain.json', data: '{}' },
      ],
    });
    const bytes = readFileSync(path);
    const [first] = locateEntries(bytes);
    assert.equal(bytes.readUInt32LE(first!.localOffset + 18), 0xffffffff, 'input check: local compressed size is the sentinel');
    assert.equal(bytes.readUInt32LE(first!.localOffset + 22), 0xffffffff, 'input check: local size is the sentinel');
    const extraAt = first!.localOffset + 30 + bytes.readUInt16LE(first!.localOffset + 26);
    assert.equal(bytes.readUInt16LE(extraAt), 0x0001, 'input check: the local header has a ZIP64 extra');
    await withReader(path, async (reader) => {
      const entry = reader.entry('samples/1_epoch_1.json')!;
      assert.equal(entry.uncompressedSize, data.length);
      assert.equal(entry.versionNeeded, 45);
      assert.equal(await reader.text(entry), data);
      assert.equal(await reader.text(reader.entry('samples/2_epoch_1.json')!), 'stored');
      assert.equal(await reader.text(reader.entry('plain.json')!), '{}');
    });
  });

  it('reads an archive with more than 65,535 entries (ZIP64 end record and locator)', async () => {
    const path = tmp.file('many.zip');
    const count = 65_536 + 9;
    pythonWriteManyEntries(path, count);
    const bytes = readFileSync(path);
    assert.equal(bytes.readUInt32LE(bytes.length - 22 - 20), 0x07064b50, 'input check: Python wrote a ZIP64 locator');
    assert.equal(bytes.readUInt16LE(bytes.length - 22 + 10), 0xffff, 'input check: the end record holds the sentinel');
    await withReader(path, async (reader) => {
      assert.equal(reader.allEntries.length, count);
      assert.equal(reader.entries.length, count);
      assert.equal(reader.allEntries[0]!.name, 'entry-0');
      assert.equal(await reader.text(reader.entry('entry-65535')!), '65535');
      assert.equal(await reader.text(reader.entry(`entry-${count - 1}`)!), String(count - 1));
    });
  });

  it('reads an archive with exactly 65,535 entries, where 0xFFFF is the real count and there is no ZIP64 record', async () => {
    const path = tmp.file('boundary.zip');
    pythonWriteManyEntries(path, 65_535);
    const bytes = readFileSync(path);
    assert.equal(bytes.readUInt16LE(bytes.length - 22 + 10), 0xffff, 'input check: the count field holds 0xFFFF');
    assert.notEqual(bytes.readUInt32LE(bytes.length - 22 - 20), 0x07064b50, 'input check: no ZIP64 locator');
    assert.equal(pythonReadZip(path, { data: false, entries: false }).count, 65_535);
    await withReader(path, async (reader) => {
      assert.equal(reader.allEntries.length, 65_535);
      assert.equal(await reader.text(reader.entry('entry-65534')!), '65534');
    });
  });

  it("reads every directory entry even when the end record's count is wrong (a wrapped 16-bit count), like Python", async () => {
    const path = tmp.file('wrapped-count.zip');
    pythonWriteZip(path, { entries: ['a', 'b', 'c'].map((name) => ({ name, data: name })) });
    const bytes = readFileSync(path);
    bytes.writeUInt16LE(1, bytes.length - 22 + 8);
    bytes.writeUInt16LE(1, bytes.length - 22 + 10);
    writeFileSync(path, bytes);
    assert.equal(pythonReadZip(path, { data: false }).count, 3, 'input check: Python reads all three');
    await withReader(path, async (reader) => {
      assert.deepEqual(
        reader.entries.map((entry) => entry.name),
        ['a', 'b', 'c'],
      );
      assert.equal(await reader.text(reader.entry('c')!), 'c');
    });
  });

  it('reads entries with data descriptors (written to a pipe)', async () => {
    const path = tmp.file('descriptors.zip');
    const text = sampleText(50_000);
    pythonWriteZip(path, {
      unseekable: true,
      entries: [
        { name: 'a.json', data: text },
        { name: 'b.bin', data: noise(3000), method: 'stored' },
        { name: 'c.json', data: '[NaN]' },
      ],
    });
    const bytes = readFileSync(path);
    const [first] = locateEntries(bytes);
    assert.equal(bytes.readUInt16LE(first!.localOffset + 6) & Flag.dataDescriptor, Flag.dataDescriptor, 'input check: flag bit 3');
    assert.equal(bytes.readUInt32LE(first!.localOffset + 14), 0, 'input check: the local header has no CRC');
    await withReader(path, async (reader) => {
      for (const entry of reader.entries) assert.equal(entry.flags & Flag.dataDescriptor, Flag.dataDescriptor);
      assert.equal(await reader.text(reader.entry('a.json')!), text);
      assert.deepEqual(Buffer.from(await reader.bytes(reader.entry('b.bin')!)), noise(3000));
      const [nan] = (await reader.json(reader.entry('c.json')!)) as number[];
      assert.ok(Number.isNaN(nan));
    });
  });

  it('resolves duplicate names to the last entry and keeps every entry in allEntries', async () => {
    const path = tmp.file('duplicates.eval');
    pythonWriteZip(path, {
      entries: [
        { name: 'samples/1_epoch_1.json', data: '{"run":1}' },
        { name: 'summaries.json', data: '[]' },
        { name: 'samples/1_epoch_1.json', data: '{"run":2}' },
        { name: 'other.json', data: '{}' },
      ],
    });
    await withReader(path, async (reader) => {
      assert.deepEqual(
        reader.allEntries.map((entry) => entry.name),
        ['samples/1_epoch_1.json', 'summaries.json', 'samples/1_epoch_1.json', 'other.json'],
      );
      assert.deepEqual(
        reader.entries.map((entry) => entry.name),
        ['summaries.json', 'samples/1_epoch_1.json', 'other.json'],
      );
      assert.deepEqual(await reader.json(reader.entry('samples/1_epoch_1.json')!), { run: 2 });
      assert.deepEqual(reader.entry('samples/1_epoch_1.json'), reader.allEntries[2]);
      assert.deepEqual(await reader.json(reader.allEntries[0]!), { run: 1 }, 'the earlier copy is still readable');
      assert.equal(reader.has('summaries.json'), true);
      assert.equal(reader.has('missing.json'), false);
      assert.equal(reader.entry('missing.json'), undefined);
    });
  });

  it('decodes non-ASCII names (flag bit 11) and keeps path-unsafe names verbatim', async () => {
    const path = tmp.file('names.eval');
    const names = ['samples/é_ü_日本語_😀_epoch_1.json', 'samples/../etc/passwd_epoch_1.json', 'samples/ascii_epoch_1.json'];
    pythonWriteZip(path, { entries: names.map((name, i) => ({ name, data: `{"i":${i}}` })) });
    const python = pythonReadZip(path, { data: false });
    assert.equal(python.entries[0]!.flagBits & Flag.utf8Name, Flag.utf8Name, 'input check: Python set bit 11');
    await withReader(path, async (reader) => {
      assert.deepEqual(
        reader.entries.map((entry) => entry.name),
        names,
      );
      assert.equal(reader.entries[0]!.flags & Flag.utf8Name, Flag.utf8Name);
      assert.equal(reader.entries[2]!.flags & Flag.utf8Name, 0);
      assert.deepEqual(await reader.json(reader.entry(names[0]!)!), { i: 0 });
      assert.deepEqual(await reader.json(reader.entry(names[1]!)!), { i: 1 });
    });
  });

  it('reads an empty archive', async () => {
    const path = tmp.file('empty.zip');
    pythonWriteZip(path, { entries: [] });
    await withReader(path, async (reader) => {
      assert.equal(reader.allEntries.length, 0);
      assert.deepEqual(reader.entries, []);
      assert.equal(reader.archiveSize, 22);
    });
  });
});
