/**
 * Stalled samples (Inspect's incomplete_action / incomplete_max): a run killed because a few
 * samples hung, recorded by the real recorder and copied with `cp -r`, is finalized with
 * `--incomplete-action error` (the hung samples ended as operator terminations, status success,
 * nothing left for eval-retry) and left to be retried when `--incomplete-max` is too small.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { EvalLogReader } from '../../src/eval/eval-log-reader.js';
import type { EvalSample, LogStart } from '../../src/eval/schemas.js';
import { ResumeRefusedError } from '../../src/errors.js';
import { EvalRecorder } from '../../src/recorder/eval-recorder.js';
import { recoverEvalLog } from '../../src/recover/recover-eval-log.js';
import { arithSample, arithStart } from '../support/arith-log.js';
import { pythonLoadsEveryEntry } from '../support/python.js';
import { recordHungRun } from '../support/recorded-crash.js';
import { runCliIn } from '../support/recover-cli.js';
import { bufferSample, makeScratch, openBufferDatabase, writeCrashedLog } from '../support/recovery-inputs.js';

const samples = 12;
const hung = 3;
const terminated = 'terminated by operator during recovery';

interface Recovered {
  status: string;
  error: unknown;
  results: unknown;
  completedAt: string;
  samples: EvalSample[];
  entries: number;
}

async function readRecovered(path: string): Promise<Recovered> {
  const reader = await EvalLogReader.open(path);
  try {
    const header = await reader.header();
    const all: EvalSample[] = [];
    for await (const sample of reader.samples()) all.push(sample);
    return { status: header.status!, error: header.error, results: header.results, completedAt: header.stats?.completed_at ?? '', samples: all, entries: reader.zip.entries.length };
  } finally {
    await reader.close();
  }
}

describe('--incomplete-action error: a run that ended with hung samples', () => {
  let pod: { logs: string; data: string };
  let root: string;
  let logName: string;
  before(async () => {
    ({ root } = await makeScratch(undefined, 'hung-'));
    pod = { logs: join(root, 'pod', 'logs'), data: join(root, 'pod', 'data') };
    logName = '2026-12-04T10-00-00-00-00_hang-prone_Hx7pQ2mZ9vKc4LbN6rTy8W.eval';
    await recordHungRun(join(pod.logs, logName), pod.data, { samples, hung, logBuffer: 4 });
  });
  after(() => rm(root, { recursive: true, force: true }));

  /** The pod's log dir and data dir copied as `kubectl cp` does: every file with a fresh mtime. */
  async function copiedHere(name: string): Promise<string> {
    const here = join(root, name);
    execFileSync('mkdir', ['-p', here]);
    execFileSync('cp', ['-r', pod.logs, join(here, 'logs')]);
    execFileSync('cp', ['-r', pod.data, join(here, 'data')]);
    return here;
  }

  it('finalizes it: the hung samples end as operator terminations, status success, results over all 12, and eval-retry has nothing to run', async () => {
    const here = await copiedHere('finalize');
    const run = await runCliIn(here, [`logs/${logName}`, '--incomplete-action', 'error', '--data-dir', 'data', '--json']);
    assert.equal(run.status, 0, run.stderr);
    const result = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.equal(result.finalized, true);
    assert.equal(result.not_finalized_reason, undefined);
    assert.deepEqual([result.samples, result.in_progress, result.errors, result.missing], [samples, hung, hung, 0]);
    assert.doesNotMatch(run.stderr, /not finalized/);

    const output = join(here, 'logs', logName.replace('.eval', '-recovered.eval'));
    const recovered = await readRecovered(output);
    assert.equal(recovered.status, 'success');
    assert.equal(recovered.error, undefined);
    assert.ok(recovered.results, 'results over all samples');
    assert.match(recovered.completedAt, /^\d{4}-\d\d-\d\dT/);
    const ended = recovered.samples.filter((sample) => sample.error);
    assert.equal(recovered.samples.length, samples);
    assert.deepEqual(ended.map((sample) => sample.error!.message), Array(hung).fill(terminated));
    assert.equal(pythonLoadsEveryEntry(output), recovered.entries, "Python's zipfile and json read every entry");

    // eval-retry and eval_set stop here: the resume API has nothing left to run.
    const start = await startOf(output);
    await assert.rejects(EvalRecorder.resume(output, start, { dataDir: join(here, 'data') }), (error: unknown) => {
      assert.ok(error instanceof ResumeRefusedError);
      assert.match(error.message, /finished successfully: there is nothing to resume/);
      return true;
    });
  });

  it('--incomplete-max below the hung count (3 > 2): recovered as with retry, not finalized, one line says why; resume runs the 3 again', async () => {
    const here = await copiedHere('too-many');
    const run = await runCliIn(here, [`logs/${logName}`, '--incomplete-action', 'error', '--incomplete-max', '2', '--data-dir', 'data', '--json']);
    assert.equal(run.status, 0, run.stderr);
    const result = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.equal(result.finalized, false);
    assert.match(String(result.not_finalized_reason), /^3 samples were still running, more than --incomplete-max 2: they are left to be run again$/);
    assert.deepEqual(run.stderr.split('\n').filter((line) => line.startsWith('not finalized: ')), [`not finalized: ${String(result.not_finalized_reason)}`]);

    const output = join(here, 'logs', logName.replace('.eval', '-recovered.eval'));
    const recovered = await readRecovered(output);
    assert.equal(recovered.status, 'error');
    const ended = recovered.samples.filter((sample) => sample.error);
    assert.deepEqual(ended.map((sample) => sample.error!.message), Array(hung).fill('CancelledError()'));

    const resumed = await EvalRecorder.resume(output, await startOf(output), { dataDir: join(here, 'data') });
    try {
      assert.deepEqual(resumed.remaining().map((ref) => String(ref.id)).sort(), ended.map((sample) => String(sample.id)).sort());
    } finally {
      await resumed.abandon();
    }
  });

  it('a proportion: --incomplete-max 0.25 of 12 expected allows the 3; the text output says it is finalized', async () => {
    const here = await copiedHere('proportion');
    const run = await runCliIn(here, [`logs/${logName}`, '--incomplete-action', 'error', '--incomplete-max', '0.25', '--data-dir', 'data']);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^Recovered 12 samples to .*\nFinalized: every expected sample is in it, so it is written status success \(3 with errors\); eval-retry has nothing left to run\n$/);
    assert.doesNotMatch(run.stdout, /eval-retry logs/);
  });

  it('--all takes the same options: a sweeper finalizes the hung run', async () => {
    const here = await copiedHere('sweep');
    const run = await runCliIn(here, ['--all', 'logs', '--incomplete-action', 'error', '--data-dir', 'data', '--json']);
    assert.equal(run.status, 0, run.stderr);
    const [outcome, summary] = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual([outcome!.status, outcome!.finalized, outcome!.samples], ['recovered', true, samples]);
    assert.equal((summary!.summary as Record<string, unknown>).recovered, 1);
    assert.deepEqual((await readdir(join(here, 'logs'))).filter((name) => name.endsWith('.eval')).sort(), [logName, logName.replace('.eval', '-recovered.eval')].sort());
  });

  it('bad values are one usage line, exit 2', async () => {
    const here = await copiedHere('usage');
    for (const args of [
      ['--incomplete-action', 'finish'],
      ['--incomplete-action', 'error', '--incomplete-max', '1.5'],
      ['--incomplete-action', 'error', '--incomplete-max', '0'],
      ['--incomplete-max', '3'],
    ]) {
      const run = await runCliIn(here, [`logs/${logName}`, ...args, '--data-dir', 'data']);
      assert.equal(run.status, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
      assert.match(run.stderr, /incomplete/);
    }
  });
});

