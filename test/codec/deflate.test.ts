import assert from 'node:assert/strict';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import { compress } from '../../src/codec/compress.js';
import { CompressionMethod, compressionMethodName, defaultWriteMethod, nodeHasZstd } from '../../src/codec/compression-method.js';
import { decompress } from '../../src/codec/decompress.js';
import { EntryDataError } from '../../src/errors.js';
import { measureEntryDecode } from '../support/decode-memory.js';
import { pythonSuiteOptions, runPython } from '../support/python-zip.js';
import { useTempDir } from '../support/temp-dir.js';
import { patchEntry } from '../support/zip-patch.js';
import { expectFailure, noise, sampleText, withReader } from '../support/zip-test-helpers.js';

async function* pieces(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(Buffer.from(part));
  return Buffer.concat(parts);
}

const inputs: [string, Buffer][] = [
  ['empty', Buffer.alloc(0)],
  ['one byte', Buffer.from('x')],
  ['JSON-like text', Buffer.from(sampleText(500_000))],
  ['incompressible noise', noise(300_000)],
  ['zeros', Buffer.alloc(2_000_000)],
];

describe('deflate codec', () => {
  for (const [what, data] of inputs) {
    it(`decodes zlib's raw deflate of ${what}, fed in pieces of any size`, async () => {
      for (const level of [1, 9]) {
        const compressed = zlib.deflateRawSync(data, { level });
        for (const size of [compressed.length || 1, 1, 1000, 100_000]) {
          if (size === 1 && compressed.length > 20_000) continue; // byte by byte only for small inputs
          const decoded = await collect(decompress(CompressionMethod.deflate, pieces(compressed, size), data.length, 'x'));
          assert.ok(decoded.equals(data), `level ${level}, pieces of ${size}`);
        }
      }
    });

    it(`encodes ${what} so that zlib inflates it back`, async () => {
      const compressed = await collect(compress(CompressionMethod.deflate, pieces(data, 65_536)));
      assert.ok(zlib.inflateRawSync(compressed).equals(data));
      if (data.length > 1000 && what !== 'incompressible noise') assert.ok(compressed.length < data.length / 2, 'it compresses');
    });
  }

  it('encodes an input that arrives as many small chunks', async () => {
    const data = Buffer.from(sampleText(100_000));
    const compressed = await collect(compress(CompressionMethod.deflate, pieces(data, 3)));
    assert.ok(zlib.inflateRawSync(compressed).equals(data));
  });

  it("encodes at Inspect's level: what Python's zlib reads back", { ...pythonSuiteOptions() }, async () => {
    const data = Buffer.from(sampleText(200_000));
    const compressed = await collect(compress(CompressionMethod.deflate, pieces(data, 10_000)));
    const output = runPython("import sys, zlib; d = zlib.decompressobj(-15); print(len(d.decompress(sys.stdin.buffer.read())), d.eof)", {
      input: compressed,
    });
    assert.equal(output.toString().trim(), `${data.length} True`);
  });

  it('stops at the declared size: decoding past it is an EntryDataError', async () => {
    const compressed = zlib.deflateRawSync(Buffer.alloc(5_000_000));
    await expectFailure(
      () => collect(decompress(CompressionMethod.deflate, pieces(compressed, 65_536), 4_999_999, 'a.eval: s.json')),
      EntryDataError,
      'a.eval: s.json: decodes past its declared size of 4999999 bytes',
    );
  });

  it('reports corrupt deflate data with the label', async () => {
    await expectFailure(
      () => collect(decompress(CompressionMethod.deflate, pieces(Buffer.alloc(100, 0xff), 100), 1000, 'a.eval: s.json')),
      EntryDataError,
      'a.eval: s.json: corrupt deflate data',
    );
  });

  it('never returns the whole entry from deflate data that ends early', async () => {
    // fflate does not always notice a stream that stops mid-block; the reader's size and CRC
    // checks then report it (see zip-reader-errors). Here: an EntryDataError or a short result.
    const data = Buffer.from(sampleText(100_000));
    const compressed = zlib.deflateRawSync(data);
    for (const keep of [10, compressed.length >> 1, compressed.length - 1]) {
      try {
        const decoded = await collect(decompress(CompressionMethod.deflate, pieces(compressed.subarray(0, keep), 4096), data.length, 'a.eval: s.json'));
        assert.ok(decoded.length < data.length, `cut at ${keep}: ${decoded.length} bytes`);
        assert.ok(decoded.equals(data.subarray(0, decoded.length)), 'what it returns is a prefix of the data');
      } catch (error) {
        assert.ok(error instanceof EntryDataError, String(error));
        assert.match(error.message, /^a\.eval: s\.json: corrupt deflate data/);
      }
    }
  });
});

