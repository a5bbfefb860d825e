import assert from 'node:assert/strict';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decompress, maxZstdWindowSize } from '../../src/codec/decompress.js';
import { EntryDataError } from '../../src/errors.js';
import { measureEntryDecode } from '../support/decode-memory.js';
import { pythonCrc32, pythonSuiteOptions, pythonWriteZip } from '../support/python-zip.js';
import { makeTempDir, removeTempDir, useTempDir } from '../support/temp-dir.js';
import { patchEntry } from '../support/zip-patch.js';
import { expectFailure, noise, sampleText, withReader } from '../support/zip-test-helpers.js';
import { zstdCompress, zstdCompressFile, zstdDecompress, zstdSuiteOptions } from '../support/zstd-cli.js';

const zstd = 93;

async function decodeAll(compressed: Uint8Array, maxOutputSize: number, chunkSize = compressed.length || 1): Promise<Buffer> {
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (let at = 0; at < compressed.length; at += chunkSize) yield compressed.subarray(at, at + chunkSize);
  }
  const parts: Buffer[] = [];
  for await (const part of decompress(zstd, chunks(), maxOutputSize, 'test.eval: entry.json')) parts.push(Buffer.from(part));
  return Buffer.concat(parts);
}

/** A frame: magic, frame header descriptor 0x00 (window descriptor follows), then one last raw block. */
function handMadeFrame(windowDescriptor: number, content: Uint8Array, descriptor = 0x00, extraHeader: number[] = []): Buffer {
  const blockHeader = (content.length << 3) | 1; // raw block (type 0), last
  return Buffer.concat([
    Buffer.from([0x28, 0xb5, 0x2f, 0xfd, descriptor, ...(descriptor & 0x20 ? [] : [windowDescriptor]), ...extraHeader]),
    Buffer.from([blockHeader & 0xff, (blockHeader >> 8) & 0xff, (blockHeader >> 16) & 0xff]),
    content,
  ]);
}

/** A zip made by Python with `compressed` stored, then re-labelled as zstd (method 93) of `plain`. */
function zstdZip(path: string, name: string, compressed: Uint8Array, plain: { crc32: number; size: number }): void {
  pythonWriteZip(path, { entries: [{ name, data: compressed, method: 'stored' }, { name: 'other.json', data: '{"ok":true}' }] });
  writeFileSync(path, patchEntry(readFileSync(path), name, { method: zstd, crc32: plain.crc32, uncompressedSize: plain.size }));
}

describe('zstd entries (encoded by the zstd CLI)', { ...zstdSuiteOptions(), ...pythonSuiteOptions() }, () => {
  const tmp = useTempDir();
  const first = Buffer.from(sampleText(300_000)); // several 128 KiB blocks
  const second = Buffer.concat([noise(70_000, 42), Buffer.from('the second frame ends here')]);

  it('reads an entry made of several concatenated frames, returning every frame', async () => {
    const frames = Buffer.concat([zstdCompress(first), zstdCompress(second)]);
    const plain = Buffer.concat([first, second]);
    assert.deepEqual(zstdDecompress(frames), plain, 'input check: the zstd CLI decodes both frames');
    const path = tmp.file('multi-frame.eval');
    zstdZip(path, 'samples/1_epoch_1.json', frames, { crc32: pythonCrc32(plain), size: plain.length });
    await withReader(path, async (reader) => {
      const entry = reader.entry('samples/1_epoch_1.json')!;
      assert.equal(entry.method, zstd);
      const decoded = Buffer.from(await reader.bytes(entry));
      assert.equal(decoded.length, plain.length);
      assert.ok(decoded.equals(plain));
      assert.deepEqual(await reader.json(reader.entry('other.json')!), { ok: true });
    });
  });

  it('decodes frames of every header shape, fed whole and in odd-sized pieces', async () => {
    const file = tmp.file('input.txt');
    writeFileSync(file, first.subarray(0, 1000));
    const frames: [string, Buffer, Buffer][] = [
      ['streamed, no content size', zstdCompress(first), first],
      ['without checksum', zstdCompress(second, ['--no-check']), second],
      ['level 19', zstdCompress(first, ['-19']), first],
      ['with content size (single segment)', zstdCompressFile(file), first.subarray(0, 1000)],
      ['empty', zstdCompress(Buffer.alloc(0)), Buffer.alloc(0)],
    ];
    for (const [what, compressed, plain] of frames) {
      for (const chunkSize of [compressed.length || 1, 7, 4096]) {
        const decoded = await decodeAll(compressed, plain.length, chunkSize);
        assert.ok(decoded.equals(plain), `${what}, chunks of ${chunkSize}`);
      }
    }
    const all = Buffer.concat(frames.map(([, compressed]) => compressed));
    const plain = Buffer.concat(frames.map(([, , plain]) => plain));
    assert.ok((await decodeAll(all, plain.length, 5)).equals(plain), 'all frames back to back');
  });

  it('skips skippable frames between frames', async () => {
    const skippable = Buffer.concat([Buffer.from([0x50, 0x2a, 0x4d, 0x18, 5, 0, 0, 0]), Buffer.from('hello')]);
    const stream = Buffer.concat([zstdCompress('one '), skippable, zstdCompress('two')]);
    assert.equal((await decodeAll(stream, 7, 3)).toString(), 'one two');
  });

  it('reports truncated zstd data as an EntryDataError', async () => {
    const compressed = zstdCompress(first);
    for (const keep of [6, 20, Math.floor(compressed.length / 2), compressed.length - 4, compressed.length - 1]) {
      await expectFailure(() => decodeAll(compressed.subarray(0, keep), first.length, 1000), EntryDataError, 'test.eval: entry.json', 'zstd');
    }
    const path = tmp.file('truncated.eval');
    const cut = compressed.subarray(0, compressed.length - 100);
    zstdZip(path, 'samples/cut.json', cut, { crc32: pythonCrc32(first), size: first.length });
    await withReader(path, async (reader) => {
      await expectFailure(() => reader.bytes(reader.entry('samples/cut.json')!), EntryDataError, path, 'samples/cut.json', 'truncated');
    });
  });

  it('reports corrupt zstd data as an EntryDataError', async () => {
    const compressed = Buffer.from(zstdCompress(first));
    compressed.fill(0xaa, 20, 200);
    await expectFailure(() => decodeAll(compressed, first.length), EntryDataError, 'test.eval: entry.json');
    await expectFailure(() => decodeAll(Buffer.from('not zstd at all, just text'), 100), EntryDataError, 'corrupt zstd data');
  });

  it('stops a zstd bomb at the declared size with modest memory', async () => {
    const zeros = tmp.file('zeros.bin');
    writeFileSync(zeros, '');
    truncateSync(zeros, 256 * 1024 * 1024); // sparse: costs no disk
    const compressed = zstdCompressFile(zeros);
    assert.ok(compressed.length < 64 * 1024, 'input check: 256 MiB of zeros compress to almost nothing');
    const path = tmp.file('zstd-bomb.eval');
    zstdZip(path, 'samples/bomb.json', compressed, { crc32: 0, size: 1000 });
    await withReader(path, async (reader) => {
      await expectFailure(() => reader.bytes(reader.entry('samples/bomb.json')!), EntryDataError, path, 'decodes past its declared size of 1000 bytes');
    });
    const measured = measureEntryDecode(path, 'samples/bomb.json');
    assert.match(measured.error?.message ?? '', /decodes past its declared size/);
    assert.ok(measured.peakGrowthBytes < 48 * 1024 * 1024, `peak memory grew by ${measured.peakGrowthBytes} bytes`);
  });
});

