import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findCrashedBufferDatabase, listBufferDatabases } from '../../src/buffer/database/candidates.js';
import { inspectDataDir } from '../../src/buffer/database/location.js';
import { BufferDatabaseReader } from '../../src/buffer/database/reader.js';
import type { BufferEvent } from '../../src/buffer/schemas.js';
import type { BufferSyncHook } from '../../src/buffer/database/writer.js';
import { FilestoreReader } from '../../src/buffer/filestore/reader.js';
import { EvalLogReader } from '../../src/eval/eval-log-reader.js';
import type { EvalSample } from '../../src/eval/schemas.js';
import { defaultLogBuffer, EvalRecorder, type SampleInit } from '../../src/recorder/eval-recorder.js';
import { arithHeader, arithId, arithSample, arithStart } from '../support/arith-log.js';
import { LogStartError } from '../../src/errors.js';
import { inspectFixture } from '../support/shared-fixtures.js';

// --- inputs ----------------------------------------------------------------------------------------

const init = (sample: EvalSample): SampleInit => ({
  id: sample.id as string | number,
  epoch: sample.epoch,
  input: sample.input as unknown[],
  target: sample.target as string,
  metadata: sample.metadata,
  uuid: sample.uuid ?? undefined,
});

/** What a harness logs while a sample runs: init, a model call (pending, then resolved), a score. */
function runningEvents(sample: EvalSample): BufferEvent[] {
  const id = String(sample.id);
  const model = (pending: boolean): BufferEvent => ({
    uuid: `model-${id}`,
    event: 'model',
    ...(pending ? { pending: true } : {}),
    model: 'mockllm/model',
    input: sample.input as unknown[],
    tools: [],
    tool_choice: 'none',
    config: {},
    output: pending ? { model: 'mockllm/model', choices: [], completion: '' } : sample.output,
  });
  return [...(sample.events as BufferEvent[]).slice(0, 1), model(true), model(false), ...(sample.events as BufferEvent[]).slice(1)];
}

// --- helpers ---------------------------------------------------------------------------------------

interface Scratch {
  root: string;
  logFile: string;
  /** What the child's XDG_DATA_HOME points at, so it never writes into the real data dir. */
  xdgDataHome: string;
  dataDir: string;
}