describe('stored method and unsupported methods', () => {
  it('passes stored bytes through both ways', async () => {
    const data = noise(10_000);
    assert.ok((await collect(compress(CompressionMethod.stored, pieces(data, 999)))).equals(data));
    assert.ok((await collect(decompress(CompressionMethod.stored, pieces(data, 999), data.length, 'x'))).equals(data));
  });

  it('refuses to decode an unsupported method, naming it', async () => {
    await expectFailure(() => collect(decompress(12, pieces(Buffer.from('BZh9'), 4), 10, 'a.eval: s.json')), EntryDataError, 'a.eval: s.json', 'unsupported compression method 12 (bzip2)');
    await expectFailure(() => collect(decompress(14, pieces(Buffer.from('x'), 4), 10, 'l')), EntryDataError, 'method 14 (lzma)');
    await expectFailure(() => collect(decompress(200, pieces(Buffer.from('x'), 4), 10, 'l')), EntryDataError, 'method 200');
  });

  it('refuses to encode an unsupported method', async () => {
    await expectFailure(async () => collect(compress(12, pieces(Buffer.from('x'), 1))), EntryDataError, 'cannot encode method 12 (bzip2)');
  });

  it('names the methods', () => {
    assert.equal(compressionMethodName(0), 'stored');
    assert.equal(compressionMethodName(8), 'deflate');
    assert.equal(compressionMethodName(93), 'zstd');
    assert.equal(compressionMethodName(9), 'method 9 (deflate64)');
    assert.equal(compressionMethodName(1234), 'method 1234');
  });

  it('writes zstd by default only where Node can encode it', async () => {
    assert.equal(defaultWriteMethod, nodeHasZstd ? CompressionMethod.zstd : CompressionMethod.deflate);
    if (!nodeHasZstd) {
      await expectFailure(async () => collect(compress(CompressionMethod.zstd, pieces(Buffer.from('x'), 1))), EntryDataError, 'zstd encoding needs Node 22.15');
    }
  });
});

describe('deflate bomb', { ...pythonSuiteOptions() }, () => {
  const tmp = useTempDir();

  it('stops an entry that inflates far past its declared size, with modest memory', async () => {
    const zeros = tmp.file('zeros.bin');
    writeFileSync(zeros, '');
    const realSize = 256 * 1024 * 1024;
    truncateSync(zeros, realSize); // sparse: costs no disk
    const path = tmp.file('bomb.eval');
    runPython(
      "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z: z.write(sys.argv[2], 'samples/bomb.json')",
      { args: [path, zeros] },
    );
    // The directory (and local header) now claim 1000 bytes.
    writeFileSync(path, patchEntry(readFileSync(path), 'samples/bomb.json', { uncompressedSize: 1000 }));
    await withReader(path, async (reader) => {
      const entry = reader.entry('samples/bomb.json')!;
      assert.equal(entry.uncompressedSize, 1000);
      assert.ok(entry.compressedSize < 1024 * 1024, 'input check: the bomb is small');
      await expectFailure(() => reader.bytes(entry), EntryDataError, path, 'samples/bomb.json', 'decodes past its declared size of 1000 bytes');
    });
    const measured = measureEntryDecode(path, 'samples/bomb.json');
    assert.match(measured.error?.message ?? '', /decodes past its declared size/);
    assert.equal(measured.decodedBytes, 0);
    assert.ok(measured.peakGrowthBytes < 100 * 1024 * 1024, `peak memory grew by ${measured.peakGrowthBytes} bytes for a ${realSize}-byte bomb`);
  });
});