describe('zstd frames declaring huge windows', () => {
  it('refuses a window descriptor of 0xF8 (2 TiB) with a clear EntryDataError, at once', async () => {
    const started = Date.now();
    await expectFailure(
      () => decodeAll(handMadeFrame(0xf8, Buffer.from('abc')), 3),
      EntryDataError,
      'test.eval: entry.json',
      'zstd frame declares a 2199023255552-byte window',
      `${maxZstdWindowSize}-byte limit`,
    );
    assert.ok(Date.now() - started < 1000);
  });

  it('refuses a 1.9 GiB window before allocating it', async () => {
    const before = process.memoryUsage().rss;
    const started = Date.now();
    // 0xA7: 2^30 + 7 * 2^27 bytes, under fzstd's own 2 GiB check.
    await expectFailure(() => decodeAll(handMadeFrame(0xa7, Buffer.from('abc')), 3), EntryDataError, 'window');
    assert.ok(Date.now() - started < 1000);
    assert.ok(process.memoryUsage().rss - before < 64 * 1024 * 1024, 'no window-sized allocation');
  });

  it('refuses a single-segment frame whose content size (its window) is 4 GiB', async () => {
    // Descriptor 0xE0: 8-byte content size, single segment (no window descriptor).
    const frame = handMadeFrame(0, Buffer.from('abc'), 0xe0, [0, 0, 0, 0, 1, 0, 0, 0]);
    await expectFailure(() => decodeAll(frame, 3), EntryDataError, '4294967296-byte window');
  });

  it('finds the large window in a second frame, and across chunk boundaries', async () => {
    const stream = Buffer.concat([handMadeFrame(0x50, Buffer.from('first')), handMadeFrame(0xf8, Buffer.from('x'))]);
    await expectFailure(() => decodeAll(stream, 100, 3), EntryDataError, 'window');
  });

  it('reports the huge window through the reader, naming the archive and entry', { ...pythonSuiteOptions() }, async () => {
    const tmp = makeTempDir();
    try {
      const path = join(tmp, 'window.eval');
      zstdZip(path, 'samples/w.json', handMadeFrame(0xf8, Buffer.from('abc')), { crc32: pythonCrc32(Buffer.from('abc')), size: 3 });
      await withReader(path, async (reader) => {
        await expectFailure(() => reader.bytes(reader.entry('samples/w.json')!), EntryDataError, `${path}: samples/w.json: zstd frame declares`);
      });
    } finally {
      removeTempDir(tmp);
    }
  });

  it('still decodes frames with ordinary windows (hand-made, 1 MiB)', async () => {
    assert.equal((await decodeAll(handMadeFrame(0x50, Buffer.from('abc')), 3)).toString(), 'abc');
    const two = Buffer.concat([handMadeFrame(0x50, Buffer.from('ab')), handMadeFrame(0x00, Buffer.from('cd'))]);
    assert.equal((await decodeAll(two, 4, 1)).toString(), 'abcd');
  });
});