async function withScratch<T>(work: (scratch: Scratch) => Promise<T>): Promise<T> {
  // realpath: the buffer directory is named after the log directory's path as spelled.
  const root = await realpath(await mkdtemp(join(tmpdir(), 'eval-recorder-')));
  try {
    const xdgDataHome = join(root, 'xdg');
    return await work({ root, logFile: join(root, 'logs', 'run.eval'), xdgDataHome, dataDir: inspectDataDir({ env: { XDG_DATA_HOME: xdgDataHome } }) });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

interface LogContents {
  finished: boolean;
  status: string | undefined;
  samples: string[];
  summaries: string[];
}

async function readLog(logFile: string): Promise<LogContents> {
  const reader = await EvalLogReader.open(logFile);
  try {
    return {
      finished: reader.finished,
      status: (await reader.header()).status,
      samples: [...reader.sampleEntries()].map((entry) => entry.name),
      summaries: (await reader.summaries()).map((summary) => String(summary.id)),
    };
  } finally {
    await reader.close();
  }
}

interface BufferContents {
  samples: Array<[id: string, completed: boolean]>;
  events: Record<string, number>;
}

async function readBuffer(path: string): Promise<BufferContents> {
  const reader = await BufferDatabaseReader.open(path);
  try {
    const samples = reader.samples();
    return {
      samples: samples.map((sample) => [sample.id, sample.completed]),
      events: Object.fromEntries(samples.map((sample) => [sample.id, reader.events(sample.id, sample.epoch).length])),
    };
  } finally {
    reader.close();
  }
}

const entry = (index: number) => `samples/${arithId(index)}_epoch_1.json`;

// --- tests -----------------------------------------------------------------------------------------

function defineSuites(): void {
  describe('EvalRecorder.start: a start Inspect can read logs from', () => {
    it('refuses a start without eval.dataset.sample_ids, or without a required field, naming it', async () => {
      const scratch = await makeTempScratch();
      try {
        const withoutIds = arithStart({ samples: 3, epochs: 1 });
        delete withoutIds.eval.dataset.sample_ids;
        await assert.rejects(EvalRecorder.start(scratch.logFile, withoutIds, { dataDir: scratch.dataDir }), (error: unknown) => {
          assert.ok(error instanceof LogStartError);
          assert.equal(error.exitCode, 2);
          assert.match(error.message, /no eval\.dataset\.sample_ids/);
          return true;
        });
        const withoutModel = arithStart({ samples: 3, epochs: 1 }) as { eval: Record<string, unknown> };
        delete withoutModel.eval.model;
        await assert.rejects(EvalRecorder.start(scratch.logFile, withoutModel as never, { dataDir: scratch.dataDir }), /requires: eval\.model/);
        assert.equal(existsSync(scratch.logFile), false, 'nothing written');
      } finally {
        await rm(scratch.root, { recursive: true, force: true });
      }
    });

    it("fills what a writer makes itself (eval_id, run_id, dataset.samples); the log carries every field Inspect's fixtures have that its reader needs", async () => {
      const scratch = await makeTempScratch();
      try {
        const start = arithStart({ samples: 3, epochs: 1 });
        delete start.eval.eval_id;
        delete start.eval.run_id;
        delete start.eval.dataset.samples;
        const recorder = await EvalRecorder.start(scratch.logFile, start, { dataDir: scratch.dataDir });
        await recorder.abandon();
        const reader = await EvalLogReader.open(scratch.logFile);
        const written = (await reader.start()).eval;
        await reader.close();
        assert.match(written.eval_id!, /^[A-Za-z0-9]{22}$/);
        assert.match(written.run_id!, /^[A-Za-z0-9]{22}$/);
        assert.equal(written.dataset.samples, 3);
        const fixture = await EvalLogReader.open(inspectFixture('completed', '2026-11-22T13-41-33-00-00_arith_dHiqepvQpxKq7cnWKRdU3X.eval'));
        const inspects = (await fixture.start()).eval;
        await fixture.close();
        for (const key of ['created', 'task', 'dataset', 'model', 'config', 'eval_id', 'run_id'] as const) assert.ok(written[key] !== undefined && inspects[key] !== undefined, key);
        assert.deepEqual(Object.keys(written.dataset).filter((key) => key === 'sample_ids'), Object.keys(inspects.dataset).filter((key) => key === 'sample_ids'));
      } finally {
        await rm(scratch.root, { recursive: true, force: true });
      }
    });
  });

  describe('defaultLogBuffer', () => {
    const start = (samples: number | undefined, epochs: number | undefined, logBuffer?: number) => {
      const logStart = arithStart({ samples: samples ?? 0, epochs: epochs ?? 1 });
      logStart.eval.dataset.samples = samples;
      logStart.eval.config = { epochs, ...(logBuffer === undefined ? {} : { log_buffer: logBuffer }) };
      return logStart;
    };

    it("follows Inspect's rule: n/3 capped to 1..10 below 1000 samples × epochs, n/20 (at least 10) from 1000", () => {
      assert.equal(defaultLogBuffer(start(1, 1)), 1);
      assert.equal(defaultLogBuffer(start(10, 1)), 3);
      assert.equal(defaultLogBuffer(start(10, 2)), 6);
      assert.equal(defaultLogBuffer(start(999, 1)), 10);
      assert.equal(defaultLogBuffer(start(500, 2)), 50);
      assert.equal(defaultLogBuffer(start(100, 100)), 500);
      assert.equal(defaultLogBuffer(start(undefined, undefined)), 1, 'unknown size: flush every sample');
    });

    it('uses the log_buffer the eval configured', () => {
      assert.equal(defaultLogBuffer(start(100, 1, 7)), 7);
    });
  });

  describe('EvalRecorder', () => {
    it('keeps every sample in the log or the buffer: flushes every logBuffer completions, then drops them from the buffer', () =>
      withScratch(async ({ logFile, dataDir }) => {
        const versions: number[] = [];
        const closes: boolean[] = [];
        const sync: BufferSyncHook = { changed: (_database, version) => versions.push(version), closed: (_database, cleanup) => void closes.push(cleanup) };
        const logStart = arithStart({ samples: 5, epochs: 1 });
        const recorder = await EvalRecorder.start(logFile, logStart, { dataDir, logBuffer: 2, sync });
        const samples = [1, 2, 3, 4, 5].map((index) => arithSample(index, 1));
        assert.deepEqual(await readLog(logFile), { finished: false, status: 'started', samples: [], summaries: [] }, 'the start journal is flushed at once');

        for (const sample of samples) {
          const summary = recorder.sampleStarted(init(sample));
          assert.equal(summary.completed, false);
          recorder.events(sample.id as string | number, 1, runningEvents(sample));
        }
        recorder.updateMetrics([{ scorer: 'match', name: 'accuracy', value: 1, params: {} }]);
        await recorder.sampleCompleted(samples[0]!);
        assert.deepEqual((await readLog(logFile)).samples, [], 'below the threshold nothing is flushed');
        assert.deepEqual((await readBuffer(recorder.bufferDatabasePath)).samples, [['1', true], ['3', false], ['5', false], ['s-002', false], ['s-004', false]]);

        await recorder.sampleCompleted(samples[1]!);
        assert.deepEqual((await readLog(logFile)).samples, [entry(1), entry(2)]);
        const buffered = await readBuffer(recorder.bufferDatabasePath);
        assert.deepEqual(buffered.samples, [['3', false], ['5', false], ['s-004', false]], 'flushed samples leave the buffer');
        assert.deepEqual(buffered.events, { '3': 3, '5': 3, 's-004': 3 }, 'the model event and its update collapse');

        await recorder.sampleCompleted(samples[2]!);
        await recorder.flush();
        assert.deepEqual((await readLog(logFile)).samples, [entry(1), entry(2), entry(3)]);
        assert.deepEqual((await readBuffer(recorder.bufferDatabasePath)).samples, [['5', false], ['s-004', false]]);

        await Promise.all([recorder.sampleCompleted(samples[3]!), recorder.sampleCompleted(samples[4]!)]);
        await recorder.finish(arithHeader(logStart, 'success', 1), [{ scorer: 'match', samples: [] }]);
        const log = await readLog(logFile);
        assert.deepEqual(log, { finished: true, status: 'success', samples: [1, 2, 3, 4, 5].map(entry), summaries: ['1', 's-002', '3', 's-004', '5'] });
        assert.equal(existsSync(recorder.bufferDatabasePath), false, 'the buffer is deleted at the end of the run');
        assert.equal(existsSync(dirname(recorder.bufferDatabasePath)), false);
        assert.deepEqual(versions, Array.from({ length: versions.length }, (_, index) => index + 2), 'the sync hook sees every write');
        assert.deepEqual(closes, [true]);
      }));

    it("the events recorded with events() go into the completed sample when the harness's sample has none; its own win", () =>
      withScratch(async ({ logFile, dataDir }) => {
        const logStart = arithStart({ samples: 2, epochs: 1 });
        const recorder = await EvalRecorder.start(logFile, logStart, { dataDir, logBuffer: 1 });
        const [plain, own] = [arithSample(1, 1), arithSample(2, 1)];
        for (const sample of [plain, own]) {
          recorder.sampleStarted(init(sample));
          recorder.events(sample.id as string | number, 1, runningEvents(sample));
        }
        await recorder.sampleCompleted({ ...plain, events: [] });
        await recorder.sampleCompleted(own);
        await recorder.finish();
        const reader = await EvalLogReader.open(logFile);
        try {
          const entries = [...reader.sampleEntries()];
          const events = async (sample: EvalSample) => (await reader.readSample(entries.find((e) => e.name === `samples/${String(sample.id)}_epoch_1.json`)!)).events as BufferEvent[];
          const recorded = runningEvents(plain);
          // The model event's update replaced its pending first version, in place.
          assert.deepEqual(await events(plain), [recorded[0], recorded[2], ...recorded.slice(3)]);
          assert.deepEqual(await events(own), own.events, "the harness's own events, as it passed them");
        } finally {
          await reader.close();
        }
      }));

    it('abandon leaves the log as of its last flush and the buffer for recovery', () =>
      withScratch(async ({ logFile, dataDir }) => {
        const recorder = await EvalRecorder.start(logFile, arithStart({ samples: 3, epochs: 1 }), { dataDir, logBuffer: 1 });
        const [first, second] = [arithSample(1, 1), arithSample(2, 1)];
        recorder.sampleStarted(init(first));
        recorder.sampleStarted(init(second));
        await recorder.sampleCompleted(first);
        await recorder.abandon();
        assert.deepEqual(await readLog(logFile), { finished: false, status: 'started', samples: [entry(1)], summaries: ['1'] });
        const [candidate] = await listBufferDatabases(logFile, { dataDir });
        // This process lives on, but no longer holds the DB open: recoverable at once.
        assert.deepEqual([candidate?.pid, candidate?.alive], [process.pid, false]);
        assert.match(candidate!.reason, /alive but does not hold it open/);
        const crashed = await findCrashedBufferDatabase(logFile, { dataDir });
        assert.ok(crashed);
        assert.deepEqual((await readBuffer(crashed.path)).samples, [['s-002', false]]);
      }));

    it('after a SIGKILL at a known point: the log holds exactly the flushed samples, the buffer exactly the others', () =>
      withScratch(async (scratch) => {
        const { pid } = await runChildUntil(scratch, { mode: 'known-point' }, (line) => line === 'ready');
        assert.deepEqual(await readLog(scratch.logFile), { finished: false, status: 'started', samples: [entry(1), entry(2)], summaries: ['1', 's-002'] });
        const crashed = await findCrashedBufferDatabase(scratch.logFile, { dataDir: scratch.dataDir });
        assert.ok(crashed);
        assert.equal(crashed.pid, pid);
        const buffered = await readBuffer(crashed.path);
        assert.deepEqual(buffered.samples, [['3', true], ['5', false], ['s-004', false]], 'completed-but-unflushed 3, running 4 and 5');
        assert.deepEqual(buffered.events, { '3': 3, '5': 3, 's-004': 3 });
      }));

    it('after a SIGKILL at any point: no started sample is lost, and only the last flush may still be in the buffer', () =>
      withScratch(async (scratch) => {
        let reported = 0;
        await runChildUntil(scratch, { mode: 'endless' }, (line) => {
          reported = Number(line.slice('started '.length));
          return reported >= 30;
        });
        const log = await readLog(scratch.logFile);
        assert.equal(log.status, 'started');
        const crashed = await findCrashedBufferDatabase(scratch.logFile, { dataDir: scratch.dataDir });
        assert.ok(crashed);
        const buffered = new Map((await readBuffer(crashed.path)).samples);
        const flushed = new Set(log.samples);
        assert.equal(flushed.size % 3, 0, 'the log grows by whole flushes of 3');
        assert.ok(flushed.size >= 3, `${flushed.size} samples flushed`);
        const inBoth: string[] = [];
        for (let index = 1; index <= reported; index++) {
          const id = String(arithId(index));
          const inLog = flushed.has(entry(index));
          assert.ok(inLog || buffered.has(id), `sample ${id} is in the log or the buffer`);
          if (inLog && buffered.has(id)) inBoth.push(id);
        }
        // Killed between a flush and the delete that follows it: that batch is in both places.
        assert.ok(inBoth.length === 0 || inBoth.length === 3, `in both: ${inBoth.join(', ')}`);
        for (const id of inBoth) assert.equal(buffered.get(id), true, 'a flushed sample is complete in the buffer');
      }));
  });
}

// --- the child process: this file, run with the variable set -----------------------------------------

const childRoleVariable = 'INSPECT_RECOVER_RECORDER_TEST_CHILD';

interface ChildArguments {
  mode: 'known-point' | 'endless';
  logFile: string;
}

/** Runs this file as a recorder child and SIGKILLs it once `stop` accepts one of its stdout lines. */
async function runChildUntil(scratch: Scratch, args: Omit<ChildArguments, 'logFile'>, stop: (line: string) => boolean): Promise<{ pid: number }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    // TMPDIR keeps the killed log writer's working copy inside the scratch directory.
    env: { ...process.env, TMPDIR: scratch.root, XDG_DATA_HOME: scratch.xdgDataHome, [childRoleVariable]: JSON.stringify({ ...args, logFile: scratch.logFile }) },
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    for await (const line of createInterface({ input: child.stdout! })) if (stop(line)) break;
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  return { pid: child.pid! };
}

async function runRecorderChild({ mode, logFile }: ChildArguments): Promise<void> {
  const recorder = await EvalRecorder.start(logFile, arithStart({ samples: 100_000, epochs: 1 }), { logBuffer: mode === 'endless' ? 3 : 2 });
  const start = (index: number) => {
    const sample = arithSample(index, 1);
    recorder.sampleStarted(init(sample));
    recorder.events(sample.id as string | number, 1, runningEvents(sample));
    return sample;
  };
  if (mode === 'known-point') {
    const samples = [1, 2, 3, 4, 5].map(start);
    for (const sample of samples.slice(0, 3)) await recorder.sampleCompleted(sample);
    process.stdout.write('ready\n');
  } else {
    // Two samples in flight at any time, as with max_samples = 2.
    let previous = start(1);
    process.stdout.write('started 1\n');
    for (let index = 2; ; index++) {
      const next = start(index);
      process.stdout.write(`started ${index}\n`);
      await recorder.sampleCompleted(previous);
      previous = next;
    }
  }
  // Wait for the kill with the recorder reachable: collected, it would close its files.
  setInterval(() => recorder, 60_000);
}

// The child must not define the suites: node:test would run them in it.
const childArguments = process.env[childRoleVariable];
if (childArguments === undefined) defineSuites();
else await runRecorderChild(JSON.parse(childArguments) as ChildArguments);

describe('EvalRecorder with shared: the filestore mirror', () => {
  it('mirrors the buffer into .buffer/<log name>/ and leaves it, complete, when the run is abandoned', async (t) => {
    const root = await mkdtemp(join(tmpdir(), 'recorder-shared-'));
    t.after(() => rm(root, { recursive: true, force: true }));
    const log = join(root, 'logs', 'run.eval');
    const recorder = await EvalRecorder.start(log, arithStart({ samples: 4, epochs: 1 }), {
      dataDir: join(root, 'data'),
      logBuffer: 10,
      shared: { intervalSeconds: 1 },
    });
    recorder.sampleStarted({ id: 1, epoch: 1, input: 'What is 3 + 8?', target: '11' });
    recorder.events(1, 1, arithSample(1, 1).events as BufferEvent[]);
    await recorder.sampleCompleted(arithSample(1, 1));
    await recorder.abandon();
    const manifest = join(root, 'logs', '.buffer', 'run', 'manifest.json');
    assert.ok(existsSync(manifest), 'the final sync wrote the manifest');
    const reader = await FilestoreReader.open(log);
    t.after(() => reader.close());
    assert.deepEqual(
      reader.samples().map((sample) => [sample.id, sample.completed]),
      [['1', true]],
    );
    assert.equal((await reader.sampleData(1, 1))?.events.length, arithSample(1, 1).events!.length);
  });
});

async function makeTempScratch(): Promise<{ root: string; logFile: string; dataDir: string }> {
  const root = await realpath(await mkdtemp(join(tmpdir(), 'recorder-start-')));
  return { root, logFile: join(root, 'logs', 'run.eval'), dataDir: join(root, 'data') };
}
