/**
 * EvalRecorder.resume as a harness meets it: the example harness (examples/resume-demo.ts) is
 * SIGKILLed at random points and run again each time; it resumes and runs only what remains,
 * and the run ends with one success log. Then the refusals: another run's start, a finished
 * log, a run still live; and the options.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { listBufferDatabases } from '../../src/buffer/database/candidates.js';
import { ResumeMismatchError, ResumeRefusedError } from '../../src/errors.js';
import { EvalErrorSchema, EvalLogHeaderSchema, EvalSampleSchema, EvalSampleSummarySchema, type EvalSample, type LogStart } from '../../src/eval/schemas.js';
import { evalLogStart, inspectLogFileName } from '../../src/eval/log-start.js';
import { EvalRecorder } from '../../src/recorder/eval-recorder.js';
import { recoverEvalLog } from '../../src/recover/recover-eval-log.js';
import { logKey } from '../../src/sample-ref.js';
import { resumeDemoStart, runHarness, type KillPoint } from '../../examples/resume-demo.js';
import { syntheticInit, syntheticSample } from '../../examples/synthetic-eval.js';
import { pythonReadsZip } from '../support/python.js';
import { erroredSample, makeScratch, readLog, type Scratch } from '../support/recovery-inputs.js';

const logName = '2026-11-22T12-00-00-00-00_arith-resume_BenchTask0000000000200.eval';
const randomBelow = (limit: number) => Math.floor(Math.random() * limit);

/** A run of `samples` × `epochs` killed once after `afterSamples` samples: a crashed log and its buffer. */
async function crashedRun(scratch: Scratch, samples: number, epochs: number, afterSamples: number): Promise<string> {
  const log = scratch.log(logName);
  const run = await runHarness(log, scratch.dataDir, samples, epochs, { afterSamples });
  assert.ok(run.killed, run.stderr);
  return log;
}

