import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readManifest, sampleSegments } from '../../../src/buffer/filestore/manifest.js';
import { JsonFormatError, NotFoundError } from '../../../src/errors.js';
import { LocalStorage } from '../../../src/storage/local-storage.js';
import { useTempDir } from '../../support/temp-dir.js';

const storage = new LocalStorage();
const summary = { id: 's1', epoch: 1, input: 'What is 1+1?', target: '2' };

describe('filestore manifest', () => {
  const temp = useTempDir('filestore-manifest-');

  async function bufferDirWith(name: string, manifestText: string | undefined): Promise<string> {
    const dir = join(temp.path, name);
    await mkdir(dir, { recursive: true });
    if (manifestText !== undefined) await writeFile(join(dir, 'manifest.json'), manifestText);
    return dir;
  }

  it('accepts legacy integer segment entries, defaults pool ids to 0, and keeps unknown keys', async () => {
    const dir = await bufferDirWith(
      'tolerant',
      JSON.stringify({
        metrics: [{ scorer: 'match', name: 'accuracy', value: NaN }],
        samples: [{ summary, segments: [{ id: 2, last_event_id: 9, last_attachment_id: 0 }, 1], future_key: true }],
        segments: [
          { id: 1, last_event_id: 4, last_attachment_id: 1, last_message_pool_id: 3, last_call_pool_id: 0 },
          { id: 2, last_event_id: 9, last_attachment_id: 1 },
        ],
        written_by: 'a newer Inspect',
      }).replace('null', 'NaN'),
    );
    const manifest = await readManifest(storage, dir);
    assert.equal(Number.isNaN(manifest.metrics[0]?.value), true);
    assert.equal(manifest.written_by, 'a newer Inspect');
    assert.deepEqual(manifest.segments[1], { id: 2, last_event_id: 9, last_attachment_id: 1, last_message_pool_id: 0, last_call_pool_id: 0 });
    const sample = manifest.samples[0]!;
    assert.equal(sample.future_key, true);
    assert.equal(sample.metadata_hash, undefined);
    // Sorted by id; the legacy entry stands for the global record of segment 1.
    assert.deepEqual(sampleSegments(manifest, sample), [
      { id: 1, record: manifest.segments[0] },
      { id: 2, record: { id: 2, last_event_id: 9, last_attachment_id: 0, last_message_pool_id: 0, last_call_pool_id: 0 } },
    ]);
  });

  it('reads an empty manifest as no samples and no segments', async () => {
    const manifest = await readManifest(storage, await bufferDirWith('empty', '{}'));
    assert.deepEqual(manifest, { metrics: [], samples: [], segments: [] });
  });

  it('lists each segment of a sample once, an object entry winning over a legacy one, and skips nothing without a global record', async () => {
    const dir = await bufferDirWith(
      'duplicates',
      JSON.stringify({
        samples: [{ summary, segments: [3, { id: 1, last_event_id: 2, last_attachment_id: 0 }, 1, 7] }],
        segments: [{ id: 1, last_event_id: 5, last_attachment_id: 0 }, { id: 3, last_event_id: 8, last_attachment_id: 0 }],
      }),
    );
    const manifest = await readManifest(storage, dir);
    const segments = sampleSegments(manifest, manifest.samples[0]!);
    assert.deepEqual(segments.map((segment) => segment.id), [1, 3, 7]);
    assert.equal(segments[0]?.record?.last_event_id, 2);
    assert.equal(segments[1]?.record?.last_event_id, 8);
    assert.equal(segments[2]?.record, undefined);
  });

  it('reports a missing manifest as NotFoundError naming the file', async () => {
    const dir = await bufferDirWith('missing', undefined);
    await assert.rejects(readManifest(storage, dir), (error: unknown) => {
      assert.ok(error instanceof NotFoundError);
      assert.match(error.message, /manifest\.json/);
      assert.ok(error.message.includes(join(dir, 'manifest.json')));
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
  });

  for (const [label, text, pattern] of [
    ['invalid JSON', '{"samples": [', /not valid JSON/],
    ['a list', '[]', /expected shape/],
    ['a sample without a summary', '{"samples": [{"segments": []}]}', /expected shape: samples\.0\.summary/],
    ['a segment without an id', '{"segments": [{"last_event_id": 1, "last_attachment_id": 0}]}', /expected shape: segments\.0\.id/],
  ] as const) {
    it(`reports ${label} as JsonFormatError, one line naming the file`, async () => {
      const dir = await bufferDirWith(label.replaceAll(' ', '-'), text);
      await assert.rejects(readManifest(storage, dir), (error: unknown) => {
        assert.ok(error instanceof JsonFormatError);
        assert.ok(error.message.startsWith(join(dir, 'manifest.json')));
        assert.match(error.message, pattern);
        assert.doesNotMatch(error.message, /\n/);
        return true;
      });
    });
  }
});
