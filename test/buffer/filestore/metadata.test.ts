/** Full sample metadata from `metadata.<K>.<H>.json` side files, checked against their hash. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { metadataFileName } from '../../../src/buffer/filestore/layout.js';
import { FilestoreReader } from '../../../src/buffer/filestore/reader.js';
import { conformanceSuiteOptions } from '../../support/shared-fixtures.js';
import { useTempDir } from '../../support/temp-dir.js';
import { copyFixtureLayout, readManifestJson, warningCollector, writeManifestJson } from './filestore-helpers.js';

const fullMetadata = { index: 8, kind: 'full', long_text: 'x'.repeat(6000), nested: { depth: [1, 2, 3] } };
const sideFileBytes = Buffer.from(JSON.stringify(fullMetadata, null, 2));
const sideFileHash = createHash('sha256').update(sideFileBytes).digest('hex');

describe('segment filestore: metadata side files', conformanceSuiteOptions(), () => {
  const temp = useTempDir('filestore-metadata-');

  /** A copy of the crashed fixture whose sample s-008 points at a side file (written by `write`). */
  const opened: FilestoreReader[] = [];
  afterEach(async () => {
    for (const reader of opened.splice(0)) await reader.close();
  });

  async function withSideFile(name: string, options: { hash?: string; write?: (bufferDir: string) => Promise<void> } = {}) {
    const { logLocation, bufferDir } = await copyFixtureLayout('crashed-filestore', join(temp.path, name));
    const manifest = await readManifestJson(bufferDir);
    const entry = manifest.samples.find((sample) => (sample.summary as { id: unknown }).id === 's-008')!;
    entry.metadata_hash = options.hash ?? sideFileHash;
    await writeManifestJson(bufferDir, manifest);
    const write = options.write ?? ((dir: string) => writeFile(join(dir, metadataFileName('s-008', 1, sideFileHash)), sideFileBytes));
    await write(bufferDir);
    const collector = warningCollector();
    const reader = await FilestoreReader.open(logLocation, { onWarning: collector.onWarning });
    opened.push(reader);
    return { reader, collector, bufferDir };
  }

  it('returns the full metadata from the side file named by the sample key and content hash', async () => {
    const { reader, collector } = await withSideFile('present');
    const data = (await reader.sampleData('s-008', 1))!;
    assert.deepEqual(data.metadata, fullMetadata);
    assert.notDeepEqual(data.sample.summary.metadata, fullMetadata);
    assert.deepEqual(await reader.sampleMetadata('s-008', 1), { status: 'present', metadata: fullMetadata, source: 'side-file' });
    assert.equal(data.events.length, 39);
    assert.deepEqual(collector.warnings, []);
  });

  it('finds a side file with the right content hash under another key spelling', async () => {
    const { reader, collector } = await withSideFile('other-key', {
      write: (dir) => writeFile(join(dir, `metadata.${'0'.repeat(64)}.${sideFileHash}.json`), sideFileBytes),
    });
    assert.deepEqual((await reader.sampleData('s-008', 1))?.metadata, fullMetadata);
    assert.deepEqual(collector.warnings, []);
  });

  const unreadable: Array<{ name: string; hash?: string; write?: (dir: string) => Promise<void>; reason: RegExp }> = [
    {
      name: 'tampered',
      write: (dir) => writeFile(join(dir, metadataFileName('s-008', 1, sideFileHash)), Buffer.from(sideFileBytes.toString().replace('full', 'fake'))),
      reason: /does not match its hash/,
    },
    { name: 'missing', write: (dir) => rm(join(dir, metadataFileName('s-008', 1, sideFileHash)), { force: true }), reason: /side file not found/ },
    { name: 'not JSON', hash: hashOf('{"index": '), write: writeHashed('{"index": '), reason: /not valid JSON/ },
    { name: 'not an object', hash: hashOf('[1, 2]'), write: writeHashed('[1, 2]'), reason: /not a JSON object/ },
    { name: 'a hash that is no SHA-256', hash: '../../escape', write: async () => {}, reason: /neither "summary" nor a SHA-256/ },
  ];

  for (const { name, hash, write, reason } of unreadable) {
    it(`warns METADATA_UNREADABLE and falls back to undefined for a side file that is ${name}`, async () => {
      const { reader, collector } = await withSideFile(name.replaceAll(' ', '-'), { ...(hash === undefined ? {} : { hash }), ...(write ? { write } : {}) });
      const data = (await reader.sampleData('s-008', 1))!;
      assert.equal(data.metadata, undefined);
      assert.equal(data.events.length, 39, 'the rest of the sample is read as usual');
      const [warning, ...more] = collector.warnings;
      assert.equal(more.length, 0);
      assert.equal(warning?.code, 'METADATA_UNREADABLE');
      assert.match(warning!.message, /^Unable to read sample metadata for id=s-008 epoch=1: /);
      assert.match(warning!.message, reason);
      // Once per sample, however often it is read.
      await reader.sampleData('s-008', 1);
      assert.equal(collector.warnings.length, 1);
    });
  }
});

function hashOf(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function writeHashed(text: string): (bufferDir: string) => Promise<void> {
  return (bufferDir) => writeFile(join(bufferDir, metadataFileName('s-008', 1, hashOf(text))), text);
}
