/**
 * Nothing left behind, whatever is killed: a sweeper (`--all --overwrite`) SIGKILLed at random
 * points over a log dir of crashed runs, then run again, then `--clean`, must end with every log
 * recovered once (its samples each once) and no staging copy, temp file or buffer left; and a
 * recovery killed just after it replaced its log is finished by its own re-run.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { listBufferDatabases } from '../../src/buffer/database/candidates.js';
import { arithSample, arithStart } from '../support/arith-log.js';
import { runCliIn } from '../support/recover-cli.js';
import { repoRoot } from '../support/shared-fixtures.js';
import { bufferSample, makeScratch, openBufferDatabase, readLog, writeCrashedLog, type Scratch } from '../support/recovery-inputs.js';

const logCount = 5;
const logName = (index: number) => `2026-11-22T12-00-0${index}-00-00_arith${index}_task${index}.eval`;

/** Crashed runs as a pod leaves them: 3 samples flushed, 3 finished and 1 running in the buffer database. */
async function crashedRuns(scratch: Scratch): Promise<void> {
  for (let index = 0; index < logCount; index++) {
    const log = scratch.log(logName(index));
    await writeCrashedLog(log, arithStart({ samples: 8, epochs: 1, task: `arith${index}`, evalId: `EvalIdForTests-arith${index}` }), [[1, 2, 3].map((id) => arithSample(id, 1))]);
    const db = openBufferDatabase(log, scratch.dataDir);
    for (const id of [4, 5, 6]) bufferSample(db, arithSample(id, 1), 'completed');
    bufferSample(db, arithSample(7, 1), 'in-progress');
    await db.close({ cleanup: false });
  }
}

/** The CLI, SIGKILLed after `ms`. */
function killedAfter(cwd: string, args: string[], ms: number): Promise<void> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin/inspect-recover.js'), ...args], { cwd, stdio: 'ignore' });
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  return new Promise((resolve) =>
    child.once('close', () => {
      clearTimeout(timer);
      resolve();
    }),
  );
}

async function assertConverged(scratch: Scratch, round: string): Promise<void> {
  const names = (await readdir(scratch.logsDir)).sort();
  assert.deepEqual(names, Array.from({ length: logCount }, (_, index) => logName(index)).sort(), `${round}: only the logs are left in the log dir`);
  for (const name of names) {
    const log = await readLog(scratch.log(name));
    assert.equal(log.header.status, 'error', `${round}: ${name} recovered`);
    const ids = (samples: { id: unknown }[]) => samples.map((sample) => String(sample.id)).sort();
    assert.deepEqual(ids([...log.samples.values()]), ids([1, 2, 3, 4, 5, 6, 7].map((id) => arithSample(id, 1))), `${round}: ${name} holds each sample once`);
    assert.deepEqual(await listBufferDatabases(scratch.log(name), { dataDir: scratch.dataDir }), [], `${round}: ${name}'s buffer is gone`);
  }
}

describe('nothing left behind, whatever is killed', () => {
  it('--all --overwrite SIGKILLed at 12 random points, run again, then --clean: every log recovered once, nothing beside it', async (t) => {
    const scratch = await makeScratch(t, 'killed-sweeps-');
    const sweep = ['--all', 'logs', '--overwrite', '--data-dir', scratch.dataDir, '--jobs', '2'];
    for (let round = 0; round < 12; round++) {
      await rm(scratch.logsDir, { recursive: true, force: true });
      await rm(scratch.dataDir, { recursive: true, force: true });
      await crashedRuns(scratch);
      await killedAfter(scratch.root, sweep, 150 + Math.floor(Math.random() * 900));
      const again = await runCliIn(scratch.root, sweep);
      assert.ok(again.status === 0, `round ${round}: the re-run: ${again.stderr}`);
      const cleaned = await runCliIn(scratch.root, ['--clean', 'logs', '--data-dir', scratch.dataDir]);
      assert.equal(cleaned.status, 0, cleaned.stderr);
      await assertConverged(scratch, `round ${round}`);
    }
  });

  it("a lease write killed before it wrote a byte (an empty temp file naming a dead pid) is removed by the next recovery at once", async (t) => {
    const scratch = await makeScratch(t, 'killed-sweeps-');
    await crashedRuns(scratch);
    const log = scratch.log(logName(0));
    // As a SIGKILL right after the temp file was made: empty, its name carrying the writer's pid.
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((resolve) => dead.once('exit', resolve));
    const torn = join(scratch.logsDir, `..${logName(0)}.recovery-lease.${dead.pid}-0123456789ab.tmp`);
    await writeFile(torn, '');
    const recovered = await runCliIn(scratch.root, [log, '--data-dir', scratch.dataDir]);
    assert.equal(recovered.status, 0, recovered.stderr);
    assert.equal(existsSync(torn), false);
  });

  it('a recovery that replaced its log but was killed before removing its buffer: the re-run removes the buffer and says so', async (t) => {
    const scratch = await makeScratch(t, 'killed-sweeps-');
    await crashedRuns(scratch);
    const log = scratch.log(logName(0));
    // What the kill leaves: the log replaced by its recovered copy, the buffer still there.
    const first = await runCliIn(scratch.root, [log, '--overwrite', '--no-cleanup', '--data-dir', scratch.dataDir]);
    assert.equal(first.status, 0, first.stderr);
    assert.equal((await listBufferDatabases(log, { dataDir: scratch.dataDir })).length, 1);
    const again = await runCliIn(scratch.root, [log, '--overwrite', '--data-dir', scratch.dataDir]);
    assert.equal(again.status, 2, 'nothing to recover');
    assert.match(again.stderr, /is not a crashed log \(status error; it has header\.json\); the buffer left beside it \(.*\.db, whose samples it holds: a recovery was killed after it replaced the log\) was removed/);
    assert.deepEqual(await listBufferDatabases(log, { dataDir: scratch.dataDir }), []);
    assert.equal((await readLog(log)).samples.size, 7);
  });
});
