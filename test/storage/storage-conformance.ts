import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hostname } from 'node:os';
import { LogLeasedError, NotFoundError } from '../../src/errors.js';
import { leaseLocation, RecoveryLease } from '../../src/recover/recovery-lease.js';
import type { Storage } from '../../src/storage/storage.js';

export interface StorageFixture {
  storage: Storage;
  /** A directory location the suite may fill; each test works in its own subdirectory. */
  root: string;
  teardown(): Promise<void>;
  /** The tags stored on an object, where the backend keeps tags (S3). */
  readTags?(location: string): Promise<Record<string, string>>;
}

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

/** Asserts that `promise` rejects with a NotFoundError whose message names `location`. */
async function assertNotFound(promise: Promise<unknown>, location: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof NotFoundError, `expected NotFoundError, got ${String(error)}`);
    assert.ok(error.message.includes(location), `message should name ${location}: ${error.message}`);
    assert.ok(!error.message.includes('\n'), `message should be one line: ${error.message}`);
    return true;
  });
}

/** The behaviour every Storage driver must share, registered as node:test tests. */
export function storageConformanceSuite(name: string, setup: () => Promise<StorageFixture>): void {
  describe(name, () => {
    let fixture: StorageFixture;
    let storage: Storage;
    const at = (...names: string[]) => storage.join(fixture.root, ...names);

    before(async () => {
      fixture = await setup();
      storage = fixture.storage;
    });
    after(async () => {
      await fixture?.teardown();
    });

    it('round-trips bytes', async () => {
      const location = at('round-trip', 'all-bytes.bin');
      const data = new Uint8Array(256).map((_, index) => index);
      await storage.write(location, data);
      assert.deepEqual(new Uint8Array(await storage.read(location)), data);
    });

    it('round-trips a string as UTF-8', async () => {
      const location = at('round-trip', 'text.json');
      const value = '{"text": "héllo ✓ 日本 🎉"}\n';
      await storage.write(location, value);
      assert.equal(text(await storage.read(location)), value);
    });

    it('round-trips an empty file', async () => {
      const location = at('round-trip', '.keep');
      await storage.write(location, new Uint8Array(0));
      assert.equal((await storage.read(location)).length, 0);
      assert.equal((await storage.stat(location))?.size, 0);
    });

    it('overwrite replaces the whole content', async () => {
      const location = at('overwrite', 'file.txt');
      await storage.write(location, 'a much longer first version');
      await storage.write(location, 'short');
      assert.equal(text(await storage.read(location)), 'short');
    });

    it('creates missing parent directories', async () => {
      const location = at('parents', 'a', 'b', 'c', 'deep.txt');
      await storage.write(location, 'deep');
      assert.equal(text(await storage.read(location)), 'deep');
    });

    it('readRange reads from the start, the middle and the end', async () => {
      const location = at('range', 'digits.txt');
      await storage.write(location, '0123456789');
      assert.equal(text(await storage.readRange(location, 0, 3)), '012');
      assert.equal(text(await storage.readRange(location, 4, 3)), '456');
      assert.equal(text(await storage.readRange(location, 7, 3)), '789');
      assert.equal(text(await storage.readRange(location, 0, 10)), '0123456789');
    });

    it('readRange returns fewer bytes past the end', async () => {
      const location = at('range', 'short.txt');
      await storage.write(location, '0123456789');
      assert.equal(text(await storage.readRange(location, 8, 100)), '89');
      assert.equal((await storage.readRange(location, 10, 5)).length, 0);
      assert.equal((await storage.readRange(location, 50, 5)).length, 0);
      assert.equal((await storage.readRange(location, 3, 0)).length, 0);
    });

    it('readRange of a missing file is NotFoundError', async () => {
      const location = at('range', 'missing.txt');
      await assertNotFound(storage.readRange(location, 0, 10), location);
    });

    it('byteSource gives the size and random access', async () => {
      const location = at('byte-source', 'data.bin');
      const data = randomBytes(100_000);
      await storage.write(location, data);
      const source = storage.byteSource(location);
      try {
        assert.equal(source.name, location);
        assert.equal(await source.size(), data.length);
        assert.deepEqual(Buffer.from(await source.read(99_990, 10)), data.subarray(99_990));
        assert.deepEqual(Buffer.from(await source.read(10, 20)), data.subarray(10, 30));
        assert.deepEqual(Buffer.from(await source.read(99_995, 10)), data.subarray(99_995));
      } finally {
        await source.close();
      }
    });

    it('byteSource of a missing file is NotFoundError', async () => {
      const location = at('byte-source', 'missing.bin');
      const source = storage.byteSource(location);
      try {
        await assertNotFound(source.size(), location);
      } finally {
        await source.close();
      }
    });

    it('stat gives size, a recent mtime and an etag that changes on rewrite', async () => {
      const location = at('stat', 'file.txt');
      const before = Date.now();
      await storage.write(location, 'first');
      const first = await storage.stat(location);
      assert.ok(first);
      assert.equal(first.size, 5);
      // S3 keeps whole seconds; allow for that and a little clock skew.
      assert.ok(first.mtimeMs > before - 5_000 && first.mtimeMs < Date.now() + 5_000, `mtime ${first.mtimeMs} not recent`);
      assert.notEqual(first.etag, '');

      await storage.write(location, 'other'); // same size, new content
      const second = await storage.stat(location);
      assert.ok(second);
      assert.equal(second.size, 5);
      assert.notEqual(second.etag, first.etag);

      await storage.write(location, 'longer content');
      const third = await storage.stat(location);
      assert.equal(third?.size, 14);
      assert.notEqual(third?.etag, second.etag);
    });

    it('stat of a missing file is undefined', async () => {
      assert.equal(await storage.stat(at('stat', 'missing.txt')), undefined);
      assert.equal(await storage.stat(at('no-such-directory', 'missing.txt')), undefined);
    });

    it('read of a missing file is NotFoundError naming it', async () => {
      const location = at('missing', 'nothing-here.eval');
      await assertNotFound(storage.read(location), location);
    });

    it('list gives the direct children only, files and subdirectories, sorted', async () => {
      const directory = at('list', 'dir');
      await storage.write(storage.join(directory, 'b.txt'), 'b');
      await storage.write(storage.join(directory, 'a.txt'), 'a');
      await storage.write(storage.join(directory, 'sub', 'nested.txt'), 'nested');
      await storage.write(storage.join(directory, 'sub', 'deeper', 'x.txt'), 'x');
      // A sibling sharing the name as a prefix must not leak in (S3 prefixes).
      await storage.write(at('list', 'dir2', 'other.txt'), 'other');
      await storage.write(at('list', 'dir.txt'), 'other');
      assert.deepEqual(await storage.list(directory), ['a.txt', 'b.txt', 'sub']);
      assert.deepEqual(await storage.list(storage.join(directory, 'sub')), ['deeper', 'nested.txt']);
    });

    it('list of a missing directory is empty', async () => {
      assert.deepEqual(await storage.list(at('list', 'no-such-directory')), []);
    });

    it('walk gives every file at any depth with its stat, sorted, and nothing beside the directory', async () => {
      const directory = at('walk', 'dir');
      await storage.write(storage.join(directory, 'b.eval'), 'bb');
      await storage.write(storage.join(directory, 'a', 'x.eval'), 'xxx');
      await storage.write(storage.join(directory, 'a', 'deep', 'y.json'), 'y');
      await storage.write(storage.join(directory, '.buffer', 'run', 'manifest.json'), '{}');
      await storage.write(at('walk', 'dir2', 'other.eval'), 'other');
      const walked = await storage.walk(directory);
      assert.deepEqual(
        walked.map((file) => file.relative),
        ['.buffer/run/manifest.json', 'a/deep/y.json', 'a/x.eval', 'b.eval'],
      );
      for (const file of walked) {
        assert.equal(file.location, storage.join(directory, ...file.relative.split('/')));
        assert.deepEqual(file.stat, await storage.stat(file.location), `${file.relative}: the same stat as stat() gives`);
      }
      assert.deepEqual(await storage.walk(at('walk', 'no-such-directory')), []);
    });

    it('byteSource with a known stat reads the same bytes without asking for it again', async () => {
      const location = at('byte-source', 'known.bin');
      const data = new Uint8Array(5000).map((_, index) => index % 251);
      await storage.write(location, data);
      const source = storage.byteSource(location, await storage.stat(location));
      try {
        assert.equal(await source.size(), 5000);
        assert.deepEqual(new Uint8Array(await source.read(4990, 10)), data.subarray(4990));
      } finally {
        await source.close();
      }
    });

    it('delete removes a file, and deleting a missing file is fine', async () => {
      const location = at('delete', 'file.txt');
      await storage.write(location, 'bye');
      await storage.delete(location);
      assert.equal(await storage.stat(location), undefined);
      await assertNotFound(storage.read(location), location);
      await storage.delete(location);
      await storage.delete(at('delete', 'never-existed', 'file.txt'));
    });

    it('deleteTree removes everything under a directory and nothing beside it', async () => {
      const directory = at('delete-tree', 'buffer');
      await storage.write(storage.join(directory, '.keep'), '');
      await storage.write(storage.join(directory, 'manifest.json'), '{}');
      await storage.write(storage.join(directory, 'nested', 'segment.1.zip'), 'zip');
      const sibling = at('delete-tree', 'buffer-other', 'keep.txt');
      await storage.write(sibling, 'stays');
      await storage.deleteTree(directory);
      assert.deepEqual(await storage.list(directory), []);
      assert.equal(await storage.stat(storage.join(directory, 'manifest.json')), undefined);
      assert.equal(text(await storage.read(sibling)), 'stays');
      assert.deepEqual(await storage.list(at('delete-tree')), ['buffer-other']);
      await storage.deleteTree(directory);
    });

    it('writeFromFile copies a 3 MB local file', async () => {
      const localDirectory = await mkdtemp(join(tmpdir(), 'storage-conformance-'));
      try {
        const localFile = join(localDirectory, 'segment.zip');
        const data = randomBytes(3 * 1024 * 1024 + 17);
        await writeFile(localFile, data);
        const location = at('from-file', 'segment.1.zip');
        await storage.writeFromFile(location, localFile);
        assert.equal((await storage.stat(location))?.size, data.length);
        assert.ok(Buffer.from(await storage.read(location)).equals(data));
      } finally {
        await rm(localDirectory, { recursive: true, force: true });
      }
    });

    it('copy replaces the target with the source bytes and leaves the source', async () => {
      const from = at('copy', 'run-recovered.eval');
      const to = at('copy', 'run.eval');
      await storage.write(from, 'recovered bytes');
      await storage.write(to, 'crashed bytes');
      await storage.copy(from, to);
      assert.equal(text(await storage.read(to)), 'recovered bytes');
      assert.equal(text(await storage.read(from)), 'recovered bytes');
      await assertNotFound(storage.copy(at('copy', 'missing.eval'), to), at('copy', 'missing.eval'));
      assert.equal(text(await storage.read(to)), 'recovered bytes');
    });

    it('writeFromFile of a missing local file is NotFoundError naming it', async () => {
      const localFile = join(tmpdir(), `no-such-file-${randomBytes(6).toString('hex')}.zip`);
      await assertNotFound(storage.writeFromFile(at('from-file', 'never.zip'), localFile), localFile);
      assert.equal(await storage.stat(at('from-file', 'never.zip')), undefined);
    });

    it('accepts tags on writes (and stores them where the backend keeps tags)', async () => {
      const tags = { 'inspect-ephemeral': 'true' };
      const location = at('tags', 'manifest.json');
      await storage.write(location, '{}', { tags });
      assert.equal(text(await storage.read(location)), '{}');

      const localDirectory = await mkdtemp(join(tmpdir(), 'storage-conformance-'));
      const fromFile = at('tags', 'segment.1.zip');
      try {
        const localFile = join(localDirectory, 'segment.zip');
        await writeFile(localFile, 'zip bytes');
        await storage.writeFromFile(fromFile, localFile, { tags });
      } finally {
        await rm(localDirectory, { recursive: true, force: true });
      }
      assert.equal(text(await storage.read(fromFile)), 'zip bytes');

      if (fixture.readTags) {
        assert.deepEqual(await fixture.readTags(location), tags);
        assert.deepEqual(await fixture.readTags(fromFile), tags);
      }
    });

    it('handles names with spaces and non-ASCII characters', async () => {
      const directory = at('names', 'with space', 'ünïcødé 日本');
      const name = 'my task ✓ (1) + 50%.eval';
      const location = storage.join(directory, name);
      await storage.write(location, 'content');
      assert.equal(text(await storage.read(location)), 'content');
      assert.equal(text(await storage.readRange(location, 3, 4)), 'tent');
      assert.equal((await storage.stat(location))?.size, 7);
      assert.deepEqual(await storage.list(directory), [name]);
      assert.deepEqual(await storage.list(at('names', 'with space')), ['ünïcødé 日本']);
      await storage.delete(location);
      assert.equal(await storage.stat(location), undefined);
    });

    it('join builds locations that the other methods accept', async () => {
      const location = storage.join(fixture.root, 'join', 'a', 'b.txt');
      assert.equal(location, storage.join(storage.join(fixture.root, 'join'), 'a', 'b.txt'));
      await storage.write(location, 'joined');
      assert.deepEqual(await storage.list(storage.join(fixture.root, 'join', 'a')), ['b.txt']);
    });

    it('createExclusive creates once; a second create of the same name is refused', async () => {
      const location = at('conditional', 'once.lease');
      const first = await storage.createExclusive(location, 'first');
      assert.equal(typeof first, 'string');
      assert.equal(await storage.createExclusive(location, 'second'), undefined);
      const read = await storage.readTagged(location);
      assert.deepEqual([text(read!.data), read!.etag], ['first', first]);
      assert.equal(await storage.readTagged(at('conditional', 'missing')), undefined);
    });

    it('replaceIfTagged replaces only the version it names; of racing creates exactly one wins', async () => {
      const location = at('conditional', 'cas.lease');
      const v1 = (await storage.createExclusive(location, 'v1'))!;
      const v2 = await storage.replaceIfTagged(location, 'v2', v1);
      assert.equal(typeof v2, 'string');
      assert.equal(await storage.replaceIfTagged(location, 'stale', v1), undefined, 'v1 is no longer current');
      assert.equal(text(await storage.read(location)), 'v2');
      assert.equal(await storage.replaceIfTagged(at('conditional', 'gone'), 'x', v1), undefined);
      const raced = at('conditional', 'raced.lease');
      const outcomes = await Promise.all(Array.from({ length: 8 }, (_, index) => storage.createExclusive(raced, `racer ${index}`)));
      assert.equal(outcomes.filter((outcome) => outcome !== undefined).length, 1);
      const current = await storage.readTagged(raced);
      const swaps = await Promise.all(Array.from({ length: 6 }, (_, index) => storage.replaceIfTagged(raced, `swap ${index}`, current!.etag)));
      assert.equal(swaps.filter((outcome) => outcome !== undefined).length, 1);
    });

    it('a recovery lease: held, refused to a second taker with the holder named, released, taken over once expired', async () => {
      const log = at('lease', 'run.eval');
      const lease = await RecoveryLease.acquire(storage, log);
      await assert.rejects(RecoveryLease.acquire(storage, log), (error: unknown) => {
        assert.ok(error instanceof LogLeasedError);
        assert.equal(error.exitCode, 2);
        assert.match(error.message, new RegExp(`is being recovered by ${hostname()} pid ${process.pid} \\(since .*, lease until .*\\)`));
        return true;
      });
      await lease.release();
      assert.equal(await storage.stat(leaseLocation(storage, log)), undefined);
      const short = await RecoveryLease.acquire(storage, log, { ttlMs: 1 });
      // Its expiry passes before its first renewal (as when its holder hangs or is SIGKILLed).
      await new Promise((resolve) => setTimeout(resolve, 20));
      const takeover = await RecoveryLease.acquire(storage, log);
      await assert.rejects(short.assertHeld(), /the recovery lease was lost \(another process took it over\); nothing was published/);
      await short.release();
      await takeover.assertHeld();
      await takeover.release();
      assert.equal(await storage.stat(leaseLocation(storage, log)), undefined);
    });

    it('deleteIfTagged deletes only the version it names', async () => {
      const location = at('conditional', 'cad.lease');
      const v1 = (await storage.createExclusive(location, 'v1'))!;
      const v2 = (await storage.replaceIfTagged(location, 'v2', v1))!;
      assert.equal(await storage.deleteIfTagged(location, v1), false, 'v1 is no longer current');
      assert.equal(text(await storage.read(location)), 'v2');
      assert.equal(await storage.deleteIfTagged(location, v2), true);
      assert.equal(await storage.stat(location), undefined);
      assert.equal(await storage.deleteIfTagged(location, v2), false, 'gone');
    });

    it('a lease taken over between its holder reading it and deleting it survives the release', async () => {
      const log = at('lease-race', 'run.eval');
      const location = leaseLocation(storage, log);
      const stale = await RecoveryLease.acquire(storage, log, { ttlMs: 1 });
      await new Promise((resolve) => setTimeout(resolve, 20));
      // Another sweeper takes the expired lease over at the worst moment: just after any read the
      // releasing holder makes, just before its delete reaches the server.
      let armed = true;
      const takeOver = async () => {
        if (!armed) return;
        armed = false;
        const current = (await storage.readTagged(location))!;
        assert.ok(await storage.replaceIfTagged(location, 'taken over by another sweeper', current.etag));
      };
      const racing = Object.assign(Object.create(storage) as Storage, {
        async readTagged(where: string) {
          const read = await storage.readTagged(where);
          if (where === location) await takeOver();
          return read;
        },
        async deleteIfTagged(where: string, etag: string) {
          await takeOver();
          return storage.deleteIfTagged(where, etag);
        },
      });
      (stale as unknown as { storage: Storage }).storage = racing;
      await stale.release();
      assert.equal(armed, false, 'the takeover happened during the release');
      assert.equal(text(await storage.read(location)), 'taken over by another sweeper', "the new holder's lease is left to it");
      await storage.delete(location);
    });
  });
}
