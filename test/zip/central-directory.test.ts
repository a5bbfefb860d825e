import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ZipReader } from '../../src/zip/zip-reader.js';
import { ZipWriter } from '../../src/zip/zip-writer.js';
import { FileByteSource } from '../../src/bytes/file-byte-source.js';
import { InspectRecoverError } from '../../src/errors.js';
import { useTempDir } from '../support/temp-dir.js';

describe('CentralDirectory index', () => {
  const tmp = useTempDir();

  it('keeps only the entries asked for, reading a directory larger than its chunk', async () => {
    const path = tmp.file('kept.zip');
    const names = Array.from({ length: 5000 }, (_, index) => `samples/${'long-id-'.repeat(30)}${index}_epoch_1.json`);
    const writer = await ZipWriter.create(path);
    for (const [index, name] of names.entries()) await writer.add(name, `{"n":${index}}`);
    await writer.add('header.json', '{"status":"success"}');
    await writer.close();

    const wanted = (name: string) => name === 'header.json' || name.endsWith('7_epoch_1.json');
    const full = await ZipReader.open(new FileByteSource(path));
    const directorySize = full.allEntries.reduce((total, entry) => total + 46 + Buffer.byteLength(entry.name), 0);
    const expected = full.entries.filter((entry) => wanted(entry.name));
    await full.close();
    assert.ok(directorySize > 1024 * 1024, `a ${directorySize}-byte directory spans several chunks`);

    const reader = await ZipReader.open(new FileByteSource(path), { keep: wanted });
    try {
      assert.deepEqual(reader.entries, expected);
      assert.equal(reader.has(names[8]!), false, 'an entry not kept is not listed');
      assert.deepEqual(await reader.json(reader.entry('header.json')!), { status: 'success' });
      assert.deepEqual(await reader.json(reader.entry(names[4997]!)!), { n: 4997 });
    } finally {
      await reader.close();
    }
  });

  it('finds every name, ASCII or not, the last of duplicates, and nothing else', async () => {
    const path = tmp.file('many.zip');
    const names = Array.from({ length: 5000 }, (_, index) => `samples/${index}_epoch_1.json`);
    names.push('samples/é_epoch_1.json', 'samples/日本_epoch_2.json', 'samples/😀_epoch_1.json');
    const writer = await ZipWriter.create(path);
    for (const [index, name] of names.entries()) await writer.add(name, `{"n":${index}}`);
    // Written again later: the later copy wins, the earlier one stays in allEntries.
    await writer.add('samples/7_epoch_1.json', '{"n":"again"}');
    await writer.add('samples/é_epoch_1.json', '{"n":"again"}');
    await writer.close();

    const reader = await ZipReader.open(new FileByteSource(path));
    try {
      const directory = reader.directory;
      assert.equal(directory.count, names.length + 2);
      for (const [index, name] of names.entries()) {
        const position = directory.positionOf(name);
        assert.equal(directory.nameAt(position!), name);
        if (name !== 'samples/7_epoch_1.json' && name !== 'samples/é_epoch_1.json') assert.equal(position, index, name);
      }
      assert.equal(directory.positionOf('samples/7_epoch_1.json'), names.length);
      assert.equal(directory.positionOf('samples/é_epoch_1.json'), names.length + 1);
      assert.deepEqual(await reader.json(reader.entry('samples/é_epoch_1.json')!), { n: 'again' });
      assert.equal(directory.isSuperseded(7), true);
      assert.equal(directory.isSuperseded(8), false);
      assert.equal(reader.entries.length, names.length);
      for (const missing of ['samples/5000_epoch_1.json', 'samples/e_epoch_1.json', '', 'samples/7_epoch_1.jso']) {
        assert.equal(directory.positionOf(missing), undefined, missing);
        assert.equal(reader.has(missing), false);
      }
    } finally {
      await reader.close();
    }
    assert.throws(() => reader.directory, (error: unknown) => error instanceof InspectRecoverError && error.code === 'READER_CLOSED', 'a closed reader lets its directory go');
  });
});
