/**
 * eval_set's retries: a log dir as eval_set leaves it (three attempts of one task, the last two
 * crashed), copied with `cp -r`. Only the newest attempt is offered and swept; the older crashed
 * one is superseded (by the time each run recorded, not by mtime), recovered only on request, and
 * its buffer goes with `--clean`. A log seeded with the earlier attempt's samples keeps this
 * attempt's re-runs from its buffer, finished or cut off, from the database and the filestore.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { heartbeat, heartbeatFileName } from '../../src/buffer/filestore/heartbeat.js';
import { filestoreDirForLog } from '../../src/buffer/filestore/layout.js';
import { FilestoreSyncHook } from '../../src/buffer/filestore/sync-hook.js';
import { SampleBufferDatabase } from '../../src/buffer/database/writer.js';
import type { EvalSample, LogStart } from '../../src/eval/schemas.js';
import { recoverEvalLog } from '../../src/recover/recover-eval-log.js';
import { arithHeader, arithId, arithSample, arithStart } from '../support/arith-log.js';
import { pythonLoadsEveryEntry } from '../support/python.js';
import { runCliIn } from '../support/recover-cli.js';
import { bufferSample, erroredSample, errorMessage, freshDeadPid, key, makeScratch, openBufferDatabase, readLog, writeCrashedLog, writeFinishedLog } from '../support/recovery-inputs.js';

/** Attempt `n` of one task: its own run, created `n` hours after the first; the same task_id. */
function attempt(n: number, samples = 4): LogStart {
  const start = arithStart({ samples, epochs: 1, task: 'hold_retry', created: `2026-12-04T0${n}:00:00+00:00`, evalId: `EvalAttempt${n}`.padEnd(22, '0') });
  return { ...start, eval: { ...start.eval, run_id: `RunAttempt${n}`.padEnd(22, '0') } };
}

const logName = (n: number) => `2026-12-04T0${n}-00-00-00-00_hold-retry_Attempt${n}Xxxxxxxxxxxxxx.eval`;

