import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { GetObjectTaggingCommand } from '@aws-sdk/client-s3';
import { SampleBufferDatabase } from '../../../src/buffer/database/writer.js';
import { heartbeatFileName } from '../../../src/buffer/filestore/heartbeat.js';
import { filestoreDirForLog, segmentFileName } from '../../../src/buffer/filestore/layout.js';
import { openLiveBufferDatabase } from '../../../src/buffer/database/live-database.js';
import { FilestoreSync } from '../../../src/buffer/filestore/sync.js';
import { parsePythonJson } from '../../../src/json/python-json.js';
import { parseS3Location } from '../../../src/storage/s3-location.js';
import { S3Storage } from '../../../src/storage/s3-storage.js';
import { s3ServerAvailability, startS3Server, type TestS3Server } from '../../support/s3-server.js';
import { makeTempDir, removeTempDir } from '../../support/temp-dir.js';
import { crashedLogName } from './filestore-helpers.js';
import { assertFilestoreMirrorsDatabase, completedSummary, laterEvents, metrics, openingEvents, startSummary } from './sync-helpers.js';

/**
 * Answers tagged PUTs with S3's 403 AccessDenied, as real S3 does when the caller lacks
 * s3:PutObjectTagging (moto never refuses). Returns a counter of refused requests.
 */
function refuseTaggedPuts(storage: S3Storage): { refused: number } {
  const counter = { refused: 0 };
  const accessDenied = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>';
  storage.client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { method?: string; headers?: Record<string, string> };
      const tagged = Object.keys(request.headers ?? {}).some((name) => name.toLowerCase() === 'x-amz-tagging');
      if (request.method !== 'PUT' || !tagged) return next(args);
      counter.refused++;
      return {
        response: { statusCode: 403, reason: 'Forbidden', headers: { 'content-type': 'application/xml' }, body: Readable.from([Buffer.from(accessDenied)]) },
        output: undefined as never,
      };
    },
    { step: 'deserialize', priority: 'low', name: 'refuseTaggedPutsForTest' },
  );
  return counter;
}

describe('FilestoreSync on S3', s3ServerAvailability(), () => {
  let server: TestS3Server;
  let root: string;

  before(async () => {
    server = await startS3Server();
    root = await makeTempDir('filestore-sync-s3-');
  });
  after(async () => {
    await server?.stop();
    if (root) await removeTempDir(root);
  });

  /** The object's tags as a plain record. */
  async function tagsOf(location: string): Promise<Record<string, string | undefined>> {
    const { bucket, key } = parseS3Location(location);
    const { TagSet } = await server.storage.client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
    return Object.fromEntries((TagSet ?? []).map((tag) => [tag.Key, tag.Value]));
  }

  /** A DB for an `s3://` log, synced through `storage` into its `.buffer/` prefix. */
  async function run(prefix: string, storage: S3Storage, work: (context: { database: SampleBufferDatabase; sync: FilestoreSync; bufferDir: string }) => Promise<void>) {
    const logLocation = `s3://${server.bucket}/${prefix}/logs/${crashedLogName}`;
    const database = SampleBufferDatabase.create(logLocation, { dataDir: `${root}/${prefix}`, pid: 4242 });
    const live = openLiveBufferDatabase(database.path);
    const bufferDir = filestoreDirForLog(logLocation);
    try {
      await work({ database, sync: new FilestoreSync({ database: live, storage, bufferDir, intervalSeconds: 10 }), bufferDir });
    } finally {
      live.close();
      await database.close({ cleanup: true });
    }
  }

  it('mirrors the DB into `.buffer/` with every object tagged inspect-ephemeral=true, and removes it', () =>
    run('tagged', server.storage, async ({ database, sync, bufferDir }) => {
      assert.equal(bufferDir, `s3://${server.bucket}/tagged/logs/.buffer/${crashedLogName.replace(/\.eval$/, '')}`);
      database.updateMetrics(metrics);
      database.startSample(startSummary(1));
      database.startSample(startSummary('s-002'));
      database.logEvents(1, 1, openingEvents(1));
      database.logEvents('s-002', 1, openingEvents('s-002'));
      assert.equal((await sync.sync()).segmentId, 1);
      await assertFilestoreMirrorsDatabase(server.storage, bufferDir, database.path);

      database.logEvents(1, 1, laterEvents(1, 2));
      database.completeSample('s-002', 1, completedSummary('s-002'), { metadata: { thinned: false, documents: ['a', 'b'] } });
      assert.deepEqual(await sync.sync(), { segmentId: 2, samples: 2, members: 1, metadataFiles: 1 });
      await assertFilestoreMirrorsDatabase(server.storage, bufferDir, database.path);

      database.removeSamples([{ id: 's-002', epoch: 1 }]);
      database.logEvents(1, 1, laterEvents(1, 3));
      assert.equal((await sync.sync()).segmentId, 3);
      await assertFilestoreMirrorsDatabase(server.storage, bufferDir, database.path);

      const names = await server.storage.list(bufferDir);
      assert.deepEqual(names.filter((name) => !name.startsWith('metadata.')), ['.keep', heartbeatFileName, 'manifest.json', ...[1, 2, 3].map(segmentFileName)]);
      assert.equal(names.filter((name) => name.startsWith('metadata.')).length, 1);
      for (const name of names) assert.deepEqual(await tagsOf(`${bufferDir}/${name}`), { 'inspect-ephemeral': 'true' }, name);

      await sync.remove();
      assert.deepEqual(await server.storage.list(bufferDir), []);
    }));

  it('writes untagged when tagging is denied, and the filestore still reads back whole', async () => {
    const storage = new S3Storage(server.options);
    try {
      const counter = refuseTaggedPuts(storage);
      await run('denied', storage, async ({ database, sync, bufferDir }) => {
        database.startSample(startSummary(1));
        database.logEvents(1, 1, openingEvents(1));
        await sync.sync();
        database.logEvents(1, 1, laterEvents(1, 2));
        await sync.sync();
        assert.equal(counter.refused, 1, 'refused once, then tagging stays off');
        assert.equal(storage.taggingDisabled, true);
        await assertFilestoreMirrorsDatabase(server.storage, bufferDir, database.path);
        const names = await server.storage.list(bufferDir);
        assert.ok(names.includes(segmentFileName(2)));
        for (const name of names) assert.deepEqual(await tagsOf(`${bufferDir}/${name}`), {}, name);
        const manifest = parsePythonJson(Buffer.from(await server.storage.read(`${bufferDir}/manifest.json`)).toString('utf8')) as { segments: unknown[] };
        assert.equal(manifest.segments.length, 2);
      });
    } finally {
      storage.destroy();
    }
  });
});
