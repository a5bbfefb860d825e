import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { MemoryByteSource } from '../../src/bytes/byte-source.js';
import { EntryDataError, NotFoundError, StorageError, ZipFormatError } from '../../src/errors.js';
import { ZipReader } from '../../src/zip/zip-reader.js';
import { ZipWriter } from '../../src/zip/zip-writer.js';
import { pythonCrc32, pythonSuiteOptions, pythonWriteZip } from '../support/python-zip.js';
import { useTempDir } from '../support/temp-dir.js';
import { centralDirectoryBounds, locateEntry, patchEntry } from '../support/zip-patch.js';
import { expectFailure, noise, sampleText, withReader } from '../support/zip-test-helpers.js';

describe('ZipReader on files that are not zip archives', () => {
  const tmp = useTempDir();

  const notZips: [string, () => Uint8Array][] = [
    ['random bytes', () => noise(4096, 12345)],
    ['an empty file', () => new Uint8Array(0)],
    ['a text file', () => Buffer.from('{"this": "is JSON, not a zip"}\nsecond line\n')],
    ['a file of zeros longer than an end record', () => new Uint8Array(100)],
    ['two bytes "PK"', () => Buffer.from('PK')],
  ];
  for (const [what, bytes] of notZips) {
    it(`refuses ${what}: ZipFormatError "not a zip archive" naming the file`, async () => {
      const path = tmp.file(`${what.replace(/\W+/g, '-')}.eval`);
      writeFileSync(path, bytes());
      const error = await expectFailure(() => withReader(path, async () => undefined), ZipFormatError, path, 'not a zip archive');
      assert.equal(error.code, 'ZIP_FORMAT');
    });
  }

  it('names an in-memory source too', async () => {
    await expectFailure(() => ZipReader.open(new MemoryByteSource(Buffer.from('hello'), 'mem://x')), ZipFormatError, 'mem://x: not a zip archive');
  });

  it('reports a missing file as NotFoundError naming it', async () => {
    const path = tmp.file('does-not-exist.eval');
    const error = await expectFailure(() => withReader(path, async () => undefined), NotFoundError, path, 'no such file');
    assert.equal(error.code, 'NOT_FOUND');
  });

  it('reports a missing parent directory as NotFoundError', async () => {
    const path = tmp.file('no-such-dir/x.eval');
    await expectFailure(() => withReader(path, async () => undefined), NotFoundError, path);
  });

  it('reports a directory as StorageError naming it', async () => {
    const path = tmp.file('a-directory.eval');
    mkdirSync(path);
    const error = await expectFailure(() => withReader(path, async () => undefined), StorageError, path, 'is a directory');
    assert.equal(error.code, 'STORAGE');
  });
});

