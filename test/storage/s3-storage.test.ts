import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { GetObjectTaggingCommand, S3Client } from '@aws-sdk/client-s3';
import { NotFoundError, StorageError, UsageError } from '../../src/errors.js';
import { formatS3Location, isS3Location, joinS3Location, parseS3Location } from '../../src/storage/s3-location.js';
import { S3ByteSource, S3Storage } from '../../src/storage/s3-storage.js';
import { storageFor } from '../../src/storage/storage-for.js';
import { freePort, s3ServerAvailability, startS3Server, type TestS3Server } from '../support/s3-server.js';
import { storageConformanceSuite } from './storage-conformance.js';

describe('s3:// locations', () => {
  it('parses bucket and key, dropping trailing slashes', () => {
    assert.deepEqual(parseS3Location('s3://bucket/logs/a.eval'), { bucket: 'bucket', key: 'logs/a.eval' });
    assert.deepEqual(parseS3Location('s3://bucket/logs/'), { bucket: 'bucket', key: 'logs' });
    assert.deepEqual(parseS3Location('s3://bucket'), { bucket: 'bucket', key: '' });
    assert.deepEqual(parseS3Location('S3://bucket/my file%20.eval'), { bucket: 'bucket', key: 'my file%20.eval' });
  });

  it('formats and joins', () => {
    assert.equal(formatS3Location({ bucket: 'bucket', key: 'k/x' }), 's3://bucket/k/x');
    assert.equal(formatS3Location({ bucket: 'bucket', key: '' }), 's3://bucket');
    assert.equal(joinS3Location('s3://bucket/logs', '.buffer', 'name'), 's3://bucket/logs/.buffer/name');
    assert.equal(joinS3Location('s3://bucket/logs/', 'x'), 's3://bucket/logs/x');
    assert.equal(joinS3Location('s3://bucket', 'x'), 's3://bucket/x');
  });

  it('recognises s3:// locations', () => {
    assert.equal(isS3Location('s3://bucket/k'), true);
    assert.equal(isS3Location('/tmp/s3://x'), false);
    assert.equal(isS3Location('logs/a.eval'), false);
  });

  it('refuses malformed locations with a UsageError naming them', () => {
    for (const bad of ['s3://', 's3:///key', 's3://bad bucket/key', 's3://ab/key', 's3://bucket?x/key', '/local/path']) {
      assert.throws(
        () => parseS3Location(bad),
        (error: unknown) => error instanceof UsageError && error.message.startsWith(`${bad}: `),
      );
    }
  });
});

describe('storageFor', () => {
  it('chooses the driver by scheme', () => {
    assert.equal(storageFor('logs/a.eval').kind, 'local');
    assert.equal(storageFor('file:///tmp/a.eval').kind, 'local');
    assert.equal(storageFor('s3://bucket/a.eval', { region: 'eu-west-1' }).kind, 's3');
  });

  it('shares one S3Storage per set of options', () => {
    const options = { endpoint: 'http://127.0.0.1:1', region: 'us-east-1' };
    assert.equal(storageFor('s3://bucket-a/x', options), storageFor('s3://bucket-b/y', { ...options }));
    assert.notEqual(storageFor('s3://bucket-a/x', options), storageFor('s3://bucket-a/x', { ...options, region: 'eu-west-1' }));
    const client = new S3Client({ region: 'us-east-1' });
    assert.equal(storageFor('s3://bucket-a/x', { client }), storageFor('s3://bucket-a/x', { client }));
    assert.notEqual(storageFor('s3://bucket-a/x', { client }), storageFor('s3://bucket-a/x', { client: new S3Client({ region: 'us-east-1' }) }));
  });
});

/** Asserts a StorageError with a one-line message that starts with the location and matches `detail`. */
function isStorageError(location: string, detail: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof StorageError, `expected StorageError, got ${String(error)}`);
    assert.ok(error.message.startsWith(`${location}: `), error.message);
    assert.match(error.message, detail);
    assert.ok(!error.message.includes('\n'), error.message);
    return true;
  };
}

/**
 * Makes the server "answer" matching PUTs with S3's 403 AccessDenied document, as real S3 does
 * for a tagged PutObject when the caller lacks s3:PutObjectTagging (moto never refuses). The
 * answer goes through the SDK's own response parsing. Returns a counter of refused requests.
 */
