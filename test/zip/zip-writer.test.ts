import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CompressionMethod, nodeHasZstd } from '../../src/codec/compression-method.js';
import { EntryDataError, NotFoundError, ZipFormatError } from '../../src/errors.js';
import { Flag } from '../../src/zip/records.js';
import type { ZipEntry } from '../../src/zip/zip-entry.js';
import { ZipWriter } from '../../src/zip/zip-writer.js';
import { pythonReadZip, pythonSuiteOptions, pythonWriteZip, runPython } from '../support/python-zip.js';
import { useTempDir } from '../support/temp-dir.js';
import { locateEntries, patchEntry, rawEntryData } from '../support/zip-patch.js';
import { expectFailure, noise, readAll, sampleText, withReader } from '../support/zip-test-helpers.js';
import { zstdAvailable, zstdDecompress } from '../support/zstd-cli.js';

const { stored, deflate, zstd } = CompressionMethod;

async function* chunked(...parts: (string | Uint8Array)[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield typeof part === 'string' ? Buffer.from(part, 'utf8') : part;
}

describe('ZipWriter, read back by our reader and by Python zipfile', { ...pythonSuiteOptions() }, () => {
  const tmp = useTempDir();

  it('writes deflate and stored entries that both readers decode identically', async () => {
    const path = tmp.file('basic.eval');
    const contents: [string, Buffer, number][] = [
      ['_journal/start.json', Buffer.from('{"version":2,"eval":{"task":"t"}}'), deflate],
      ['samples/1_epoch_1.json', Buffer.from(sampleText(2_500_000)), deflate],
      ['samples/2_epoch_1.json', Buffer.from('{"score":NaN,"big":123456789012345678901}'), stored],
      ['binary.bin', noise(150_000), stored],
      ['empty-deflate.json', Buffer.alloc(0), deflate],
      ['empty-stored.json', Buffer.alloc(0), stored],
    ];
    const writer = await ZipWriter.create(path);
    for (const [name, data, method] of contents) {
      const entry = await writer.add(name, data, { method });
      assert.equal(entry.method, method);
      assert.equal(entry.uncompressedSize, data.length);
    }
    await writer.close();
    assert.equal(existsSync(`${path}.directory`), false, 'the central directory spool is removed on close');

    const python = pythonReadZip(path);
    assert.equal(python.testzip, null, 'Python finds every CRC right');
    assert.equal(python.count, contents.length);
    for (const [index, [name, data, method]] of contents.entries()) {
      const entry = python.entries[index]!;
      assert.equal(entry.name, name);
      assert.equal(entry.compressType, method);
      assert.equal(entry.flagBits, 0, 'ASCII name, no data descriptor');
      assert.equal(entry.extractVersion, 20);
      assert.equal(entry.fileSize, data.length);
      assert.ok(entry.data!.equals(data), `${name}: Python reads the same bytes`);
    }
    assert.ok(python.entries[1]!.compressSize < contents[1]![1].length / 3, 'deflate compresses');

    await withReader(path, async (reader) => {
      assert.equal(reader.archiveSize, statSync(path).size);
      for (const [index, [name, data, method]] of contents.entries()) {
        const entry = reader.entries[index]!;
        assert.equal(entry.name, name);
        assert.equal(entry.method, method);
        assert.equal(entry.crc32, python.entries[index]!.crc);
        assert.equal(entry.compressedSize, python.entries[index]!.compressSize);
        assert.ok(Buffer.from(await reader.bytes(entry)).equals(data), `${name}: we read the same bytes`);
      }
    });
  });

  it('writes strings as UTF-8', async () => {
    const path = tmp.file('strings.zip');
    const writer = await ZipWriter.create(path);
    await writer.add('a.json', '{"q":"¿Qué? 日本語 😀"}', { method: deflate, date: new Date(2025, 9, 6, 10, 15, 43) });
    await writer.close();
    const [entry] = pythonReadZip(path).entries;
    assert.equal(entry!.data!.toString('utf8'), '{"q":"¿Qué? 日本語 😀"}');
    assert.deepEqual(entry!.dateTime, [2025, 10, 6, 10, 15, 42], 'local DOS time, 2-second resolution');
    assert.equal(entry!.externalAttr >>> 16, 0o600, 'rw------- as Python writes by name');
    assert.equal(entry!.createSystem, 3, 'made by Unix');
    assert.deepEqual(await readAll(path), new Map([['a.json', Buffer.from('{"q":"¿Qué? 日本語 😀"}')]]));
  });

  it('sets flag bit 11 for non-ASCII names, and Python decodes them right', async () => {
    const path = tmp.file('names.eval');
    const names = ['samples/é_ü_日本語_😀_epoch_1.json', 'samples/plain_epoch_1.json', 'samples/../etc/passwd_epoch_1.json'];
    const writer = await ZipWriter.create(path);
    for (const name of names) await writer.add(name, name, { method: deflate });
    await writer.close();
    const python = pythonReadZip(path);
    assert.equal(python.testzip, null);
    assert.deepEqual(
      python.entries.map((entry) => entry.name),
      names,
    );
    assert.equal(python.entries[0]!.flagBits & Flag.utf8Name, Flag.utf8Name);
    assert.equal(python.entries[1]!.flagBits & Flag.utf8Name, 0);
    assert.equal(python.entries[0]!.data!.toString('utf8'), names[0]);
    await withReader(path, async (reader) => {
      assert.deepEqual(
        reader.entries.map((entry) => [entry.name, entry.flags]),
        [
          [names[0], Flag.utf8Name],
          [names[1], 0],
          [names[2], 0],
        ],
      );
    });
  });

  it('writes forceZip64 archives that Python and we read', async () => {
    const path = tmp.file('zip64.eval');
    const big = Buffer.from(sampleText(300_000));
    const writer = await ZipWriter.create(path, { forceZip64: true });
    await writer.add('a.json', big, { method: deflate });
    await writer.add('b.bin', noise(1000), { method: stored });
    await writer.add('c.json', chunked('streamed ', 'in parts'), { method: deflate });
    await writer.close();
    const bytes = readFileSync(path);
    assert.equal(bytes.readUInt32LE(0 + 18), 0xffffffff, 'local header sizes are the ZIP64 sentinel');
    assert.equal(bytes.readUInt32LE(bytes.length - 22 - 20), 0x07064b50, 'ZIP64 locator before the end record');
    assert.equal(bytes.readUInt32LE(bytes.length - 22 - 20 - 56), 0x06064b50, 'ZIP64 end record');
    const python = pythonReadZip(path);
    assert.equal(python.testzip, null);
    assert.deepEqual(
      python.entries.map((entry) => [entry.name, entry.extractVersion, entry.fileSize]),
      [
        ['a.json', 45, big.length],
        ['b.bin', 45, 1000],
        ['c.json', 45, 'streamed in parts'.length],
      ],
    );
    assert.ok(python.entries[0]!.data!.equals(big));
    const ours = await readAll(path);
    assert.ok(ours.get('a.json')!.equals(big));
    assert.ok(ours.get('b.bin')!.equals(noise(1000)));
    assert.equal(ours.get('c.json')!.toString(), 'streamed in parts');
  });

  it('writes more than 65,535 entries with ZIP64 end records; Python reads the count', async () => {
    const path = tmp.file('many.zip');
    const count = 65_536 + 4;
    const writer = await ZipWriter.create(path);
    for (let i = 0; i < count; i++) await writer.add(`e${i}`, i % 1000 === 0 ? String(i) : '', { method: stored, date: new Date(2025, 0, 1) });
    await writer.close();
    const bytes = readFileSync(path);
    assert.equal(bytes.readUInt16LE(bytes.length - 22 + 10), 0xffff);
    const output = runPython(
      "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nprint(len(z.infolist()), z.read('e65000').decode(), z.infolist()[-1].filename)",
      { args: [path] },
    );
    assert.equal(output.toString().trim(), `${count} 65000 e${count - 1}`);
    await withReader(path, async (reader) => {
      assert.equal(reader.allEntries.length, count);
      assert.equal(await reader.text(reader.entry('e65000')!), '65000');
    });
  });

  it('streams an entry from an async iterable', async () => {
    const path = tmp.file('streamed.eval');
    const parts = [Buffer.from(sampleText(100_000)), Buffer.alloc(0), noise(70_000), Buffer.from('end')];
    const whole = Buffer.concat(parts);
    const writer = await ZipWriter.create(path);
    const deflated = await writer.add('deflated.json', chunked(...parts), { method: deflate });
    const storedEntry = await writer.add('stored.bin', chunked(...parts), { method: stored });
    await writer.add('empty.json', chunked(), { method: deflate });
    await writer.close();
    assert.equal(deflated.uncompressedSize, whole.length);
    assert.equal(storedEntry.compressedSize, whole.length);
    assert.equal(deflated.versionNeeded, 45, 'unknown size: ZIP64 local header, as Python for force_zip64');
    const python = pythonReadZip(path);
    assert.equal(python.testzip, null);
    assert.ok(python.entries[0]!.data!.equals(whole));
    assert.ok(python.entries[1]!.data!.equals(whole));
    assert.equal(python.entries[2]!.data!.length, 0);
    const ours = await readAll(path);
    assert.ok(ours.get('deflated.json')!.equals(whole));
    assert.ok(ours.get('stored.bin')!.equals(whole));
  });

  it('leaves a complete archive after writeCentralDirectory, and can append after it', async () => {
    const path = tmp.file('flushed.eval');
    const snapshot = tmp.file('flushed-snapshot.eval');
    const writer = await ZipWriter.create(path);
    await writer.add('_journal/start.json', '{"version":2}', { method: deflate });
    await writer.add('samples/1_epoch_1.json', sampleText(50_000), { method: deflate });
    const length = await writer.writeCentralDirectory();
    assert.equal(length, statSync(path).size);
    copyFileSync(path, snapshot);
    const flushed = pythonReadZip(snapshot);
    assert.equal(flushed.testzip, null);
    assert.deepEqual(
      flushed.entries.map((entry) => entry.name),
      ['_journal/start.json', 'samples/1_epoch_1.json'],
    );
    assert.deepEqual([...(await readAll(path)).keys()], ['_journal/start.json', 'samples/1_epoch_1.json'], 'readable while still open');

    assert.equal(await writer.writeCentralDirectory(), length, 'writing it again changes nothing');
    assert.ok(readFileSync(path).equals(readFileSync(snapshot)));

    await writer.add('samples/2_epoch_1.json', 'x', { method: stored }); // smaller than the old directory
    await writer.add('samples/1_epoch_1.json', '{"run":2}', { method: deflate });
    await writer.close();
    const final = pythonReadZip(path);
    assert.equal(final.testzip, null);
    assert.deepEqual(
      final.entries.map((entry) => entry.name),
      ['_journal/start.json', 'samples/1_epoch_1.json', 'samples/2_epoch_1.json', 'samples/1_epoch_1.json'],
    );
    await withReader(path, async (reader) => {
      assert.equal(reader.allEntries.length, 4);
      assert.deepEqual(await reader.json(reader.entry('samples/1_epoch_1.json')!), { run: 2 }, 'the appended duplicate wins');
      assert.equal(await reader.text(reader.entry('samples/2_epoch_1.json')!), 'x');
    });
  });

  it('drop leaves an entry out of the directory from the next write on: a later entry of the same name is the only one either reader sees', async () => {
    const path = tmp.file('dropped.eval');
    const writer = await ZipWriter.create(path);
    await writer.add('_journal/start.json', '{"version":2}', { method: deflate });
    const first = await writer.add('samples/1_epoch_1.json', '{"attempt":1}', { method: deflate });
    await writer.add('samples/2_epoch_1.json', '{"attempt":1}', { method: deflate });
    await writer.writeCentralDirectory();
    writer.drop(first);
    writer.drop(first);
    await writer.add('samples/1_epoch_1.json', '{"attempt":2}', { method: deflate });
    await writer.close();
    const python = pythonReadZip(path);
    assert.equal(python.testzip, null);
    assert.deepEqual(
      python.entries.map((entry) => entry.name),
      ['_journal/start.json', 'samples/2_epoch_1.json', 'samples/1_epoch_1.json'],
    );
    await withReader(path, async (reader) => {
      assert.equal(reader.allEntries.length, 3);
      assert.deepEqual(await reader.json(reader.entry('samples/1_epoch_1.json')!), { attempt: 2 });
    });
    assert.throws(() => writer.drop({ localHeaderOffset: 7 }), ZipFormatError);
  });

  it('drops records anywhere in a directory larger than one read of it (records split across chunks)', async () => {
    const path = tmp.file('dropped-many.zip');
    const count = 20_000;
    const writer = await ZipWriter.create(path);
    const entries: ZipEntry[] = [];
    for (let i = 0; i < count; i++) entries.push(await writer.add(`samples/${i}_epoch_1.json`, '', { method: stored, date: new Date(2025, 0, 1) }));
    // The record that spans the first 1 MiB read of the directory (46 fixed bytes and its name each), and its neighbours.
    let spanning = 0;
    for (let start = 0; start + 46 + entries[spanning]!.name.length <= 1024 * 1024; spanning++) start += 46 + entries[spanning]!.name.length;
    const droppedIndexes = [0, 1, 7, 12_345, spanning - 1, spanning, spanning + 1, count - 1];
    for (const index of droppedIndexes) writer.drop(entries[index]!);
    await writer.close();
    const kept = entries.map((entry) => entry.name).filter((_, index) => !droppedIndexes.includes(index));
    const output = runPython("import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nprint('\\n'.join(i.filename for i in z.infolist()))", { args: [path] });
    assert.deepEqual(output.toString().trim().split('\n'), kept);
    await withReader(path, async (reader) => assert.deepEqual(reader.allEntries.map((entry) => entry.name), kept));
  });

  it('leaves an unreadable (truncated) archive when abandoned before any directory', async () => {
    const path = tmp.file('abandoned.eval');
    const writer = await ZipWriter.create(path);
    await writer.add('a.json', '{}', { method: deflate });
    await writer.abandon();
    assert.equal(existsSync(`${path}.directory`), false, 'the central directory spool is removed');
    await expectFailure(() => withReader(path, async () => undefined), ZipFormatError, path, 'truncated');
  });

  it('refuses an encoder it does not have without damaging the archive', { skip: nodeHasZstd ? 'this Node encodes zstd' : false }, async () => {
    const path = tmp.file('no-zstd.eval');
    const writer = await ZipWriter.create(path);
    await writer.add('a.json', '{"a":1}', { method: deflate });
    await expectFailure(() => writer.add('b.json', '{"b":2}', { method: zstd }), EntryDataError, 'zstd encoding needs Node 22.15');
    await expectFailure(() => writer.add('c.json', 'x', { method: 12 }), EntryDataError, 'cannot encode method 12');
    const defaulted = await writer.add('d.json', '{"d":4}');
    assert.equal(defaulted.method, deflate, 'the default is deflate where zstd cannot be written');
    await writer.close();
    const python = pythonReadZip(path);
    assert.equal(python.testzip, null);
    assert.deepEqual(
      python.entries.map((entry) => entry.name),
      ['a.json', 'd.json'],
    );
  });

  it('reports a path in a missing directory as NotFoundError', async () => {
    const path = tmp.file('no-such-dir/out.eval');
    await expectFailure(() => ZipWriter.create(path), NotFoundError, path);
  });
});

describe('ZipWriter.addRaw', { ...pythonSuiteOptions() }, () => {
  const tmp = useTempDir();

  it('copies entries byte for byte with the same CRC and sizes, without decoding them', async () => {
    const sourcePath = tmp.file('source.eval');
    const text = sampleText(400_000);
    pythonWriteZip(sourcePath, {
      entries: [
        { name: 'samples/1_epoch_1.json', data: text },
        { name: 'undecodable.json', data: sampleText(5000) },
        { name: 'bad-crc.bin', data: noise(3000), method: 'stored' },
        { name: 'zip64.json', data: '{"forced":true}', forceZip64: true },
      ],
    });
    // Make two entries unreadable: an unsupported method, and a wrong CRC.
    let sourceBytes = patchEntry(readFileSync(sourcePath), 'undecodable.json', { method: 12 });
    sourceBytes = patchEntry(sourceBytes, 'bad-crc.bin', { crc32: 0x12345678 });
    writeFileSync(sourcePath, sourceBytes);

    const copyPath = tmp.file('copy.eval');
    const copied: ZipEntry[] = [];
    const sources: ZipEntry[] = [];
    await withReader(sourcePath, async (reader) => {
      await expectFailure(() => reader.bytes(reader.entry('undecodable.json')!), EntryDataError, 'method 12');
      const writer = await ZipWriter.create(copyPath);
      for (const entry of reader.entries) {
        sources.push(entry);
        copied.push(await writer.addRaw(entry, reader.rawChunks(entry)));
      }
      copied.push(await writer.addRaw(reader.entry('samples/1_epoch_1.json')!, reader.rawChunks(reader.entry('samples/1_epoch_1.json')!), 'renamed.json'));
      await writer.close();
    });

    for (const [index, source] of sources.entries()) {
      const copy = copied[index]!;
      assert.equal(copy.name, source.name);
      assert.equal(copy.method, source.method);
      assert.equal(copy.crc32, source.crc32);
      assert.equal(copy.compressedSize, source.compressedSize);
      assert.equal(copy.uncompressedSize, source.uncompressedSize);
      assert.ok(rawEntryData(readFileSync(copyPath), source.name).equals(rawEntryData(sourceBytes, source.name)), `${source.name}: same raw bytes`);
    }
    assert.ok(rawEntryData(readFileSync(copyPath), 'renamed.json').equals(rawEntryData(sourceBytes, 'samples/1_epoch_1.json')));

    await withReader(copyPath, async (reader) => {
      assert.equal(await reader.text(reader.entry('samples/1_epoch_1.json')!), text);
      assert.equal(await reader.text(reader.entry('renamed.json')!), text);
      assert.deepEqual(await reader.json(reader.entry('zip64.json')!), { forced: true });
      await expectFailure(() => reader.bytes(reader.entry('undecodable.json')!), EntryDataError, 'unsupported compression method 12');
      await expectFailure(() => reader.bytes(reader.entry('bad-crc.bin')!), EntryDataError, 'CRC-32 mismatch');
    });
    // Python reads the copies of the good entries (and finds the bad CRC, as in the source).
    const python = pythonReadZip(copyPath, { data: false });
    assert.deepEqual(
      python.entries.map((entry) => [entry.name, entry.compressType, entry.crc]),
      copied.map((entry) => [entry.name, entry.method, entry.crc32]),
    );
    const check = runPython(
      "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nprint(z.read('samples/1_epoch_1.json') == z.read('renamed.json'), len(z.read('renamed.json')))",
      { args: [copyPath] },
    );
    assert.equal(check.toString().trim(), `True ${Buffer.byteLength(text)}`);
    assert.equal(locateEntries(readFileSync(copyPath)).length, 5);
  });
});

describe('ZipWriter with zstd', { skip: nodeHasZstd ? false : `Node ${process.version} has no zstd encoder (needs 22.15+); entries default to deflate` }, () => {
  const tmp = useTempDir();

  it('writes zstd entries that our reader and the zstd CLI decode', async () => {
    const path = tmp.file('zstd.eval');
    const data = Buffer.from(sampleText(500_000));
    const writer = await ZipWriter.create(path);
    const entry = await writer.add('samples/1_epoch_1.json', data, { method: zstd });
    const defaulted = await writer.add('default.json', '{}');
    await writer.close();
    assert.equal(entry.method, zstd);
    assert.equal(defaulted.method, zstd);
    assert.equal(entry.versionNeeded, 20);
    const ours = await readAll(path);
    assert.ok(ours.get('samples/1_epoch_1.json')!.equals(data));
    if (zstdAvailable()) assert.ok(zstdDecompress(rawEntryData(readFileSync(path), 'samples/1_epoch_1.json')).equals(data));
  });
});
