/** The same filestore read from S3 (ranged reads through S3Storage) and from local disk gives the same answers. */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { filestoreDirForLog } from '../../../src/buffer/filestore/layout.js';
import { FilestoreReader, type FilestoreSampleData } from '../../../src/buffer/filestore/reader.js';
import { NotFoundError } from '../../../src/errors.js';
import type { RecoveryWarning } from '../../../src/warnings.js';
import { s3ServerAvailability, startS3Server, type TestS3Server } from '../../support/s3-server.js';
import { conformanceSuiteOptions } from '../../support/shared-fixtures.js';
import { useTempDir } from '../../support/temp-dir.js';
import { copyFixtureLayout, crashedLogName, directoryFiles, noiseBytes, warningCollector } from './filestore-helpers.js';

/** Reads every manifest sample with its data and warnings, locations replaced by `<dir>` so two copies compare. */
async function readEverything(logLocation: string, options: { storage?: TestS3Server['storage'] } = {}) {
  const collector = warningCollector();
  const reader = await FilestoreReader.open(logLocation, { ...options, onWarning: collector.onWarning });
  const bufferDir = filestoreDirForLog(logLocation);
  const normalize = (text: string) => text.replaceAll(bufferDir, '<dir>');
  const samples: Array<FilestoreSampleData | undefined> = [];
  for (const sample of reader.samples()) samples.push(await reader.sampleData(sample.id, sample.epoch));
  const normalized = samples.map((data) => {
    assert.ok(data);
    const skippedSegments = data.damage.skippedSegments.map((skipped) => ({ ...skipped, location: normalize(skipped.location), reason: normalize(skipped.reason) }));
    return { ...data, damage: { ...data.damage, skippedSegments } };
  });
  const warnings = collector.warnings.map((warning): RecoveryWarning => JSON.parse(normalize(JSON.stringify(warning))) as RecoveryWarning);
  await reader.close();
  return { reader, samples: normalized, warnings };
}

describe('segment filestore on S3', { ...conformanceSuiteOptions(), ...s3ServerAvailability() }, () => {
  const temp = useTempDir('filestore-s3-');
  let server: TestS3Server;
  let local: { logLocation: string; bufferDir: string };

  /** Uploads the local layout's files under `s3://<bucket>/<prefix>/.buffer/<name>/`; returns the S3 log location. */
  async function upload(prefix: string, bufferDir: string): Promise<string> {
    const logLocation = `s3://${server.bucket}/${prefix}/${crashedLogName}`;
    const s3BufferDir = filestoreDirForLog(logLocation);
    for (const [name, bytes] of await directoryFiles(bufferDir)) await server.storage.write(server.storage.join(s3BufferDir, name), bytes);
    return logLocation;
  }

  before(async () => {
    server = await startS3Server();
    local = await copyFixtureLayout('crashed-filestore', join(temp.path, 'logs'));
  });
  after(async () => {
    await server?.stop();
  });

  it('reads the same samples, events, attachments, pools and metadata from S3 as from disk', async () => {
    const s3Log = await upload('logs', local.bufferDir);
    const fromDisk = await readEverything(local.logLocation);
    const fromS3 = await readEverything(s3Log, { storage: server.storage });
    assert.equal(fromS3.reader.bufferDir, `s3://${server.bucket}/logs/.buffer/${crashedLogName.replace(/\.eval$/, '')}`);
    assert.deepEqual(fromS3.reader.samples(), fromDisk.reader.samples());
    assert.deepEqual(fromS3.reader.manifest, fromDisk.reader.manifest);
    assert.deepEqual(fromS3.samples, fromDisk.samples);
    assert.deepEqual(fromS3.samples.map((data) => data.events.length), [39, 21, 17, 21, 39, 17]);
    assert.deepEqual([fromS3.warnings, fromDisk.warnings], [[], []]);
  });

  it('skips a corrupt segment on S3 exactly as on disk: same data, same warnings', async () => {
    const damaged = await copyFixtureLayout('crashed-filestore', join(temp.path, 'damaged'));
    await writeFile(join(damaged.bufferDir, 'segment.3.zip'), noiseBytes(10_000));
    const s3Log = await upload('damaged', damaged.bufferDir);
    const fromDisk = await readEverything(damaged.logLocation);
    const fromS3 = await readEverything(s3Log, { storage: server.storage });
    assert.deepEqual(fromS3.samples, fromDisk.samples);
    assert.deepEqual(fromS3.warnings, fromDisk.warnings);
    assert.deepEqual(fromS3.warnings.map((warning) => warning.code), ['SEGMENT_UNREADABLE', 'POOL_GAP', 'POOL_GAP', 'POOL_GAP', 'POOL_GAP']);
    assert.match(fromS3.warnings[0]!.message, /segment\.3\.zip.*not a zip archive/);
  });

  it('skips a segment missing from S3 with one warning, and reports a missing manifest as NotFoundError', async () => {
    const s3Log = await upload('missing', local.bufferDir);
    const s3BufferDir = filestoreDirForLog(s3Log);
    await server.storage.delete(server.storage.join(s3BufferDir, 'segment.4.zip'));
    const { samples, warnings } = await readEverything(s3Log, { storage: server.storage });
    const unreadable = warnings.filter((warning) => warning.code === 'SEGMENT_UNREADABLE');
    assert.equal(unreadable.length, 1);
    assert.match(unreadable[0]!.message, /segment\.4\.zip/);
    assert.ok(samples.every((data) => data.damage.skippedSegments.some((skipped) => skipped.id === 4)));

    await server.storage.delete(server.storage.join(s3BufferDir, 'manifest.json'));
    await assert.rejects(FilestoreReader.open(s3Log, { storage: server.storage }), (error: unknown) => {
      assert.ok(error instanceof NotFoundError);
      assert.ok(error.message.includes(`${s3BufferDir}/manifest.json`));
      return true;
    });
  });
});
