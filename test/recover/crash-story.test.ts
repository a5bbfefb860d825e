/**
 * The whole story with our own writer: a child process runs an eval through EvalRecorder (the
 * crash-safe `.eval` plus buffer DB), is SIGKILLed mid-run, and recoverEvalLog rebuilds the run:
 * every flushed sample as it was, every completed-but-unflushed one scored, the running ones
 * cancelled, none twice, none missing.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it, type TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import { findCrashedBufferDatabase } from '../../src/buffer/database/candidates.js';
import { heartbeatFileName } from '../../src/buffer/filestore/heartbeat.js';
import { filestoreDirForLog } from '../../src/buffer/filestore/layout.js';
import { RecoveryNotAvailable } from '../../src/errors.js';
import { recoverEvalLog, type RecoveryResult } from '../../src/recover/recover-eval-log.js';
import { arithId } from '../support/arith-log.js';
import { pythonReadsZip } from '../support/python.js';
import { key, makeScratch, rawEntry, readLog, type Scratch } from '../support/recovery-inputs.js';
import { repoRoot } from '../support/shared-fixtures.js';

const module = (path: string) => JSON.stringify(pathToFileURL(join(repoRoot, path)).href);

/** Four samples in flight (max_samples 4), a flush every 3 completions; prints `started N` and `completed N`. */
const childScript = `
import { EvalRecorder } from ${module('dist/src/recorder/eval-recorder.js')};
import { arithSample, arithStart } from ${module('dist/test/support/arith-log.js')};

const [log, dataDir, sharedSeconds, delayMs, logBuffer] = process.argv.slice(2);
const shared = sharedSeconds ? { intervalSeconds: Number(sharedSeconds) } : undefined;
const recorder = await EvalRecorder.start(log, arithStart({ samples: 100000, epochs: 1 }), { dataDir, logBuffer: Number(logBuffer ?? 3), shared });
const pause = () => new Promise((resolve) => setTimeout(resolve, Number(delayMs ?? 0)));
const model = (sample, pending) => ({
  uuid: 'model-' + sample.id,
  event: 'model',
  ...(pending ? { pending: true } : {}),
  model: 'mockllm/model',
  input: sample.input,
  tools: [],
  tool_choice: 'none',
  config: {},
  output: pending ? { model: 'mockllm/model', choices: [], completion: '' } : sample.output,
});
const inFlight = [];
for (let index = 1; ; index++) {
  const sample = arithSample(index, 1);
  recorder.sampleStarted({ id: sample.id, epoch: 1, input: sample.input, target: sample.target, metadata: sample.metadata, uuid: sample.uuid });
  recorder.events(sample.id, 1, [sample.events[0], model(sample, true)]);
  recorder.events(sample.id, 1, [model(sample, false)]);
  inFlight.push({ index, sample });
  process.stdout.write('started ' + index + '\\n');
  if (delayMs) await pause();
  if (inFlight.length === 4) {
    const done = inFlight.shift();
    await recorder.sampleCompleted(done.sample);
    process.stdout.write('completed ' + done.index + '\\n');
  }
}
`;

interface KilledRun {
  scratch: Scratch;
  log: string;
  pid: number;
  /** The highest sample index the child reported started. */
  started: number;
  /** Samples the child reported completed (their completion returned). */
  completed: Set<number>;
}

