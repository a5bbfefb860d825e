import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { StorageError, UsageError } from '../../src/errors.js';
import { LocalStorage } from '../../src/storage/local-storage.js';
import { storageConformanceSuite } from './storage-conformance.js';

storageConformanceSuite('LocalStorage conformance', async () => {
  const root = await mkdtemp(join(tmpdir(), 'local-storage-'));
  return { storage: new LocalStorage(), root, teardown: () => rm(root, { recursive: true, force: true }) };
});

/** Asserts a StorageError whose one-line message names `path` and matches `detail`. */
function isStorageError(path: string, detail: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof StorageError, `expected StorageError, got ${String(error)}`);
    assert.ok(error.message.startsWith(`${path}: `), error.message);
    assert.match(error.message, detail);
    assert.ok(!error.message.includes('\n'));
    return true;
  };
}

describe('LocalStorage specifics', () => {
  const storage = new LocalStorage();
  let root: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'local-storage-specific-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes atomically through a temp file that does not stay behind', async () => {
    const directory = join(root, 'atomic');
    const location = join(directory, 'manifest.json');
    for (let version = 0; version < 5; version++) await storage.write(location, `{"version": ${version}}`);
    await storage.writeFromFile(join(directory, 'copy.json'), location);
    assert.deepEqual((await readdir(directory)).sort(), ['copy.json', 'manifest.json']);
    assert.equal(Buffer.from(await storage.read(location)).toString(), '{"version": 4}');
  });

  it('a reader that opened the file before a rewrite keeps reading the old bytes', async () => {
    const location = join(root, 'reader', 'log.eval');
    await storage.write(location, 'old version');
    const source = storage.byteSource(location);
    try {
      assert.equal(await source.size(), 11);
      await storage.write(location, 'new version!');
      assert.equal(Buffer.from(await source.read(0, 11)).toString(), 'old version');
    } finally {
      await source.close();
    }
    assert.equal(Buffer.from(await storage.read(location)).toString(), 'new version!');
  });

  it('a failed write leaves no temp file behind', async () => {
    const directory = join(root, 'failed');
    const target = join(directory, 'target');
    await mkdir(target, { recursive: true }); // renaming a file over a directory fails
    await assert.rejects(storage.write(target, 'data'), isStorageError(target, /is a directory/));
    assert.deepEqual(await readdir(directory), ['target']);
  });

  // Tests run as root, which ignores permission bits; a path under a regular file is refused for everyone.
  it('writing below a regular file is a StorageError naming the path', async () => {
    const file = join(root, 'plain-file');
    await writeFile(file, 'not a directory');
    const location = join(file, 'sub', 'manifest.json');
    await assert.rejects(storage.write(location, '{}'), isStorageError(location, /parent of this path is a file/));
    await assert.rejects(storage.writeFromFile(location, file), isStorageError(location, /parent of this path is a file/));
  });

  it(
    'writing into a read-only directory is a StorageError (permission denied)',
    { skip: process.getuid?.() === 0 ? 'root ignores permission bits' : false },
    async () => {
      const directory = join(root, 'read-only');
      await mkdir(directory);
      await chmod(directory, 0o500);
      try {
        const location = join(directory, 'file.txt');
        await assert.rejects(storage.write(location, 'x'), isStorageError(location, /permission denied/));
      } finally {
        await chmod(directory, 0o700);
      }
    },
  );

  it('reading or stat-ing a directory is a StorageError', async () => {
    const directory = join(root, 'a-directory');
    await mkdir(directory);
    await assert.rejects(storage.read(directory), isStorageError(directory, /is a directory/));
    await assert.rejects(storage.stat(directory), isStorageError(directory, /is a directory/));
  });

  it('accepts file:// URIs', async () => {
    const path = join(root, 'uri dir', 'file ✓.txt');
    const uri = pathToFileURL(path).href;
    await storage.write(uri, 'via uri');
    assert.equal(Buffer.from(await storage.read(path)).toString(), 'via uri');
    assert.equal(Buffer.from(await storage.read(uri)).toString(), 'via uri');
    assert.equal((await storage.stat(uri))?.size, 7);
    assert.deepEqual(await storage.list(pathToFileURL(join(root, 'uri dir')).href), ['file ✓.txt']);
    assert.equal(storage.join(pathToFileURL(root).href, 'uri dir'), join(root, 'uri dir'));
  });

  it('a file:// URI with a remote host is a UsageError', async () => {
    await assert.rejects(storage.read('file://elsewhere/etc/hosts'), UsageError);
  });
});
