import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { MemoryByteSource } from '../../src/bytes/byte-source.js';
import { FileByteSource } from '../../src/bytes/file-byte-source.js';
import { NotFoundError, StorageError } from '../../src/errors.js';
import { useTempDir } from '../support/temp-dir.js';
import { expectFailure, noise } from '../support/zip-test-helpers.js';

describe('FileByteSource', () => {
  const tmp = useTempDir();
  const data = noise(300_000, 5);

  it('reads exact ranges, and fewer bytes only past the end', async () => {
    const path = tmp.file('data.bin');
    writeFileSync(path, data);
    const source = new FileByteSource(path);
    try {
      assert.equal(source.name, path);
      assert.equal(await source.size(), data.length);
      assert.ok(Buffer.from(await source.read(0, 10)).equals(data.subarray(0, 10)));
      assert.ok(Buffer.from(await source.read(123_456, 100_000)).equals(data.subarray(123_456, 223_456)));
      assert.ok(Buffer.from(await source.read(data.length - 5, 100)).equals(data.subarray(data.length - 5)));
      assert.equal((await source.read(data.length + 10, 10)).length, 0);
      const parallel = await Promise.all([0, 1000, 2000, 3000].map((offset) => source.read(offset, 1000)));
      assert.ok(Buffer.concat(parallel).equals(data.subarray(0, 4000)), 'concurrent reads share the handle');
    } finally {
      await source.close();
    }
    await source.close(); // closing twice is harmless
  });

  it('opens lazily and reopens after close', async () => {
    const path = tmp.file('later.bin');
    const source = new FileByteSource(path); // does not exist yet: no error until used
    await expectFailure(() => source.size(), NotFoundError, path, 'no such file or directory');
    writeFileSync(path, 'now it exists');
    assert.equal(await source.size(), 13, 'a failed open is not remembered');
    await source.close();
    assert.equal(Buffer.from(await source.read(4, 2)).toString(), 'it');
    await source.close();
  });

  it('reports a missing file on read as NotFoundError', async () => {
    const path = tmp.file('missing.bin');
    await expectFailure(() => new FileByteSource(path).read(0, 10), NotFoundError, path);
  });

  it('reports a directory as StorageError', async () => {
    const path = tmp.file('dir');
    mkdirSync(path);
    const source = new FileByteSource(path);
    try {
      await expectFailure(() => source.size(), StorageError, path, 'is a directory');
      await expectFailure(() => source.read(0, 10), StorageError, path);
    } finally {
      await source.close();
    }
  });
});

describe('MemoryByteSource', () => {
  it('reads ranges of the bytes and names itself', async () => {
    const source = new MemoryByteSource(Buffer.from('0123456789'), 'mem://digits');
    assert.equal(source.name, 'mem://digits');
    assert.equal(await source.size(), 10);
    assert.equal(Buffer.from(await source.read(3, 4)).toString(), '3456');
    assert.equal(Buffer.from(await source.read(8, 10)).toString(), '89');
    assert.equal((await source.read(20, 5)).length, 0);
    await source.close();
    assert.equal(new MemoryByteSource(new Uint8Array(0)).name, '<memory>');
  });
});