describe('EvalRecorder.resume', () => {
  it('200 samples × 2 epochs, SIGKILLed at 20 random points and resumed after each: one success log of 400 rows, no sample completed twice unless it failed or was cut off, their attempts in error_retries', async (t) => {
    const scratch = await makeScratch(t, 'resume-');
    const log = scratch.log(logName);
    const [samples, epochs] = [200, 2];
    const outcomes = new Map<string, string[]>();
    let kills = 0;
    for (;;) {
      // Mostly after a few samples; every fourth run early, while it starts or recovers and resumes.
      const kill: KillPoint | undefined = kills >= 20 ? undefined : kills % 4 === 3 ? { afterMs: 50 + randomBelow(300) } : { afterSamples: 1 + randomBelow(12) };
      const run = await runHarness(log, scratch.dataDir, samples, epochs, kill);
      for (const line of run.lines) {
        const done = /^done (\S+) (\d+) (ok|error)$/.exec(line);
        if (!done) continue;
        const key = logKey(JSON.parse(done[1]!) as string | number, Number(done[2]));
        outcomes.set(key, [...(outcomes.get(key) ?? []), done[3]!]);
      }
      if (run.killed) {
        kills++;
        continue;
      }
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.lines.at(-1), 'finished');
      break;
    }
    assert.equal(kills, 20);
    assert.deepEqual(await listBufferDatabases(log, { dataDir: scratch.dataDir }), [], 'no buffer database left behind, not even of the runs killed while they started');

    const final = await readLog(log);
    const start = resumeDemoStart(samples, epochs);
    assert.equal(final.finished, true);
    assert.equal(final.header.status, 'success');
    EvalLogHeaderSchema.parse(final.header);
    assert.deepEqual([final.header.eval.eval_id, final.header.eval.run_id], [start.eval.eval_id, start.eval.run_id]);
    assert.equal(final.samples.size, 400, 'every sample once (readLog refuses one twice)');
    assert.equal(final.summaries.length, 400);
    assert.equal(new Set(final.entryNames).size, final.entryNames.length, 'no entry twice');
    assert.equal(pythonReadsZip(log).entries, final.entryNames.length, 'Python reads every entry, CRCs checked');
    const expected = start.eval.dataset.sample_ids!.flatMap((id) => [1, 2].map((epoch) => logKey(id, epoch)));
    assert.deepEqual(new Set(final.summaries.map((summary) => logKey(summary.id, summary.epoch))), new Set(expected));
    assert.deepEqual((final.header.results as { total_samples?: number; completed_samples?: number }).total_samples, 400);
    assert.deepEqual((final.header.results as { completed_samples?: number }).completed_samples, 400);

    const byKey = new Map([...final.samples.values()].map((sample) => [logKey(sample.id, sample.epoch), sample]));
    for (const summary of final.summaries) {
      EvalSampleSummarySchema.parse(summary);
      const key = logKey(summary.id, summary.epoch);
      const sample = byKey.get(key)!;
      EvalSampleSchema.parse(sample);
      const retries = (sample.error_retries ?? []) as { message: string }[];
      assert.equal(sample.error ?? undefined, undefined, `${key} ends without an error`);
      assert.equal(summary.retries, retries.length, `${key}: retries counts error_retries`);
      // Every 23rd sample fails once (its first attempt not cut off); any other earlier attempt was cut off by a kill.
      const index = start.eval.dataset.sample_ids!.findIndex((id) => logKey(id, summary.epoch) === key) + 1;
      assert.equal(retries.filter((error) => error.message.startsWith('RateLimitError')).length, index % 23 === 0 ? 1 : 0, `${key}: its failed attempt`);
      assert.ok(retries.every((error) => error.message.startsWith('RateLimitError') || error.message === 'CancelledError()'), `${key}: ${JSON.stringify(retries)}`);
      for (const error of retries) EvalErrorSchema.parse(error);
      const ran = outcomes.get(key) ?? [];
      assert.ok(ran.filter((outcome) => outcome === 'ok').length <= 1, `${key} completed once at most: ${ran.join(',')}`);
      assert.ok(!ran.slice(0, -1).includes('ok'), `${key} never run again after it completed: ${ran.join(',')}`);
    }
  });

  it('is refused, naming each difference, when the harness passes other sample ids, task arguments or epochs; the log is left as it was', async (t) => {
    const scratch = await makeScratch(t, 'resume-');
    const log = await crashedRun(scratch, 20, 1, 3);
    const before = await readFile(log);
    const start = resumeDemoStart(20, 1);
    const changed: LogStart = {
      ...start,
      eval: {
        ...start.eval,
        task_args: { difficulty: 'hard' },
        config: { ...start.eval.config, epochs: 2 },
        dataset: { ...start.eval.dataset, samples: 21, sample_ids: [...start.eval.dataset.sample_ids!.slice(1), 21, 22] },
      },
    };
    await assert.rejects(EvalRecorder.resume(log, changed, { dataDir: scratch.dataDir }), (error: unknown) => {
      assert.ok(error instanceof ResumeMismatchError);
      assert.equal(error.code, 'RESUME_MISMATCH');
      assert.deepEqual(error.fields, ['eval.task_args', 'eval.config.epochs', 'eval.dataset.sample_ids']);
      assert.match(error.message, /eval\.task_args: the log has \{\}, the harness passes \{"difficulty":"hard"\}/);
      assert.match(error.message, /eval\.config\.epochs: the log has 1, the harness passes 2/);
      assert.match(error.message, /eval\.dataset\.sample_ids: the harness lacks 1 \(1\) and adds 2 \(21, 22\)/);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
    await assert.rejects(EvalRecorder.resume(log, { ...start, eval: { ...start.eval, task: 'other_task' } }, { dataDir: scratch.dataDir }), /eval\.task: the log has "arith_resume", the harness passes "other_task"/);
    assert.deepEqual(await readFile(log), before, 'the crashed log is not recovered for a run it is not');
  });

  it('a log that finished successfully is refused, and left as it was', async (t) => {
    const scratch = await makeScratch(t, 'resume-');
    const log = scratch.log(logName);
    const finished = await runHarness(log, scratch.dataDir, 5, 1);
    assert.equal(finished.code, 0, finished.stderr);
    const before = await readFile(log);
    await assert.rejects(EvalRecorder.resume(log, resumeDemoStart(5, 1), { dataDir: scratch.dataDir }), (error: unknown) => {
      assert.ok(error instanceof ResumeRefusedError);
      assert.match(error.message, /finished successfully: there is nothing to resume/);
      return true;
    });
    assert.deepEqual(await readFile(log), before);
  });

  it("the temp file a publish killed mid-write leaves beside the log (.LOG.<hex>.tmp) is removed by the next resume, crashed or recovered", async (t) => {
    for (const recoveredFirst of [false, true]) {
      const scratch = await makeScratch(t, 'resume-');
      const log = await crashedRun(scratch, 20, 1, 3);
      // Recovered in place before the resume (the log then has its header), or resumed as it crashed.
      if (recoveredFirst) await recoverEvalLog(log, { overwrite: true, dataDir: scratch.dataDir });
      // What a SIGKILL during an atomic replace of the log leaves: a hidden sibling, part written.
      const torn = join(scratch.logsDir, `.${logName}.0123456789ab.tmp`);
      await writeFile(torn, (await readFile(log)).subarray(0, 1000));
      const run = await runHarness(log, scratch.dataDir, 20, 1);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(await readdir(scratch.logsDir), [logName], `nothing beside the log (${recoveredFirst ? 'recovered' : 'crashed'} before the resume)`);
    }
  });

  it('a run whose recorder is still live (its buffer held by a living process) is refused as still running', async (t) => {
    const scratch = await makeScratch(t, 'resume-');
    const log = scratch.log(logName);
    const start = resumeDemoStart(4, 1);
    const live = await EvalRecorder.start(log, start, { dataDir: scratch.dataDir, logBuffer: 1 });
    t.after(() => live.abandon());
    live.sampleStarted(syntheticInit(1));
    await live.sampleCompleted(syntheticSample(1));
    await assert.rejects(EvalRecorder.resume(log, start, { dataDir: scratch.dataDir }), (error: unknown) => {
      assert.ok(error instanceof ResumeRefusedError);
      assert.match(error.message, /cannot be resumed: .* is still running/);
      return true;
    });
  });

  it('with retryErrors false, samples that failed are final: completed, not remaining', async (t) => {
    const scratch = await makeScratch(t, 'resume-');
    const log = scratch.log(logName);
    const start = resumeDemoStart(3, 1);
    const first = await EvalRecorder.start(log, start, { dataDir: scratch.dataDir, logBuffer: 1 });
    const [one, two] = start.eval.dataset.sample_ids!;
    first.sampleStarted(syntheticInit(1));
    await first.sampleCompleted(syntheticSample(1));
    first.sampleStarted(syntheticInit(2));
    await first.sampleCompleted(erroredSample(syntheticSample(2)));
    await first.abandon();

    const retrying = await EvalRecorder.resume(log, start, { dataDir: scratch.dataDir });
    assert.deepEqual(retrying.remaining(), [{ id: two, epoch: 1 }, { id: start.eval.dataset.sample_ids![2], epoch: 1 }]);
    assert.equal(retrying.completed(one!, 1), true);
    assert.equal(retrying.failedAttempts(two!, 1).length, 1);
    await retrying.abandon();

    const keeping = await EvalRecorder.resume(log, start, { dataDir: scratch.dataDir, retryErrors: false });
    assert.deepEqual(keeping.remaining(), [{ id: start.eval.dataset.sample_ids![2], epoch: 1 }]);
    assert.equal(keeping.completed(two!, 1), true);
    keeping.sampleStarted(syntheticInit(3));
    await keeping.sampleCompleted(syntheticSample(3));
    await keeping.finish();
    const final = await readLog(log);
    assert.equal(final.header.status, 'success');
    assert.equal(final.samples.size, 3);
    assert.equal((final.samples.get(`${two}:1`) as EvalSample).error?.message, 'RateLimitError: rate limit exceeded');
  });

  it('a sample completed again in the same run replaces its row: one entry, the failed attempt in error_retries', async (t) => {
    const scratch = await makeScratch(t, 'resume-');
    const log = scratch.log(logName);
    const start = resumeDemoStart(2, 1);
    const recorder = await EvalRecorder.start(log, start, { dataDir: scratch.dataDir, logBuffer: 1 });
    recorder.sampleStarted(syntheticInit(1));
    await recorder.sampleCompleted(erroredSample(syntheticSample(1)));
    assert.deepEqual(recorder.remaining().map(({ id }) => id), [1, 's-00002']);
    recorder.sampleStarted(syntheticInit(1));
    await recorder.sampleCompleted(syntheticSample(1));
    recorder.sampleStarted(syntheticInit(2));
    await recorder.sampleCompleted(syntheticSample(2));
    assert.deepEqual(recorder.remaining(), []);
    await recorder.finish();
    const final = await readLog(log);
    assert.equal(final.entryNames.filter((name) => name === 'samples/1_epoch_1.json').length, 1);
    assert.deepEqual(final.samples.get('1:1')!.error_retries?.map((error) => (error as { message: string }).message), ['RateLimitError: rate limit exceeded']);
    assert.equal(final.summaries.find((summary) => summary.id === 1)!.retries, 1);
    assert.equal(final.summaries.length, 2);
    assert.equal(pythonReadsZip(log).entries, final.entryNames.length);
  });

  it('startOrResume: a harness run again resumes its newest unfinished log in the dir; another dataset, or a run that finished, starts a new log named as Inspect names logs', async (t) => {
    const scratch = await makeScratch(t, 'resume-');
    const build = (sampleIds: (number | string)[]) => evalLogStart({ task: 'arith', model: 'mockllm/model', sampleIds, scorers: [{ name: 'match', metrics: ['accuracy'] }] });
    const ids = [1, 's-00002', 3];
    const first = await EvalRecorder.startOrResume(scratch.logsDir, build(ids), { dataDir: scratch.dataDir, logBuffer: 1 });
    const log = join(scratch.logsDir, inspectLogFileName(first.logStart));
    assert.deepEqual(await readdir(scratch.logsDir), [basename(log)]);
    first.sampleStarted(syntheticInit(1));
    await first.sampleCompleted(syntheticSample(1));
    await first.abandon();

    // Run again: a fresh start (new ids, new time) of the same run resumes the log.
    const again = await EvalRecorder.startOrResume(scratch.logsDir, build(ids), { dataDir: scratch.dataDir });
    assert.equal(again.logStart.eval.eval_id, first.logStart.eval.eval_id);
    assert.deepEqual(again.remaining(), [{ id: 's-00002', epoch: 1 }, { id: 3, epoch: 1 }]);
    const other = await EvalRecorder.startOrResume(scratch.logsDir, build([1, 's-00002']), { dataDir: scratch.dataDir });
    assert.notEqual(other.logStart.eval.eval_id, first.logStart.eval.eval_id, 'another dataset is another run');
    await other.abandon();
    for (const index of [2, 3]) {
      again.sampleStarted(syntheticInit(index));
      await again.sampleCompleted(syntheticSample(index));
    }
    await again.finish();
    assert.equal((await readLog(log)).header.status, 'success');

    // Run again after it finished: the finished log, with nothing left; fresh: true starts anew.
    const before = await readFile(log);
    const afterSuccess = await EvalRecorder.startOrResume(scratch.logsDir, build(ids), { dataDir: scratch.dataDir });
    assert.equal(afterSuccess.finishedEarlier, true);
    assert.equal(afterSuccess.logLocation, log);
    assert.equal(afterSuccess.logStart.eval.eval_id, first.logStart.eval.eval_id, 'the finished run itself');
    assert.deepEqual(afterSuccess.remaining(), []);
    assert.equal(afterSuccess.completed(3, 1), true);
    assert.throws(() => afterSuccess.sampleStarted(syntheticInit(1)), (error: unknown) => error instanceof ResumeRefusedError && /finished successfully: nothing is left to record/.test(error.message));
    await afterSuccess.finish();
    assert.deepEqual(await readFile(log), before, 'finishing it again changes nothing');
    const fresh = await EvalRecorder.startOrResume(scratch.logsDir, build(ids), { dataDir: scratch.dataDir, fresh: true });
    assert.notEqual(fresh.logStart.eval.eval_id, first.logStart.eval.eval_id, 'fresh: a new run');
    assert.equal(fresh.remaining().length, 3);
    await fresh.abandon();
  });

  it('startOrResume converges: a run started afresh after a successful one, SIGKILLed, is resumed by the next run (not refused for the successful log beside it)', async (t) => {
    const scratch = await makeScratch(t, 'resume-');
    const [samples, epochs] = [12, 1];
    const done = await runHarness(scratch.logsDir, scratch.dataDir, samples, epochs, undefined, { shared: true });
    assert.equal(done.code, 0, done.stderr);
    const [successful] = await readdir(scratch.logsDir).then((names) => names.filter((name) => name.endsWith('.eval')));
    const successfulBytes = await readFile(join(scratch.logsDir, successful!));
    // Log names are to the second: the fresh run must not share the first one's.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const killed = await runHarness(scratch.logsDir, scratch.dataDir, samples, epochs, { afterSamples: 3 }, { shared: true, fresh: true });
    assert.ok(killed.killed, killed.stderr);
    const logs = (await readdir(scratch.logsDir)).filter((name) => name.endsWith('.eval')).sort();
    assert.equal(logs.length, 2, 'the fresh run has its own log');
    const again = await runHarness(scratch.logsDir, scratch.dataDir, samples, epochs, undefined, { shared: true });
    assert.equal(again.code, 0, again.stderr);
    assert.ok(again.lines.filter((line) => line.startsWith('done ')).length < samples, 'it resumed: only what remained ran');
    const resumed = await readLog(join(scratch.logsDir, logs[1]!));
    assert.equal(resumed.header.status, 'success');
    assert.equal(resumed.samples.size, samples * epochs);
    assert.deepEqual(await readFile(join(scratch.logsDir, successful!)), successfulBytes, 'the earlier successful log is left as it was');
    // And once more: the newest log of the run finished, so there is nothing left to do.
    const last = await runHarness(scratch.logsDir, scratch.dataDir, samples, epochs, undefined, { shared: true });
    assert.equal(last.code, 0, last.stderr);
    assert.deepEqual(last.lines, ['finished']);
  });
});

