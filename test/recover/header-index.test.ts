/**
 * The S3 scan's header index: a finished log's entry is used only while the listing shows the
 * same ETag and size, and an index that is damaged, random or from elsewhere is only slower,
 * never wrong.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HeaderIndex, headerIndexDirectory } from '../../src/recover/header-index.js';
import { LocalStorage } from '../../src/storage/local-storage.js';
import { useTempDir } from '../support/temp-dir.js';

const storage = new LocalStorage();

describe('header index', () => {
  const temp = useTempDir('header-index-');
  const indexFile = () => join(temp.path, headerIndexDirectory, 'header-index.jsonl');
  const stat = { etag: '"abc"', size: 1000 };

  it('keeps what it recorded for a later scan, while the log is unchanged', async () => {
    const index = await HeaderIndex.open(storage, temp.path);
    index.record('a/run.eval', stat, { status: 'success', taskId: 'task-1', evalId: 'e1', runId: 'r1' });
    index.record('b.eval', { etag: '"def"', size: 5 }, { status: 'error' });
    await index.save();
    const reopened = await HeaderIndex.open(storage, temp.path);
    assert.deepEqual(reopened.lookup('a/run.eval', stat), { status: 'success', taskId: 'task-1', evalId: 'e1', runId: 'r1' });
    assert.deepEqual(reopened.lookup('b.eval', { etag: '"def"', size: 5 }), { status: 'error' });
    assert.equal(reopened.lookup('a/run.eval', { ...stat, etag: '"changed"' }), undefined, 'rewritten since: read again');
    assert.equal(reopened.lookup('a/run.eval', { ...stat, size: 1001 }), undefined);
    assert.equal(reopened.lookup('a/run.eval', { etag: '', size: 1000 }), undefined, 'no ETag, no trust');
    assert.equal(reopened.lookup('c.eval', stat), undefined);
  });

  it('forgets logs no longer listed, and writes only when something changed', async () => {
    const index = await HeaderIndex.open(storage, temp.path);
    index.record('x.eval', stat, { status: 'success' });
    index.record('y.eval', stat, { status: 'success' });
    await index.save();
    const written = await readFile(indexFile(), 'utf8');
    const unchanged = await HeaderIndex.open(storage, temp.path);
    unchanged.keepOnly(new Set(['x.eval', 'y.eval', 'a/run.eval', 'b.eval']));
    await writeFile(indexFile(), written + 'sentinel\n');
    await unchanged.save();
    assert.ok((await readFile(indexFile(), 'utf8')).endsWith('sentinel\n'), 'nothing changed: not rewritten');
    const pruned = await HeaderIndex.open(storage, temp.path);
    pruned.keepOnly(new Set(['x.eval']));
    await pruned.save();
    const after = await HeaderIndex.open(storage, temp.path);
    assert.ok(after.lookup('x.eval', stat));
    assert.equal(after.lookup('y.eval', stat), undefined);
  });

  it('a damaged index (random bytes, a truncated line, lines of the wrong shape) yields only the lines that read', async () => {
    await mkdir(join(temp.path, headerIndexDirectory), { recursive: true });
    const created = '2026-12-04T00:00:00+00:00';
    const good = JSON.stringify({ path: 'good.eval', etag: '"abc"', size: 1000, status: 'success', task_id: 't', created, identified: true });
    // Written before the index kept each log's run: read again, for its eval_id and run_id.
    const older = JSON.stringify({ path: 'older.eval', etag: '"abc"', size: 1000, status: 'success', task_id: 't' });
    // Written before it kept eval.created (which attempt of a task is newest): read again too.
    const beforeCreated = JSON.stringify({ path: 'before-created.eval', etag: '"abc"', size: 1000, status: 'success', task_id: 't', identified: true });
    const lines = [good, older, beforeCreated, '{"path": "cut.eval", "etag": "x", "si', JSON.stringify({ path: 'no-status.eval', etag: '"abc"', size: 1000 }), '[1,2,3]', 'null'];
    await writeFile(indexFile(), Buffer.concat([Buffer.from(lines.join('\n') + '\n'), randomBytes(4096)]));
    const index = await HeaderIndex.open(storage, temp.path);
    assert.deepEqual(index.lookup('good.eval', stat), { status: 'success', taskId: 't', created });
    assert.equal(index.lookup('older.eval', stat), undefined);
    assert.equal(index.lookup('before-created.eval', stat), undefined);
    assert.equal(index.lookup('cut.eval', stat), undefined);
    assert.equal(index.lookup('no-status.eval', stat), undefined);
  });

  it('an index that cannot be read or written costs only speed', async () => {
    // A directory where the index file should be: it can be neither read nor written.
    await rm(indexFile(), { force: true });
    await mkdir(indexFile(), { recursive: true });
    const index = await HeaderIndex.open(storage, temp.path);
    assert.equal(index.lookup('good.eval', stat), undefined);
    index.record('good.eval', stat, { status: 'success' });
    await index.save();
  });
});