describe("a log dir as eval_set leaves it: three attempts of one task, the last two crashed, copied with cp -r", () => {
  let root: string;
  before(async () => {
    ({ root } = await makeScratch(undefined, 'eval-set-'));
    await layOut(join(root, 'pod'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  /** Attempt 1 finished with an error; attempts 2 and 3 crashed, each with a buffer database. */
  async function layOut(dir: string): Promise<void> {
    const [logs, data] = [join(dir, 'logs'), join(dir, 'data')];
    execFileSync('mkdir', ['-p', logs, data]);
    await writeFinishedLog(join(logs, logName(1)), attempt(1), [arithSample(1, 1)], arithHeader(attempt(1), 'error', 1));
    for (const n of [2, 3]) {
      const log = join(logs, logName(n));
      await writeCrashedLog(log, attempt(n), [[arithSample(1, 1), arithSample(2, 1)]]);
      const db = openBufferDatabase(log, data);
      bufferSample(db, arithSample(3, 1), 'completed');
      bufferSample(db, arithSample(4, 1), 'in-progress');
      await db.close({ cleanup: false });
    }
  }

  /** The oldest crashed attempt touched last: a choice by mtime would take it for the newest. */
  async function touchOlderAttempt(here: string): Promise<string> {
    const later = new Date(Date.now() + 60_000);
    await utimes(join(here, 'logs', logName(2)), later, later);
    return here;
  }

  /** The pod's dirs copied with `cp -r` (every file a fresh mtime; its buffers then found relocated). */
  async function copiedHere(name: string): Promise<string> {
    const here = join(root, name);
    execFileSync('mkdir', ['-p', here]);
    execFileSync('cp', ['-r', join(root, 'pod', 'logs'), join(here, 'logs')]);
    execFileSync('cp', ['-r', join(root, 'pod', 'data'), join(here, 'data')]);
    return touchOlderAttempt(here);
  }

  /** The eval_set run's own machine: the log dir where it ran, its buffers where Inspect put them. */
  async function inPlace(name: string): Promise<string> {
    const here = join(root, name);
    await layOut(here);
    return touchOlderAttempt(here);
  }

  it('--list: the newest attempt is crashed, the older one superseded by it (not by mtime)', async () => {
    const here = await copiedHere('list');
    const run = await runCliIn(here, ['--list', 'logs', '--data-dir', 'data', '--json']);
    assert.equal(run.status, 0, run.stderr);
    const listed = JSON.parse(run.stdout) as Record<string, unknown>[];
    const byName = new Map(listed.map((entry) => [String(entry.path).slice(String(entry.path).lastIndexOf('/') + 1), entry]));
    assert.deepEqual([...byName.keys()].sort(), [logName(2), logName(3)]);
    assert.deepEqual([byName.get(logName(3))!.status, byName.get(logName(3))!.superseded_by], ['crashed', undefined]);
    assert.equal(byName.get(logName(2))!.status, 'superseded');
    assert.equal(byName.get(logName(2))!.superseded_by, join('logs', logName(3)));
    assert.equal(byName.get(logName(2))!.task, 'hold-retry');

    const text = await runCliIn(here, ['--list', 'logs', '--data-dir', 'data']);
    assert.match(text.stdout, new RegExp(`status: superseded by logs/${logName(3)} \\(a newer attempt of its task, as eval_set retries it\\): not offered for recovery`));
  });

  it('--all recovers the newest attempt only and skips the older with the reason; --clean then removes its buffer, saying why', async () => {
    const here = await inPlace('sweep');
    const run = await runCliIn(here, ['--all', 'logs', '--data-dir', 'data', '--json']);
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const byLog = new Map(lines.filter((line) => line.log).map((line) => [String(line.log).slice(String(line.log).lastIndexOf('/') + 1), line]));
    assert.equal(byLog.get(logName(3))!.status, 'recovered');
    assert.equal(byLog.get(logName(2))!.status, 'skipped');
    assert.match(String(byLog.get(logName(2))!.reason), /^superseded by logs\/.*Attempt3.* \(a newer attempt of its task, as eval_set retries it\); --include-superseded recovers it$/);
    const names = (await readdir(join(here, 'logs'))).filter((name) => name.endsWith('.eval')).sort();
    assert.deepEqual(names, [logName(1), logName(2), logName(3), logName(3).replace('.eval', '-recovered.eval')].sort());

    const clean = await runCliIn(here, ['--clean', 'logs', '--data-dir', 'data', '--json']);
    assert.equal(clean.status, 0, clean.stderr);
    const buffers = clean.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.buffer);
    const attempt2 = buffers.find((buffer) => String(buffer.log).endsWith(logName(2)));
    assert.equal(attempt2?.status, 'removed');
    assert.match(String(attempt2?.reason), /^its log is superseded by .*Attempt3/);
  });

  it('--all --include-superseded recovers the older attempt too', async () => {
    const here = await copiedHere('include');
    const run = await runCliIn(here, ['--all', 'logs', '--include-superseded', '--data-dir', 'data', '--json']);
    assert.equal(run.status, 0, run.stderr);
    const recovered = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.status === 'recovered');
    assert.deepEqual(recovered.map((line) => String(line.log).slice(String(line.log).lastIndexOf('/') + 1)).sort(), [logName(2), logName(3)]);
  });

  it('--include-superseded with one log is a usage line (one named log is always recovered)', async () => {
    const here = await copiedHere('usage');
    const run = await runCliIn(here, [join('logs', logName(2)), '--include-superseded', '--data-dir', 'data']);
    assert.equal(run.status, 2);
    assert.match(run.stderr, /^inspect-recover: --output-dir, --jobs and --include-superseded are for --all/);
  });
});

describe('a log seeded with the samples of the attempt before: this attempt re-ran two that had failed, then crashed before flushing them', () => {
  /**
   * Attempt 2's log, as eval_set (PR #5343) seeds it: samples 1 and 2 succeeded and 3 and 4
   * failed in attempt 1; sample 5 is this attempt's own. Its buffer: 3 re-run and finished, 4 re-run and cut off.
   */
  async function seededCrash(t: TestContext, buffer: 'database' | 'filestore'): Promise<{ log: string; dataDir: string }> {
    const scratch = await makeScratch(t, 'seeded-');
    const log = scratch.log(logName(2));
    const seeded = [arithSample(1, 1), arithSample(2, 1), erroredSample(arithSample(3, 1)), erroredSample(arithSample(4, 1))];
    await writeCrashedLog(log, attempt(2, 5), [seeded, [arithSample(5, 1)]]);
    const sync = buffer === 'filestore' ? new FilestoreSyncHook({ intervalSeconds: 3600 }) : undefined;
    const db = sync ? SampleBufferDatabase.create(log, { dataDir: scratch.dataDir, pid: freshDeadPid(), sync }) : openBufferDatabase(log, scratch.dataDir);
    // Run again an hour after attempt 1's failure.
    const rerun = (sample: EvalSample): EvalSample => ({ ...sample, completed_at: '2026-12-04T03:00:00+00:00' });
    bufferSample(db, rerun(arithSample(3, 1)), 'completed', { summary: { completed_at: '2026-12-04T03:00:00+00:00' } });
    bufferSample(db, arithSample(4, 1), 'in-progress');
    await db.close({ cleanup: false });
    assert.equal(sync?.lastError, undefined);
    // Its writer is dead, as a crashed run's is (the sync wrote this test's own live pid).
    if (sync) await writeFile(join(filestoreDirForLog(log), heartbeatFileName), JSON.stringify({ ...heartbeat(3600), pid: freshDeadPid() }));
    if (buffer === 'filestore') await rm(scratch.dataDir, { recursive: true, force: true });
    return { log, dataDir: scratch.dataDir };
  }

  for (const buffer of ['database', 'filestore'] as const) {
    it(`from the ${buffer}: the re-runs win over the seeded failures, which stay as their earlier attempts`, async (t) => {
      const { log, dataDir } = await seededCrash(t, buffer);
      const result = await recoverEvalLog(log, { dataDir });
      assert.equal(result.source, buffer);
      // The two seeded failures are left out as older attempts: counted with the duplicates, as any copy left out is.
      assert.deepEqual([result.samples, result.flushed, result.completed, result.inProgress, result.duplicates], [5, 3, 1, 1, 2]);
      const recovered = await readLog(result.output);
      const sample = (index: number) => recovered.samples.get(key(arithId(index), 1))!;
      assert.equal(sample(3).error ?? null, null, 'the finished re-run, not the seeded failure');
      assert.deepEqual(sample(3).error_retries?.map((error) => (error as { message: string }).message), [errorMessage]);
      assert.equal(sample(4).error?.message, 'CancelledError()', 'the cut-off re-run, to be run again');
      assert.deepEqual(sample(4).error_retries?.map((error) => (error as { message: string }).message), [errorMessage]);
      assert.equal(sample(1).error ?? null, null);
      assert.equal(pythonLoadsEveryEntry(result.output), recovered.entryNames.length);
    });
  }
});