function refusePuts(storage: S3Storage, refuse: (headers: Record<string, string>) => boolean): { refused: number } {
  const counter = { refused: 0 };
  const accessDenied =
    '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>';
  storage.client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { method?: string; headers?: Record<string, string> };
      const headers = Object.fromEntries(Object.entries(request.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
      if (request.method !== 'PUT' || !refuse(headers)) return next(args);
      counter.refused++;
      return {
        response: { statusCode: 403, reason: 'Forbidden', headers: { 'content-type': 'application/xml' }, body: Readable.from([Buffer.from(accessDenied)]) },
        output: undefined as never,
      };
    },
    { step: 'deserialize', priority: 'low', name: 'refusePutsForTest' },
  );
  return counter;
}

describe('S3Storage against a local S3 server', s3ServerAvailability(), () => {
  let server: TestS3Server;

  before(async () => {
    server = await startS3Server();
  });
  after(async () => {
    await server?.stop();
  });

  storageConformanceSuite('S3Storage conformance', async () => {
    const root = `s3://${server.bucket}/conformance`;
    return {
      storage: server.storage,
      root,
      teardown: () => server.storage.deleteTree(root),
      async readTags(location) {
        const { bucket, key } = parseS3Location(location);
        const { TagSet } = await server.storage.client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
        return Object.fromEntries((TagSet ?? []).map((tag) => [tag.Key, tag.Value]));
      },
    };
  });

  // What the CLI uses: the driver storageFor picks for an s3:// URI, loaded on first use.
  storageConformanceSuite("storageFor('s3://…') conformance", async () => {
    const root = `s3://${server.bucket}/conformance-storage-for`;
    const storage = storageFor(root, server.options);
    assert.ok(!(storage instanceof S3Storage), 'the lazily loaded driver, not an S3Storage made here');
    return {
      storage,
      root,
      teardown: () => storage.deleteTree(root),
      async readTags(location) {
        const { bucket, key } = parseS3Location(location);
        const { TagSet } = await server.storage.client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
        return Object.fromEntries((TagSet ?? []).map((tag) => [tag.Key, tag.Value]));
      },
    };
  });

  describe('S3Storage specifics', () => {
    const tagsOf = async (location: string) => {
      const { bucket, key } = parseS3Location(location);
      return (await server.storage.client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }))).TagSet ?? [];
    };
    const tags = { 'inspect-ephemeral': 'true' };

    it('a refused tagged write is retried untagged, and tagging stays off afterwards', async () => {
      const storage = new S3Storage(server.options);
      try {
        const counter = refusePuts(storage, (headers) => 'x-amz-tagging' in headers);
        const location = `s3://${server.bucket}/tagging-refused/manifest.json`;
        await storage.write(location, '{"v": 1}', { tags });
        assert.equal(counter.refused, 1);
        assert.equal(storage.taggingDisabled, true);
        assert.equal(Buffer.from(await storage.read(location)).toString(), '{"v": 1}');
        assert.deepEqual(await tagsOf(location), []);

        await storage.write(location, '{"v": 2}', { tags });
        assert.equal(counter.refused, 1, 'no second tagged attempt once tagging was refused');
        assert.equal(Buffer.from(await storage.read(location)).toString(), '{"v": 2}');
      } finally {
        storage.destroy();
      }
    });

    it('a write refused with and without tags is "access denied (write)", tagging stays on', async () => {
      const storage = new S3Storage(server.options);
      try {
        refusePuts(storage, () => true);
        const location = `s3://${server.bucket}/denied/manifest.json`;
        await assert.rejects(storage.write(location, '{}', { tags }), isStorageError(location, /access denied \(write\)$/));
        assert.equal(storage.taggingDisabled, false);
        assert.equal(await storage.stat(location), undefined);
      } finally {
        storage.destroy();
      }
    });

    it('an unreachable endpoint is a one-line StorageError naming the location and the endpoint', async () => {
      const endpoint = `http://127.0.0.1:${await freePort()}`;
      const storage = new S3Storage({ ...server.options, endpoint });
      try {
        const location = `s3://${server.bucket}/x.eval`;
        const unreachable = new RegExp(`cannot reach the S3 endpoint ${endpoint.replace(/[.]/g, '\\.')} \\(ECONNREFUSED\\)`);
        await assert.rejects(storage.read(location), isStorageError(location, unreachable));
        await assert.rejects(storage.stat(location), isStorageError(location, unreachable));
        await assert.rejects(storage.list(`s3://${server.bucket}/logs`), isStorageError(`s3://${server.bucket}/logs`, unreachable));
      } finally {
        storage.destroy();
      }
    });

    it('a missing bucket is a NotFoundError naming the bucket', async () => {
      const location = 's3://no-such-bucket-here/logs/a.eval';
      const namesBucket = (error: unknown) => {
        assert.ok(error instanceof NotFoundError, String(error));
        assert.equal(error.message, `${location}: no such bucket "no-such-bucket-here"`);
        return true;
      };
      await assert.rejects(server.storage.read(location), namesBucket);
      await assert.rejects(server.storage.write(location, 'x'), namesBucket);
      await assert.rejects(server.storage.list('s3://no-such-bucket-here/logs'), (error: unknown) => error instanceof NotFoundError);
      // HEAD answers carry no error code, so a missing bucket looks like a missing object.
      assert.equal(await server.storage.stat(location), undefined);
    });

    it('a byte source refuses to mix two versions of a replaced object', async () => {
      const location = `s3://${server.bucket}/replaced/log.eval`;
      await server.storage.write(location, 'first version');
      const source = server.storage.byteSource(location);
      assert.ok(source instanceof S3ByteSource);
      assert.equal(await source.size(), 13);
      assert.equal(Buffer.from(await source.read(0, 5)).toString(), 'first');
      await server.storage.write(location, 'second version');
      await assert.rejects(source.read(6, 7), isStorageError(location, /replaced while it was being read/));
      assert.equal(await server.storage.byteSource(location).size(), 14);
    });

    it('readEnd gives the end and the size from one suffix read, pins the version it saw, and says a missing object in one line', async () => {
      const location = `s3://${server.bucket}/read-end/log.eval`;
      const data = new Uint8Array(5000).map((_, index) => index % 251);
      await server.storage.write(location, data);
      for (const storage of [server.storage, storageFor(location, server.options)]) {
        const short = storage.byteSource(location);
        assert.deepEqual(await short.readEnd!(10), { bytes: data.subarray(4990), size: 5000 });
        assert.equal(await short.size(), 5000);
        const whole = storage.byteSource(location);
        assert.deepEqual(await whole.readEnd!(1 << 20), { bytes: data, size: 5000 });
        await assert.rejects(storage.byteSource(`${location}.missing`).readEnd!(10), (error: unknown) => error instanceof NotFoundError && error.message === `${location}.missing: no such object`);
      }
      const empty = `s3://${server.bucket}/read-end/empty.eval`;
      await server.storage.write(empty, new Uint8Array(0));
      assert.deepEqual(await server.storage.byteSource(empty).readEnd!(10), { bytes: new Uint8Array(0), size: 0 });
      const pinned = server.storage.byteSource(location);
      await pinned.readEnd!(10);
      await server.storage.write(location, 'another version');
      await assert.rejects(pinned.read(0, 5), isStorageError(location, /replaced while it was being read/));
    });

    it('list and deleteTree page through more than 1000 objects', async () => {
      const directory = `s3://${server.bucket}/many`;
      const names = Array.from({ length: 1003 }, (_, index) => `object-${String(index).padStart(4, '0')}`);
      for (let start = 0; start < names.length; start += 100) {
        await Promise.all(names.slice(start, start + 100).map((name) => server.storage.write(`${directory}/${name}`, name)));
      }
      assert.deepEqual(await server.storage.list(directory), names);
      await server.storage.deleteTree(directory);
      assert.deepEqual(await server.storage.list(directory), []);
    });

    it('deleteTree refuses a whole bucket', async () => {
      await assert.rejects(server.storage.deleteTree(`s3://${server.bucket}`), UsageError);
      await assert.rejects(server.storage.deleteTree(`s3://${server.bucket}/`), UsageError);
    });
  });
});