describe('ZipReader on truncated and damaged archives', { ...pythonSuiteOptions() }, () => {
  const tmp = useTempDir();
  let archive: Buffer | undefined;
  const original = () => {
    if (!archive) {
      const path = tmp.file('original.zip');
      pythonWriteZip(path, {
        entries: [
          { name: '_journal/start.json', data: '{"version":2}' },
          { name: 'samples/1_epoch_1.json', data: sampleText(20_000) },
          { name: 'samples/2_epoch_1.json', data: noise(5000), method: 'stored' },
        ],
      });
      archive = readFileSync(path);
    }
    return archive;
  };

  const cutPoints: [string, (bytes: Buffer) => number][] = [
    ['in the middle of the entry data', (bytes) => Math.floor(centralDirectoryBounds(bytes).offset / 2)],
    ['right after the entry data', (bytes) => centralDirectoryBounds(bytes).offset],
    ['in the central directory', (bytes) => centralDirectoryBounds(bytes).offset + 30],
    ['in the last central header', (bytes) => centralDirectoryBounds(bytes).endOffset - 5],
    ['in the end record', (bytes) => bytes.length - 10],
    ['one byte before the end', (bytes) => bytes.length - 1],
    ['after the local header signature', () => 4],
  ];
  for (const [where, at] of cutPoints) {
    it(`reports a zip truncated ${where} as a truncated ZipFormatError`, async () => {
      const bytes = original();
      const path = tmp.file(`cut-${where.replace(/\W+/g, '-')}.eval`);
      writeFileSync(path, bytes.subarray(0, at(bytes)));
      await expectFailure(() => withReader(path, async () => undefined), ZipFormatError, path, 'truncated');
    });
  }

  it('reports a zip missing bytes from its middle (offsets past the end)', async () => {
    const bytes = original();
    const { offset } = centralDirectoryBounds(bytes);
    const path = tmp.file('middle-cut.eval');
    writeFileSync(path, Buffer.concat([bytes.subarray(0, 100), bytes.subarray(100 + 2000)]));
    assert.ok(offset > 2100);
    await expectFailure(() => withReader(path, async () => undefined), ZipFormatError, path, 'truncated');
  });

  it('reports a damaged central directory entry', async () => {
    const bytes = Buffer.from(original());
    const { offset } = centralDirectoryBounds(bytes);
    const second = locateEntry(bytes, 'samples/1_epoch_1.json').centralOffset;
    bytes.writeUInt32LE(0x12345678, second);
    assert.ok(second > offset);
    const path = tmp.file('damaged-directory.eval');
    writeFileSync(path, bytes);
    await expectFailure(() => withReader(path, async () => undefined), ZipFormatError, path, /central directory entry 2\b.*damaged/);
  });

  it('reports an entry whose local header is missing when the entry is read', async () => {
    const bytes = Buffer.from(original());
    const entry = locateEntry(bytes, 'samples/2_epoch_1.json');
    bytes.writeUInt32LE(0, entry.localOffset);
    const path = tmp.file('no-local-header.eval');
    writeFileSync(path, bytes);
    await withReader(path, async (reader) => {
      assert.deepEqual(await reader.json(reader.entry('_journal/start.json')!), { version: 2 }, 'other entries still read');
      await expectFailure(() => reader.bytes(reader.entry('samples/2_epoch_1.json')!), ZipFormatError, path, 'samples/2_epoch_1.json', 'no local header');
    });
  });

  it('reports an impossible 64-bit size in a ZIP64 extra, naming the file', async () => {
    const path = tmp.file('zip64-huge.zip');
    const writer = await ZipWriter.create(path, { forceZip64: true });
    await writer.add('a.txt', 'a', { method: 0 });
    await writer.close();
    const bytes = readFileSync(path);
    const central = bytes.readUInt32LE(bytes.length - 22 - 20 - 56 + 48);
    const extra = central + 46 + bytes.readUInt16LE(central + 28);
    assert.equal(bytes.readUInt16LE(extra), 0x0001, 'input check: central ZIP64 extra');
    bytes.writeUInt32LE(0xffffffff, extra + 4 + 4); // high half of the uncompressed size
    writeFileSync(path, bytes);
    await expectFailure(() => withReader(path, async () => undefined), ZipFormatError, path, 'impossibly large');
  });

  it('reports a ZIP64 end record that is damaged', async () => {
    const path = tmp.file('zip64-damaged.zip');
    const writer = await ZipWriter.create(path, { forceZip64: true });
    await writer.add('a.txt', 'a', { method: 0 });
    await writer.close();
    const bytes = readFileSync(path);
    const recordAt = bytes.length - 22 - 20 - 56;
    assert.equal(bytes.readUInt32LE(recordAt), 0x06064b50, 'input check: ZIP64 end record');
    bytes.writeUInt32LE(0, recordAt);
    writeFileSync(path, bytes);
    await expectFailure(() => withReader(path, async () => undefined), ZipFormatError, path, 'ZIP64 end-of-central-directory record');
  });
});