/** Runs the recorder child until `stop` says so, then SIGKILLs it. */
async function runUntilKilled(t: TestContext, args: string[], stop: (run: { started: number; log: string }) => Promise<boolean>): Promise<KilledRun> {
  const scratch = await makeScratch(t, 'crash-story-');
  const log = scratch.log();
  const script = join(scratch.root, 'recorder-child.mjs');
  await writeFile(script, childScript);
  // TMPDIR keeps the killed writer's working copy in the scratch dir; XDG_DATA_HOME keeps it off the real data dir.
  const child = spawn(process.execPath, [script, log, scratch.dataDir, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, TMPDIR: scratch.root, XDG_DATA_HOME: join(scratch.root, 'data') },
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let started = 0;
  const completed = new Set<number>();
  try {
    for await (const line of createInterface({ input: child.stdout! })) {
      const [what, index] = line.split(' ');
      if (what === 'started') started = Number(index);
      if (what === 'completed') completed.add(Number(index));
      if (await stop({ started, log })) break;
    }
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  return { scratch, log, pid: child.pid!, started, completed };
}

const indexOf = (name: string): number => {
  const index = Array.from({ length: 2000 }, (_, i) => i + 1).find((i) => key(arithId(i), 1) === name);
  assert.ok(index, `unexpected sample ${name}`);
  return index;
};

/**
 * What every recovery of a killed run must give: samples 1..N once each (N at least `atLeast`),
 * the flushed ones byte for byte, completed ones scored, the last started ones cancelled.
 */
async function assertRecoveredRun(run: KilledRun, result: RecoveryResult, atLeast: number): Promise<number[]> {
  const crashed = await readLog(run.log);
  const flushed = [...crashed.samples.keys()];
  const recovered = await readLog(result.output); // throws on a sample present twice
  const indexes = [...recovered.samples.keys()].map(indexOf).sort((a, b) => a - b);
  const total = indexes.length;
  assert.deepEqual(indexes, Array.from({ length: total }, (_, i) => i + 1), 'samples 1..N, none missing in between');
  assert.ok(total >= atLeast, `${total} recovered, at least ${atLeast} expected`);
  assert.equal(recovered.summaries.length, total);
  assert.equal(result.samples, total);
  assert.equal(result.flushed, flushed.length);
  assert.equal(result.flushed + result.completed + result.inProgress, total);

  // Flushed samples: exactly as they were stored.
  for (const name of flushed) {
    const entry = `samples/${name.split(':')[0]}_epoch_1.json`;
    assert.deepEqual(await rawEntry(result.output, entry), await rawEntry(run.log, entry), entry);
  }
  // Completed ones (flushed or not) are scored without error; the ones still running are cancelled, unscored.
  const cancelled: number[] = [];
  for (const index of indexes) {
    const sample = recovered.samples.get(key(arithId(index), 1))!;
    if (sample.error) {
      assert.equal(sample.error.message, 'CancelledError()', `sample ${index}`);
      assert.equal(sample.scores ?? null, null);
      // One started after the last line read may have been killed before its events were logged.
      const roles = sample.messages!.map((message) => (message as { role: string }).role);
      if (index <= run.started) assert.deepEqual(roles, ['user', 'assistant'], `sample ${index}: its partial conversation`);
      else assert.deepEqual(roles, ['user', 'assistant'].slice(0, roles.length), `sample ${index}: ${roles.join()}`);
      cancelled.push(index);
    } else {
      assert.ok(sample.scores?.match, `sample ${index} is scored`);
      assert.equal(sample.messages!.length, 2);
    }
  }
  assert.deepEqual(cancelled, indexes.slice(indexes.length - cancelled.length), 'the last started are the ones cut off');
  assert.equal(result.inProgress, cancelled.length);
  assert.equal(result.errors, cancelled.length);
  assert.equal(recovered.header.status, 'error');
  assert.equal(pythonReadsZip(result.output).entries, recovered.entryNames.length);
  return cancelled;
}

describe('a SIGKILLed EvalRecorder run, recovered', () => {
  it('from its buffer DB: every flushed sample, every completed-unflushed sample, the in-progress ones cancelled; no duplicates', async (t) => {
    const run = await runUntilKilled(t, [], async ({ started }) => started >= 31);
    const { scratch, log } = run;
    const crashed = await readLog(log);
    assert.equal(crashed.header.status, 'started');
    assert.ok(crashed.samples.size >= 3 && crashed.samples.size % 3 === 0, `${crashed.samples.size} flushed, in whole flushes of 3`);
    const database = await findCrashedBufferDatabase(log, { dataDir: scratch.dataDir });
    assert.equal(database?.pid, run.pid, "the killed child's buffer DB");

    const result = await recoverEvalLog(log, { dataDir: scratch.dataDir });
    assert.equal(result.source, 'database');
    const cancelled = await assertRecoveredRun(run, result, run.started);
    for (const index of run.completed) assert.ok(!cancelled.includes(index), `sample ${index} completed before the kill`);
    assert.ok(cancelled.length >= 3 && cancelled.length <= 4, `${cancelled.length} in flight at the kill`);
    assert.ok(result.completed <= 3, `${result.completed} completed but not yet flushed`);
    assert.equal(await findCrashedBufferDatabase(log, { dataDir: scratch.dataDir }), undefined, 'cleaned up');
  });

  it('from its filestore (another machine, no DB): refused while the heartbeat is fresh, then the synced samples; the DB has a superset', async (t) => {
    const manifestSamples = async (log: string) => {
      const text = await readFile(join(filestoreDirForLog(log), 'manifest.json'), 'utf8').catch(() => undefined);
      return text === undefined ? 0 : (JSON.parse(text) as { samples: unknown[] }).samples.length;
    };
    // A sync every second, a sample every 25 ms, a flush every 20 completions: killed some time after the first sync.
    let syncedAt = 0;
    const run = await runUntilKilled(t, ['1', '25', '20'], async ({ started, log }) => {
      if (syncedAt === 0 && started >= 10 && (await manifestSamples(log)) > 0) syncedAt = started;
      return syncedAt > 0 && started >= syncedAt + 45;
    });
    const { scratch, log } = run;
    const bufferDir = filestoreDirForLog(log);
    const elsewhere = join(scratch.root, 'other-machine-data');

    // Right after the kill the heartbeat is fresh. Seen from another machine, that is a running eval.
    const heartbeatPath = join(bufferDir, heartbeatFileName);
    const left = await readFile(heartbeatPath, 'utf8');
    const beat = JSON.parse(left) as { time: string; pid: number; host: string };
    assert.equal(beat.pid, run.pid);
    assert.ok(Date.now() - Date.parse(beat.time) < 5000, 'fresh');
    await writeFile(heartbeatPath, JSON.stringify({ ...beat, host: 'some-other-machine' }));
    await assert.rejects(recoverEvalLog(log, { dataDir: elsewhere }), (error: unknown) => {
      assert.ok(error instanceof RecoveryNotAvailable);
      assert.match(error.message, /still running: its filestore heartbeat from some-other-machine pid \d+/);
      return true;
    });
    // On the machine that wrote it, the writer's pid is dead: that settles it, fresh heartbeat or not.
    await writeFile(heartbeatPath, left);
    const fromFilestore = await recoverEvalLog(log, { dataDir: elsewhere, output: join(scratch.root, 'from-filestore.eval') });
    assert.equal(fromFilestore.source, 'filestore');
    assert.deepEqual(fromFilestore.warnings, []);
    // The manifest may lag the last flush: at least every flushed sample, plus what the last sync saw.
    await assertRecoveredRun(run, fromFilestore, (await readLog(log)).samples.size);
    assert.equal(existsSync(bufferDir), false, 'the filestore is cleaned up');

    // The DB on the machine that ran it is at least as new as the last sync.
    const fromDatabase = await recoverEvalLog(log, { dataDir: scratch.dataDir, output: join(scratch.root, 'from-database.eval') });
    assert.equal(fromDatabase.source, 'database');
    await assertRecoveredRun(run, fromDatabase, run.started);
    const fromFilestoreSamples = (await readLog(fromFilestore.output)).samples;
    const fromDatabaseSamples = (await readLog(fromDatabase.output)).samples;
    assert.ok(fromDatabaseSamples.size >= fromFilestoreSamples.size);
    for (const [name, sample] of fromFilestoreSamples) {
      assert.ok(fromDatabaseSamples.has(name), `${name} is in the DB recovery too`);
      if (!sample.error) assert.equal(fromDatabaseSamples.get(name)!.error ?? null, null, `${name} completed in both`);
    }
  });
});
