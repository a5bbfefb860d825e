/**
 * EvalRecorder.resume of a run logged to S3 (moto on loopback), as a harness on a pod meets it:
 * the log on S3, the buffer database on the pod's disk. The crashed log is recovered in place on
 * S3 (lease and all), and the run ends in one success log there.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EvalLogReader } from '../../src/eval/eval-log-reader.js';
import { EvalRecorder } from '../../src/recorder/eval-recorder.js';
import { logKey } from '../../src/sample-ref.js';
import { resumeDemoStart } from '../../examples/resume-demo.js';
import { syntheticInit, syntheticSample } from '../../examples/synthetic-eval.js';
import { s3ServerAvailability, startS3Server, type TestS3Server } from '../support/s3-server.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';

describe('EvalRecorder.resume on S3', s3ServerAvailability(), () => {
  let server: TestS3Server;
  let dataDir: string;

  before(async () => {
    server = await startS3Server();
    dataDir = makeTempDir('resume-s3-');
    // What a pod's environment gives the recorder, which finds its S3 client as the CLI does.
    Object.assign(process.env, { AWS_ENDPOINT_URL: server.endpoint, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' });
  });
  after(async () => {
    await server?.stop();
    if (dataDir) removeTempDir(dataDir);
  });

  it('a crashed run logged to S3 resumes from its buffer database and ends in one success log on S3, leaving no lease', async () => {
    const log = `s3://${server.bucket}/resume/2026-11-22T12-00-00-00-00_arith-resume_BenchTask0000000000006.eval`;
    const start = resumeDemoStart(6, 1);
    const ids = start.eval.dataset.sample_ids!;
    const first = await EvalRecorder.start(log, start, { dataDir, logBuffer: 2 });
    for (const index of [1, 2, 3]) {
      first.sampleStarted(syntheticInit(index));
      await first.sampleCompleted(syntheticSample(index));
    }
    first.sampleStarted(syntheticInit(4));
    await first.abandon(); // as a crash leaves it: 2 flushed, 1 completed in the buffer only, 1 running

    const resumed = await EvalRecorder.resume(log, start, { dataDir });
    assert.deepEqual(resumed.remaining(), [4, 5, 6].map((index) => ({ id: ids[index - 1], epoch: 1 })));
    assert.equal(resumed.failedAttempts(ids[3]!, 1)[0]?.message, 'CancelledError()');
    for (const { id } of resumed.remaining()) {
      const index = ids.indexOf(id) + 1;
      resumed.sampleStarted(syntheticInit(index));
      await resumed.sampleCompleted({ ...syntheticSample(index), completed_at: new Date().toISOString().replace('Z', '+00:00') });
    }
    await resumed.finish();

    const reader = await EvalLogReader.open(server.storage.byteSource(log));
    try {
      assert.equal((await reader.header()).status, 'success');
      const summaries = await reader.summaries();
      assert.deepEqual(summaries.map((summary) => logKey(summary.id, summary.epoch)).sort(), ids.map((id) => logKey(id, 1)).sort());
      const fourth = await reader.readSample(reader.zip.entry(`samples/${ids[3]}_epoch_1.json`)!);
      assert.deepEqual(fourth.error_retries?.map((error) => (error as { message: string }).message), ['CancelledError()']);
    } finally {
      await reader.close();
    }
    const left = (await server.storage.walk(`s3://${server.bucket}/resume`)).map((file) => file.relative);
    assert.deepEqual(left, ['2026-11-22T12-00-00-00-00_arith-resume_BenchTask0000000000006.eval'], 'no lease, no staging copy left');
  });
});