describe('ZipReader on entries whose data is wrong', { ...pythonSuiteOptions() }, () => {
  const tmp = useTempDir();
  const text = sampleText(30_000);
  const stored = noise(4000, 777);
  let archive: Buffer | undefined;
  const original = () => {
    if (!archive) {
      const path = tmp.file('entries.zip');
      pythonWriteZip(path, {
        entries: [
          { name: 'deflated.json', data: text },
          { name: 'stored.bin', data: stored, method: 'stored' },
        ],
      });
      archive = readFileSync(path);
    }
    return archive;
  };
  const write = (name: string, bytes: Uint8Array) => {
    const path = tmp.file(name);
    writeFileSync(path, bytes);
    return path;
  };

  it('reports a CRC-32 mismatch in stored data', async () => {
    const bytes = Buffer.from(original());
    const entry = locateEntry(bytes, 'stored.bin');
    bytes[entry.dataOffset + 1000]! ^= 0x40;
    const path = write('bad-crc-stored.zip', bytes);
    await withReader(path, async (reader) => {
      await expectFailure(() => reader.bytes(reader.entry('stored.bin')!), EntryDataError, path, 'stored.bin', 'CRC-32 mismatch');
    });
  });

  it('reports a CRC-32 mismatch in deflate data (wrong CRC in the directory)', async () => {
    const crc = pythonCrc32(Buffer.from(text));
    const path = write('bad-crc-deflate.zip', patchEntry(original(), 'deflated.json', { crc32: (crc ^ 0x1) >>> 0 }));
    await withReader(path, async (reader) => {
      assert.equal(reader.entry('deflated.json')!.crc32, (crc ^ 1) >>> 0, 'input check');
      const error = await expectFailure(() => reader.text(reader.entry('deflated.json')!), EntryDataError, path, 'deflated.json', 'CRC-32');
      assert.equal(error.code, 'ENTRY_DATA');
    });
  });

  it('checks a small entry before giving any of it; a streamed one after its last chunk, failing the stream', async () => {
    const bytes = Buffer.from(original());
    bytes[locateEntry(bytes, 'stored.bin').dataOffset]! ^= 1;
    const path = write('bad-crc-stream.zip', bytes);
    await withReader(path, async (reader) => {
      for (const [wholeDecodeLimit, expected] of [[undefined, 0], [0, stored.length]] as const) {
        let received = 0;
        await expectFailure(
          async () => {
            for await (const chunk of reader.chunks(reader.entry('stored.bin')!, wholeDecodeLimit === undefined ? {} : { wholeDecodeLimit })) received += chunk.length;
          },
          EntryDataError,
          'CRC-32',
        );
        assert.equal(received, expected);
      }
    });
  });

  it('reports a declared size larger than the data', async () => {
    const path = write('size-large.zip', patchEntry(original(), 'deflated.json', { uncompressedSize: text.length + 7 }));
    await withReader(path, async (reader) => {
      await expectFailure(
        () => reader.bytes(reader.entry('deflated.json')!),
        EntryDataError,
        path,
        `decodes to ${text.length} bytes, but the directory declares ${text.length + 7}`,
      );
    });
  });

  it('reports a declared size smaller than the data', async () => {
    const path = write('size-small.zip', patchEntry(original(), 'deflated.json', { uncompressedSize: 100 }));
    await withReader(path, async (reader) => {
      await expectFailure(() => reader.bytes(reader.entry('deflated.json')!), EntryDataError, path, 'decodes past its declared size of 100 bytes');
    });
  });

  it('reports a stored entry whose sizes disagree', async () => {
    const path = write('stored-size.zip', patchEntry(original(), 'stored.bin', { uncompressedSize: stored.length - 1 }));
    await withReader(path, async (reader) => {
      await expectFailure(() => reader.bytes(reader.entry('stored.bin')!), EntryDataError, path, 'decodes past its declared size');
    });
  });

  it('reports an unsupported compression method by number and name', async () => {
    const path = write('bzip2.zip', patchEntry(original(), 'deflated.json', { method: 12 }));
    await withReader(path, async (reader) => {
      const entry = reader.entry('deflated.json')!;
      assert.equal(entry.method, 12);
      await expectFailure(() => reader.bytes(entry), EntryDataError, path, 'deflated.json', 'unsupported compression method 12 (bzip2)');
      await expectFailure(() => reader.json(entry), EntryDataError, 'method 12');
      assert.deepEqual(Buffer.from(await reader.bytes(reader.entry('stored.bin')!)), stored, 'the other entry still reads');
    });
  });

  it('reports an unknown method by number', async () => {
    const path = write('method-77.zip', patchEntry(original(), 'stored.bin', { method: 77 }));
    await withReader(path, async (reader) => {
      await expectFailure(() => reader.bytes(reader.entry('stored.bin')!), EntryDataError, 'unsupported compression method 77');
    });
  });

  it('reports corrupt deflate data', async () => {
    const bytes = Buffer.from(original());
    const entry = locateEntry(bytes, 'deflated.json');
    bytes.fill(0xff, entry.dataOffset, entry.dataOffset + 64); // block type 3 is reserved
    const path = write('corrupt-deflate.zip', bytes);
    await withReader(path, async (reader) => {
      await expectFailure(() => reader.bytes(reader.entry('deflated.json')!), EntryDataError, path, 'deflated.json', 'corrupt deflate data');
    });
  });

  it('reports deflate data cut short (compressed size too small)', async () => {
    const entry = locateEntry(original(), 'deflated.json');
    const path = write('short-deflate.zip', patchEntry(original(), 'deflated.json', { compressedSize: Math.floor(entry.compressedSize / 2) }));
    await withReader(path, async (reader) => {
      await expectFailure(() => reader.bytes(reader.entry('deflated.json')!), EntryDataError, path, 'deflated.json');
    });
  });

  it('reports an entry whose data runs past the end of the file', async () => {
    const path = write('past-end.zip', patchEntry(original(), 'stored.bin', { compressedSize: 10_000_000, uncompressedSize: 10_000_000 }));
    await withReader(path, async (reader) => {
      await expectFailure(() => reader.bytes(reader.entry('stored.bin')!), ZipFormatError, path, 'truncated', 'stored.bin');
    });
  });
});
