/** Recovery of a crashed log and its filestore on S3 (a local moto server): output, read-back, cleanup, overwrite, listing. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { heartbeat, heartbeatFileName } from '../../src/buffer/filestore/heartbeat.js';
import { filestoreDirForLog } from '../../src/buffer/filestore/layout.js';
import { recoverableEvalLogs } from '../../src/recover/recoverable-logs.js';
import { recoverEvalLog } from '../../src/recover/recover-eval-log.js';
import { directoryFiles } from '../buffer/filestore/filestore-helpers.js';
import { filestoreLogName } from '../support/crashed-layout.js';
import { makeScratch, readLog, type Scratch } from '../support/recovery-inputs.js';
import { s3ServerAvailability, startS3Server, type TestS3Server } from '../support/s3-server.js';
import { conformanceSuiteOptions, inspectFixture } from '../support/shared-fixtures.js';

describe('recovery on S3', { ...conformanceSuiteOptions(), ...s3ServerAvailability() }, () => {
  let server: TestS3Server;
  let scratch: Scratch;

  before(async () => {
    server = await startS3Server();
    scratch = await makeScratch(undefined, 'recover-s3-');
  });
  after(async () => {
    await server?.stop();
    if (scratch) await import('node:fs/promises').then(({ rm }) => rm(scratch.root, { recursive: true, force: true }));
  });

  /**
   * Uploads the crashed filestore fixture under `s3://<bucket>/<prefix>/`. The objects are new, so
   * the manifest looks freshly synced; a stale heartbeat (unless told otherwise) says the writer is gone.
   */
  async function upload(prefix: string, options: { heartbeat?: boolean } = {}): Promise<{ log: string; bufferDir: string }> {
    const log = `s3://${server.bucket}/${prefix}/${filestoreLogName}`;
    await server.storage.write(log, await readFile(inspectFixture('crashed-filestore', filestoreLogName)));
    const bufferDir = filestoreDirForLog(log);
    const localBufferDir = filestoreDirForLog(inspectFixture('crashed-filestore', filestoreLogName));
    for (const [name, bytes] of await directoryFiles(localBufferDir)) await server.storage.write(server.storage.join(bufferDir, name), bytes);
    if (options.heartbeat !== false) {
      const stale = heartbeat(2, new Date(Date.now() - 3600_000));
      await server.storage.write(server.storage.join(bufferDir, heartbeatFileName), JSON.stringify(stale));
    }
    return { log, bufferDir };
  }

  it('recovers s3://…/x.eval to s3://…/x-recovered.eval, which reads back; cleanup deletes the .buffer/<name>/ objects', async () => {
    const { log, bufferDir } = await upload('logs');
    const result = await recoverEvalLog(log, { storage: server.storage, dataDir: scratch.dataDir });
    const output = `s3://${server.bucket}/logs/${filestoreLogName.replace(/\.eval$/, '-recovered.eval')}`;
    assert.equal(result.output, output);
    assert.deepEqual([result.source, result.samples, result.flushed, result.completed, result.inProgress], ['filestore', 10, 4, 2, 4]);
    assert.equal(result.cleanedUp, true);

    const recovered = await readLog(output, server.storage);
    assert.equal(recovered.header.status, 'error');
    assert.equal(recovered.samples.size, 10);
    assert.equal(recovered.summaries.length, 10);
    assert.deepEqual(await server.storage.list(bufferDir), [], 'the filestore objects are gone');
    assert.equal((await readLog(log, server.storage)).header.status, 'started', 'the crashed log is left as it was');
    // The same bytes as a local recovery would read: a local copy of the output opens too.
    const local = join(scratch.root, 'copy.eval');
    await import('node:fs/promises').then(async ({ writeFile }) => writeFile(local, await server.storage.read(output)));
    assert.equal((await readLog(local)).samples.size, 10);
  });

  it('is listed under an s3:// log dir with its URI as the name', async () => {
    const { log } = await upload('listed');
    const listed = await recoverableEvalLogs(`s3://${server.bucket}/listed`, { storage: server.storage, dataDir: scratch.dataDir });
    assert.deepEqual(
      listed.map((entry) => [entry.name, entry.path, entry.source, entry.status, entry.totalSamples, entry.flushedSamples, entry.completedSamples, entry.inProgressSamples]),
      [[log, log, 'filestore', 'crashed', 20, 4, 2, 4]],
    );
  });

  it('overwrite on S3: the original key holds the recovered log, no -recovered object is left', async () => {
    const { log } = await upload('overwrite');
    const result = await recoverEvalLog(log, { storage: server.storage, dataDir: scratch.dataDir, overwrite: true, cleanup: false });
    assert.equal(result.output, log);
    assert.equal((await readLog(log, server.storage)).header.status, 'error');
    const names = await server.storage.list(`s3://${server.bucket}/overwrite`);
    assert.deepEqual(names.filter((name) => name.endsWith('.eval')), [filestoreLogName]);
    assert.ok(names.includes('.buffer'), 'cleanup: false kept the filestore');
  });

  it('an Inspect filestore uploaded moments ago (fresh LastModified, old contents) is a copy, recovered at once', async () => {
    const { log, bufferDir } = await upload('fresh', { heartbeat: false });
    const result = await recoverEvalLog(log, { storage: server.storage, dataDir: scratch.dataDir });
    assert.deepEqual([result.source, result.samples, result.cleanedUp], ['filestore', 10, true]);
    assert.deepEqual(await server.storage.list(bufferDir), []);
  });
});