describe('--incomplete-action error: what keeps a log from being finalized', () => {
  it('samples that never started: not finalized, the missing ones named; still status error', async (t) => {
    const scratch = await makeScratch(t);
    const start = arithStart({ samples: 5, epochs: 1 });
    const log = scratch.log('run.eval');
    await writeCrashedLog(log, start, [[arithSample(1, 1), arithSample(2, 1), arithSample(3, 1)]]);
    const db = openBufferDatabase(log, scratch.dataDir);
    bufferSample(db, arithSample(4, 1), 'in-progress');
    await db.close({ cleanup: false });
    const result = await recoverEvalLog(log, { dataDir: scratch.dataDir, incompleteAction: 'error' });
    assert.equal(result.finalized, false);
    assert.match(result.notFinalizedReason!, /^1 samples missing \(id=5 epoch=1\)$/);
    assert.equal((await readRecovered(result.output)).status, 'error');
  });

  it('a start without sample ids: not finalized, and why', async (t) => {
    const arith = arithStart({ samples: 2, epochs: 1 });
    const { log, dataDir } = await crashWithOneRunning(t, { ...arith, eval: { ...arith.eval, dataset: { ...arith.eval.dataset, sample_ids: null } } });
    const result = await recoverEvalLog(log, { dataDir, incompleteAction: 'error' });
    assert.equal(result.finalized, false);
    assert.match(result.notFinalizedReason!, /records no sample ids/);
  });

  it('a crafted start expecting 10^12 epochs: recovered, not finalized, one reason, no crash', async (t) => {
    const arith = arithStart({ samples: 2, epochs: 1 });
    const { log, dataDir } = await crashWithOneRunning(t, { ...arith, eval: { ...arith.eval, config: { ...arith.eval.config, epochs: 1e12 } } });
    const result = await recoverEvalLog(log, { dataDir, incompleteAction: 'error' });
    assert.deepEqual([result.samples, result.finalized], [2, false]);
    assert.match(result.notFinalizedReason!, /^its start expects 2 sample ids × 1000000000000 epochs, more than the 20000000 samples that can be checked off$/);
  });

  it('with the default (retry), nothing changes: cancelled, status error, finalized false and no reason', async (t) => {
    const { log, dataDir } = await crashWithOneRunning(t, arithStart({ samples: 2, epochs: 1 }));
    const result = await recoverEvalLog(log, { dataDir });
    assert.deepEqual([result.finalized, result.notFinalizedReason], [false, undefined]);
    const recovered = await readRecovered(result.output);
    assert.equal(recovered.status, 'error');
    assert.deepEqual(recovered.samples.filter((sample) => sample.error).map((sample) => sample.error!.message), ['CancelledError()']);
  });
});

/** A crashed run of 2 samples: sample 1 flushed, sample 2 still running in the buffer database. */
async function crashWithOneRunning(t: TestContext, start: LogStart): Promise<{ log: string; dataDir: string }> {
  const scratch = await makeScratch(t);
  const log = scratch.log('run.eval');
  await writeCrashedLog(log, start, [[arithSample(1, 1)]]);
  const db = openBufferDatabase(log, scratch.dataDir);
  bufferSample(db, arithSample(2, 1), 'in-progress');
  await db.close({ cleanup: false });
  return { log, dataDir: scratch.dataDir };
}

async function startOf(path: string): Promise<LogStart> {
  const reader = await EvalLogReader.open(path);
  try {
    return await reader.start();
  } finally {
    await reader.close();
  }
}
