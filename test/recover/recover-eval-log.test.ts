/**
 * recoverEvalLog end to end on inputs built with the project's writers (test_recover_api.py,
 * test_recover_e2e.py, test_recover_write.py, test_recover_buffer.py, and our additions): a
 * crashed `.eval` from EvalLogWriter, its buffer DB from SampleBufferDatabase under a dead pid.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, truncate, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { EntryName } from '../../src/eval/entry-names.js';
import type { EvalSample, LogStart } from '../../src/eval/schemas.js';
import { NotFoundError, RecoveryNotAvailable, StorageError, UsageError } from '../../src/errors.js';
import { defaultOutputPath } from '../../src/recover/output-path.js';
import { recoverEvalLog } from '../../src/recover/recover-eval-log.js';
import { cancelledError } from '../../src/recover/reconstruct-sample.js';
import { recoveredError } from '../../src/recover/recovered-header.js';
import type { Storage } from '../../src/storage/storage.js';
import { LocalStorage } from '../../src/storage/local-storage.js';
import { arithHeader, arithId, arithSample, arithStart } from '../support/arith-log.js';
import { pythonReadsZip } from '../support/python.js';
import {
  bufferSample,
  erroredSample,
  errorMessage,
  faultyStorage,
  key,
  makeScratch,
  openBufferDatabase,
  rawEntry,
  readLog,
  writeCrashedLog,
  writeFinishedLog,
  type Scratch,
} from '../support/recovery-inputs.js';

const usage = { input_tokens: 10, output_tokens: 5, total_tokens: 15, total_cost: 0.125 };

/** An arith sample that used the model (so usage sums can be checked). */
function sample(index: number, epoch = 1, options: { correct?: boolean } = {}): EvalSample {
  return { ...arithSample(index, epoch, options), model_usage: { 'mockllm/model': usage } };
}

const entryName = (index: number, epoch = 1) => `samples/${arithId(index)}_epoch_${epoch}.json`;
const sampleKey = (index: number, epoch = 1) => key(arithId(index), epoch);

interface Built {
  scratch: Scratch;
  log: string;
  start: LogStart;
  databasePath: string;
}

/**
 * The standard crashed run: 8 samples, flushed in two batches (1–2, 3–4); in the buffer 5 and 6
 * completed, 7 in progress, 8 completed with an error.
 */
async function standardRun(t: TestContext, options: { start?: LogStart } = {}): Promise<Built> {
  const scratch = await makeScratch(t);
  const log = scratch.log();
  const start = options.start ?? arithStart({ samples: 8, epochs: 1, created: '2026-11-22T12:00:40+00:00' });
  await writeCrashedLog(log, start, [[sample(1), sample(2)], [sample(3), sample(4)]]);
  const db = openBufferDatabase(log, scratch.dataDir);
  bufferSample(db, sample(5), 'completed');
  bufferSample(db, sample(6), 'completed');
  bufferSample(db, sample(7), 'in-progress');
  bufferSample(db, sample(8), 'errored');
  await db.close({ cleanup: false });
  return { scratch, log, start, databasePath: db.path };
}

const databaseFiles = async (path: string) => (existsSync(dirname(path)) ? (await readdir(dirname(path))).filter((name) => name.startsWith('run.eval.')) : []);

describe('recoverEvalLog', () => {
  it('flushed and buffered samples (completed, in progress, failed) → a complete error log with every sample once', async (t) => {
    const { scratch, log, databasePath } = await standardRun(t);
    const progress: [number, number][] = [];
    const result = await recoverEvalLog(log, { dataDir: scratch.dataDir, onProgress: (done, total) => progress.push([done, total]) });

    const output = join(scratch.logsDir, 'run-recovered.eval');
    assert.deepEqual(result, {
      log,
      output,
      source: 'database',
      samples: 8,
      flushed: 4,
      completed: 3,
      inProgress: 1,
      duplicates: 0,
      errors: 2,
      missing: 0,
      warnings: [],
      cleanedUp: true,
      finalized: false,
    });
    assert.deepEqual(progress, Array.from({ length: 8 }, (_, i) => [i + 1, 8]));

    const recovered = await readLog(output);
    assert.equal(recovered.finished, true);
    assert.equal(recovered.header.status, 'error');
    assert.deepEqual(recovered.header.error, recoveredError);
    assert.deepEqual([...recovered.samples.keys()].sort(), [1, 2, 3, 4, 5, 6, 7, 8].map((i) => sampleKey(i)).sort());
    assert.equal(recovered.summaries.length, 8);
    assert.equal(new Set(recovered.entryNames).size, recovered.entryNames.length, 'no entry twice');
    assert.ok(recovered.entryNames.includes(EntryName.start));
    assert.ok(recovered.entryNames.includes(EntryName.summaries));
    assert.ok(recovered.entryNames.includes(EntryName.reductions));
    assert.equal(pythonReadsZip(output).entries, recovered.entryNames.length);

    // Flushed samples are copied as they were stored: the same compressed bytes.
    for (const index of [1, 2, 3, 4]) {
      assert.deepEqual(await rawEntry(output, entryName(index)), await rawEntry(log, entryName(index)), entryName(index));
    }

    // Completed buffered samples: scored, with their messages, metadata and uuid.
    const five = recovered.samples.get(sampleKey(5))!;
    assert.deepEqual(five.scores, sample(5).scores);
    assert.equal(five.error, null);
    assert.deepEqual(five.metadata, sample(5).metadata);
    assert.equal(five.uuid, sample(5).uuid);
    assert.deepEqual(five.messages, sample(5).messages);
    assert.deepEqual(five.events!.map((event) => event.event), ['sample_init', 'model', 'score'], 'the pending model event and its final form collapse');
    assert.equal(five.completed_at, sample(5).completed_at);

    // In progress: cancelled, no scores, partial messages.
    const seven = recovered.samples.get(sampleKey(7))!;
    assert.deepEqual(seven.error, cancelledError);
    assert.equal(seven.scores ?? null, null);
    assert.equal(seven.completed_at ?? null, null);
    assert.deepEqual(seven.messages!.map((message) => (message as { role: string }).role), ['user', 'assistant']);

    // Completed with an error: its message, no scores.
    const eight = recovered.samples.get(sampleKey(8))!;
    assert.equal(eight.error!.message, errorMessage);
    assert.equal(eight.scores ?? null, null);

    // Header: stats and results from the written samples.
    const stats = recovered.header.stats!;
    assert.equal(stats.started_at, sample(1).started_at, 'the earliest sample start, being before eval.created');
    assert.match(stats.completed_at!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
    assert.deepEqual(stats.model_usage, { 'mockllm/model': { input_tokens: 70, output_tokens: 35, total_tokens: 105, total_cost: 0.875 } }, '7 samples with usage');
    const results = recovered.header.results as unknown as { total_samples: number; completed_samples: number; scores: { metrics: Record<string, { value: number }> }[] };
    assert.equal(results.total_samples, 8);
    assert.equal(results.completed_samples, 6);
    assert.equal(results.scores[0]!.metrics.accuracy!.value, 1);
    const summaryOf = (index: number) => recovered.summaries.find((row) => key(row.id, row.epoch) === sampleKey(index))!;
    assert.equal(summaryOf(7).error, 'CancelledError()');
    assert.equal(summaryOf(8).error, errorMessage);
    assert.equal(summaryOf(5).completed, true);

    // The crashed log is left as it was; the buffer is gone, as is its directory.
    assert.equal((await readLog(log)).header.status, 'started');
    assert.equal(existsSync(databasePath), false);
    assert.equal(existsSync(dirname(databasePath)), false);
  });

  it('a sample both flushed and still in the DB (killed between flush and delete) is written once, as flushed', async (t) => {
    const scratch = await makeScratch(t);
    const log = scratch.log();
    await writeCrashedLog(log, arithStart({ samples: 3, epochs: 1 }), [[sample(1), sample(2)]]);
    const db = openBufferDatabase(log, scratch.dataDir);
    bufferSample(db, sample(2), 'completed');
    bufferSample(db, sample(3), 'completed');
    await db.close({ cleanup: false });

    const result = await recoverEvalLog(log, { dataDir: scratch.dataDir });
    assert.deepEqual([result.samples, result.flushed, result.completed, result.duplicates], [3, 2, 1, 1]);
    const recovered = await readLog(result.output);
    assert.deepEqual([...recovered.samples.keys()].sort(), ['1:1', '3:1', 's-002:1']);
    assert.equal(recovered.summaries.length, 3);
    assert.deepEqual(await rawEntry(result.output, entryName(2)), await rawEntry(log, entryName(2)));
  });

  it('a crash before the first flush: every sample comes from the DB', async (t) => {
    const scratch = await makeScratch(t);
    const log = scratch.log();
    await writeCrashedLog(log, arithStart({ samples: 2, epochs: 1 }));
    const db = openBufferDatabase(log, scratch.dataDir);
    bufferSample(db, sample(1), 'completed');
    bufferSample(db, sample(2), 'completed');
    await db.close({ cleanup: false });

    const result = await recoverEvalLog(log, { dataDir: scratch.dataDir });
    assert.deepEqual([result.samples, result.flushed, result.completed, result.errors], [2, 0, 2, 0]);
    const recovered = await readLog(result.output);
    assert.equal(recovered.samples.size, 2);
    for (const recoveredSample of recovered.samples.values()) assert.ok(recoveredSample.scores?.match, 'scored');
  });

  it('a DB holding no samples (all flushed before the crash) is used: the flushed samples alone', async (t) => {
    const scratch = await makeScratch(t);
    const log = scratch.log();
    await writeCrashedLog(log, arithStart({ samples: 2, epochs: 1 }), [[sample(1), sample(2)]]);
    await openBufferDatabase(log, scratch.dataDir).close({ cleanup: false });
    const result = await recoverEvalLog(log, { dataDir: scratch.dataDir });
    assert.deepEqual([result.samples, result.flushed, result.source], [2, 2, 'database']);
  });

  it('no samples at all (start journal and an empty DB): still a valid log, status error', async (t) => {
    const scratch = await makeScratch(t);
    const log = scratch.log();
    await writeCrashedLog(log, arithStart({ samples: 2, epochs: 1 }));
    await openBufferDatabase(log, scratch.dataDir).close({ cleanup: false });
    const result = await recoverEvalLog(log, { dataDir: scratch.dataDir });
    assert.equal(result.samples, 0);
    const recovered = await readLog(result.output);
    assert.equal(recovered.header.status, 'error');
    assert.equal(recovered.samples.size, 0);
    assert.deepEqual(recovered.summaries, []);
  });

  it('epochs: samples of several epochs are kept apart', async (t) => {
    const scratch = await makeScratch(t);
    const log = scratch.log();
    await writeCrashedLog(log, arithStart({ samples: 2, epochs: 2 }), [[sample(1, 1), sample(2, 1)]]);
    const db = openBufferDatabase(log, scratch.dataDir);
    bufferSample(db, sample(1, 2), 'completed');
    bufferSample(db, sample(2, 2, { correct: false }), 'completed');
    await db.close({ cleanup: false });
    const result = await recoverEvalLog(log, { dataDir: scratch.dataDir });
    const recovered = await readLog(result.output);
    assert.deepEqual([...recovered.samples.keys()].sort(), ['1:1', '1:2', 's-002:1', 's-002:2']);
    const accuracy = (recovered.header.results as unknown as { scores: { metrics: { accuracy: { value: number } } }[] }).scores[0]!.metrics.accuracy.value;
    assert.equal(accuracy, 0.75, 'sample 1: 1, sample s-002: mean(1, 0)');
    assert.equal(recovered.reductions![0]!.samples.length, 2, 'reduced per sample id');
  });

  it("the crashed log's journaled config updates go into the header (and no config_updates entries are written)", async (t) => {
    const scratch = await makeScratch(t);
    const log = scratch.log();
    const { ZipWriter } = await import('../../src/zip/zip-writer.js');
    const zip = await ZipWriter.create(log);
    await zip.add(EntryName.start, JSON.stringify(arithStart({ samples: 1, epochs: 1 })));
    await zip.add('_journal/config_updates/1.json', JSON.stringify({ model_generate_config: { temperature: 0.5 } }));
    await zip.add('_journal/config_updates/2.json', JSON.stringify({ model_generate_config: { temperature: 0.7 } }));
    await zip.close();
    const db = openBufferDatabase(log, scratch.dataDir);
    bufferSample(db, sample(1), 'completed');
    await db.close({ cleanup: false });
    const result = await recoverEvalLog(log, { dataDir: scratch.dataDir });
    const recovered = await readLog(result.output);
    assert.deepEqual((recovered.header as Record<string, unknown>).config_updates, [
      { model_generate_config: { temperature: 0.5 } },
      { model_generate_config: { temperature: 0.7 } },
    ]);
    assert.ok(!recovered.entryNames.some((name) => name.startsWith('_journal/config_updates/')));
  });

  it('a flushed sample with a later finished attempt in the buffer: the later attempt is written, once', async (t) => {
    const scratch = await makeScratch(t);
    const log = scratch.log();
    await writeCrashedLog(log, arithStart({ samples: 2, epochs: 1 }), [[sample(1), sample(2)]]);
    const later = { ...sample(1, 1, { correct: false }), completed_at: '2026-11-22T13:00:00.000+00:00' };
    const db = openBufferDatabase(log, scratch.dataDir);
    bufferSample(db, later, 'completed');
    bufferSample(db, sample(2), 'completed');
    await db.close({ cleanup: false });
    const result = await recoverEvalLog(log, { dataDir: scratch.dataDir });
    assert.deepEqual([result.samples, result.flushed, result.completed, result.duplicates], [2, 1, 1, 2]);
    const recovered = await readLog(result.output);
    assert.equal(recovered.samples.get('1:1')!.completed_at, later.completed_at);
    assert.equal(recovered.samples.get('1:1')!.scores!.match!.value, 'I');
    assert.equal(recovered.summaries.length, 2);
  });

  it('a flushed sample that failed, with a later finished attempt in the buffer: the later attempt keeps the failed one\'s errors in error_retries', async (t) => {
    const scratch = await makeScratch(t);
    const log = scratch.log();
    const firstError = { message: 'TimeoutError: first', traceback: 'Traceback...\nTimeoutError: first\n', traceback_ansi: 'TimeoutError: first\n' };
    const failed = { ...erroredSample(sample(1)), error_retries: [firstError] };
    await writeCrashedLog(log, arithStart({ samples: 2, epochs: 1 }), [[failed, sample(2)]]);
    const later = { ...sample(1), completed_at: '2026-11-22T13:00:00.000+00:00' };
    const db = openBufferDatabase(log, scratch.dataDir);
    bufferSample(db, later, 'completed');
    await db.close({ cleanup: false });
    const result = await recoverEvalLog(log, { dataDir: scratch.dataDir });
    assert.deepEqual([result.samples, result.flushed, result.completed, result.errors], [2, 1, 1, 0]);
    const recovered = await readLog(result.output);
    const rebuilt = recovered.samples.get('1:1')!;
    assert.equal(rebuilt.error ?? undefined, undefined);
    assert.deepEqual(
      rebuilt.error_retries?.map((error) => (error as { message: string }).message),
      ['TimeoutError: first', errorMessage],
    );
    assert.equal(recovered.summaries.find((summary) => summary.id === arithId(1))!.retries, 2);
    assert.equal(recovered.samples.get(sampleKey(2))!.error_retries?.length ?? 0, 0);
  });

  describe('buffered sample details', () => {
    it('full metadata stored at completion wins over the thinned summary metadata', async (t) => {
      const scratch = await makeScratch(t);
      const log = scratch.log();
      await writeCrashedLog(log, arithStart({ samples: 1, epochs: 1 }));
      const full = { index: 1, long: 'z'.repeat(2000) };
      const db = openBufferDatabase(log, scratch.dataDir);
      bufferSample(db, { ...sample(1), metadata: full }, 'completed', { summary: { metadata: { long: 'Key removed from summary (> 1k)' } } });
      await db.close({ cleanup: false });
      const result = await recoverEvalLog(log, { dataDir: scratch.dataDir });
      assert.deepEqual((await readLog(result.output)).samples.get('1:1')!.metadata, full);
    });

    it('an in-progress sample keeps the uuid it started with; one started without gets a fresh one and a warning', async (t) => {
      const scratch = await makeScratch(t);
      const log = scratch.log();
      await writeCrashedLog(log, arithStart({ samples: 2, epochs: 1 }));
      const db = openBufferDatabase(log, scratch.dataDir);
      bufferSample(db, sample(1), 'in-progress', { uuid: 'StartedWithThisUuid000' });
      bufferSample(db, sample(2), 'in-progress', { uuid: null });
      await db.close({ cleanup: false });
      const result = await recoverEvalLog(log, { dataDir: scratch.dataDir });
      const recovered = await readLog(result.output);
      assert.equal(recovered.samples.get('1:1')!.uuid, 'StartedWithThisUuid000');
      const synthesized = recovered.samples.get('s-002:1')!.uuid!;
      assert.match(synthesized, /^[A-Za-z0-9]{22}$/);
      assert.equal(recovered.summaries.find((row) => row.id === 's-002')!.uuid, synthesized);
      assert.deepEqual(result.warnings.map((warning) => [warning.code, warning.details]), [['UUID_SYNTHESIZED', { id: 's-002', epoch: 1 }]]);
    });

    it('long strings the buffer stored as attachments: resolved in output and messages, data-URI images kept as refs, events keep refs', async (t) => {
      const scratch = await makeScratch(t);
      const log = scratch.log();
      await writeCrashedLog(log, arithStart({ samples: 1, epochs: 1 }));
      const image = `data:image/png;base64,${'iVBORw0KGgo'.repeat(30)}`;
      const answer = `The sum is 11. ${'Here is why, at length. '.repeat(10)}`;
      const base = sample(1);
      const input = [{ id: 'in-1', role: 'user', content: [{ type: 'text', text: 'What is 3 + 8?' }, { type: 'image', image }] }];
      const reply = { id: 'out-1', role: 'assistant', content: answer, source: 'generate' };
      const long: EvalSample = { ...base, input, messages: [...input, reply], output: { model: 'mockllm/model', choices: [{ message: reply, stop_reason: 'stop' }], completion: answer } };
      long.events = [{ ...base.events![0]!, sample: { input, target: base.target, id: base.id } }, base.events![1]!];
      const db = openBufferDatabase(log, scratch.dataDir);
      bufferSample(db, long, 'completed');
      await db.close({ cleanup: false });

      const result = await recoverEvalLog(log, { dataDir: scratch.dataDir });
      const recovered = (await readLog(result.output)).samples.get('1:1')! as EvalSample & { events_data?: { messages: unknown[] } };
      const attachments = Object.values(recovered.attachments ?? {});
      assert.ok(attachments.includes(answer) && attachments.includes(image), 'both long strings are carried as attachments');
      const output = recovered.output as { choices: { message: { content: string } }[]; completion: string };
      assert.equal(output.choices[0]!.message.content, answer, 'the reply reads as text, as in a normally written sample');
      assert.equal(output.completion, answer);
      const messages = recovered.messages as { content: unknown }[];
      assert.equal(messages[1]!.content, answer);
      const imageRef = ((messages[0]!.content as { image: string }[])[1]!).image;
      assert.match(imageRef, /^attachment:\/\/[0-9a-f]+$/, 'images stay attachments');
      assert.equal(recovered.attachments![imageRef.slice('attachment://'.length)], image);
      assert.match(((recovered.input as { content: { image: string }[] }[])[0]!.content[1]!).image, /^attachment:\/\//);
      const model = recovered.events!.find((event) => event.event === 'model') as unknown as { output: typeof output; input_refs: unknown };
      assert.match(model.output.choices[0]!.message.content, /^attachment:\/\//, 'events keep their refs (resolvable through attachments)');
      assert.deepEqual(model.input_refs, [[0, 1]]);
      assert.equal(recovered.events_data!.messages.length, 1);
    });

    it('a sample id that would unzip outside samples/ is left out with SAMPLE_NAME_UNSAFE; nothing is written outside the output', async (t) => {
      const scratch = await makeScratch(t);
      const log = scratch.log();
      await writeCrashedLog(log, arithStart({ samples: 1, epochs: 1 }));
      const db = openBufferDatabase(log, scratch.dataDir);
      bufferSample(db, { ...sample(1), id: '../etc/passwd' }, 'in-progress');
      await db.close({ cleanup: false });
      const before = (await readdir(scratch.root, { recursive: true })).sort();
      const result = await recoverEvalLog(log, { dataDir: scratch.dataDir });
      const recovered = await readLog(result.output);
      assert.deepEqual([...recovered.samples.keys()], []);
      assert.equal(result.samples, 0);
      assert.deepEqual(result.warnings.map((warning) => warning.code), ['SAMPLE_NAME_UNSAFE']);
      assert.ok(!recovered.entryNames.some((name) => name.includes('..')));
      const after = (await readdir(scratch.root, { recursive: true })).sort();
      const added = after.filter((name) => !before.includes(name));
      assert.deepEqual(added, ['logs/run-recovered.eval']);
    });

    it('noEvents: rebuilt samples get events [] (messages still there); flushed samples keep theirs', async (t) => {
      const { scratch, log } = await standardRun(t);
      const result = await recoverEvalLog(log, { dataDir: scratch.dataDir, noEvents: true });
      const recovered = await readLog(result.output);
      const five = recovered.samples.get(sampleKey(5))! as EvalSample & { events_data?: unknown };
      assert.deepEqual(five.events, []);
      assert.equal(five.events_data ?? null, null);
      assert.equal(five.messages!.length, 2);
      assert.equal(recovered.samples.get(sampleKey(1))!.events!.length, 2);
    });

    it('a metric it cannot compute: no results and no reductions, a RESULTS_NOT_RECOMPUTED warning, the log still valid', async (t) => {
      const start = arithStart({ samples: 8, epochs: 1 });
      start.eval.scorers = [{ name: 'match', options: {}, metrics: [{ name: 'tasks/custom_metric', options: {} }] }];
      const { scratch, log } = await standardRun(t, { start });
      const result = await recoverEvalLog(log, { dataDir: scratch.dataDir });
      assert.deepEqual(result.warnings.map((warning) => warning.code), ['RESULTS_NOT_RECOMPUTED']);
      assert.match(result.warnings[0]!.message, /tasks\/custom_metric/);
      const recovered = await readLog(result.output);
      assert.equal(recovered.header.status, 'error');
      assert.equal(recovered.header.results ?? undefined, undefined);
      assert.equal(recovered.reductions, undefined);
      assert.ok(!recovered.entryNames.includes(EntryName.reductions));
      assert.equal(recovered.samples.size, 8);
    });
  });

  describe('refusals', () => {
    it('no buffer at all (a lost local disk): the flushed samples become a complete error log, with BUFFER_MISSING', async (t) => {
      const scratch = await makeScratch(t);
      const log = scratch.log();
      await writeCrashedLog(log, arithStart({ samples: 5, epochs: 1 }), [[sample(1), sample(2)]]);
      const before = await readFile(log);
      await assert.rejects(recoverEvalLog(log, { dataDir: scratch.dataDir, strict: true }), /BUFFER_MISSING|no sample buffer/);
      const result = await recoverEvalLog(log, { dataDir: scratch.dataDir });
      assert.deepEqual([result.source, result.samples, result.flushed, result.cleanedUp], ['none', 2, 2, false]);
      assert.deepEqual(result.warnings.map((warning) => warning.code), ['BUFFER_MISSING']);
      assert.match(result.warnings[0]!.message, /recovering its 2 flushed samples only; 3 of the 5 samples were never recovered/);
      const recovered = await readLog(result.output);
      assert.equal(recovered.header.status, 'error');
      assert.equal(recovered.samples.size, 2);
      assert.equal(recovered.summaries.length, 2);
      assert.ok(recovered.header.results, 'results recomputed from the flushed samples');
      assert.deepEqual(await readFile(log), before, 'the original is unchanged');
      // Again: the buffer is gone and the output exists; recovering again could only lose samples.
      await assert.rejects(recoverEvalLog(log, { dataDir: scratch.dataDir }), (error: unknown) => {
        assert.ok(error instanceof RecoveryNotAvailable);
        assert.match(error.message, /already recovered to .*run-recovered\.eval, and its buffer is gone/);
        return true;
      });
      // --overwrite leaves that earlier recovery alone: the log itself becomes the flushed samples' error log.
      const sibling = await readFile(result.output);
      const overwritten = await recoverEvalLog(log, { dataDir: scratch.dataDir, overwrite: true });
      assert.equal(overwritten.output, log);
      assert.equal((await readLog(log)).samples.size, 2);
      assert.deepEqual(await readFile(result.output), sibling, 'the earlier recovery is untouched');
    });

    it('a finished log → RecoveryNotAvailable (not crashed)', async (t) => {
      const scratch = await makeScratch(t);
      const log = scratch.log();
      const start = arithStart({ samples: 1, epochs: 1 });
      await writeFinishedLog(log, start, [sample(1)], arithHeader(start, 'success', 1));
      await openBufferDatabase(log, scratch.dataDir).close({ cleanup: false });
      await assert.rejects(recoverEvalLog(log, { dataDir: scratch.dataDir }), (error: unknown) => {
        assert.ok(error instanceof RecoveryNotAvailable);
        assert.match(error.message, /not a crashed log \(status success/);
        return true;
      });
    });

    it('not a zip, or one cut inside its start journal → RecoveryNotAvailable with a one-line message', async (t) => {
      const scratch = await makeScratch(t);
      const notZip = scratch.log('not-a-zip.eval');
      await writeFile(notZip, 'this is not a zip archive at all\n'.repeat(50));
      const truncated = scratch.log('truncated.eval');
      await writeCrashedLog(truncated, arithStart({ samples: 2, epochs: 1 }), [[sample(1), sample(2)]]);
      await truncate(truncated, 100);
      for (const log of [notZip, truncated]) {
        await openBufferDatabase(log, scratch.dataDir).close({ cleanup: false });
        await assert.rejects(recoverEvalLog(log, { dataDir: scratch.dataDir }), (error: unknown) => {
          assert.ok(error instanceof RecoveryNotAvailable, String(error));
          assert.match(error.message, /^Log is not recoverable: /);
          assert.ok(!error.message.includes('\n'), 'one line');
          return true;
        });
      }
      assert.ok(!existsSync(scratch.log('truncated-recovered.eval')));
    });

    it('a zip that is no eval log (no start journal) → RecoveryNotAvailable', async (t) => {
      const scratch = await makeScratch(t);
      const { ZipWriter } = await import('../../src/zip/zip-writer.js');
      const log = scratch.log();
      const zip = await ZipWriter.create(log);
      await zip.add('readme.txt', 'hello');
      await zip.close();
      await assert.rejects(recoverEvalLog(log, { dataDir: scratch.dataDir }), RecoveryNotAvailable);
    });

    it('a missing file → NotFoundError (exit 2)', async (t) => {
      const scratch = await makeScratch(t);
      await assert.rejects(recoverEvalLog(scratch.log('nope.eval'), { dataDir: scratch.dataDir }), (error: unknown) => {
        assert.ok(error instanceof NotFoundError);
        assert.equal(error.exitCode, 2, 'a missing input, as a missing directory');
        return true;
      });
    });

    it('the output may not be the log itself (that is what overwrite is for)', async (t) => {
      const { scratch, log } = await standardRun(t);
      const before = await readFile(log);
      for (const output of [log, join(scratch.logsDir, '.', 'run.eval'), `file://${log}`, join(scratch.logsDir, '..', 'logs', 'run.eval')]) {
        await assert.rejects(recoverEvalLog(log, { dataDir: scratch.dataDir, output }), UsageError, output);
      }
      assert.deepEqual(await readFile(log), before, 'not replaced under another spelling of its path');
    });

    describe('successful-log guard', () => {
      async function withSuccessfulSibling(t: TestContext, taskId = 'TaskIdForTests00000000', status: 'success' | 'error' = 'success') {
        const built = await standardRun(t);
        const start = arithStart({ samples: 8, epochs: 1 });
        start.eval.task_id = taskId;
        await writeFinishedLog(built.scratch.log('earlier-success.eval'), start, [sample(1)], arithHeader(start, status, 1));
        return built;
      }

      it('a success log of the same task in the output dir → refused; the crashed log and the buffer untouched, no output', async (t) => {
        const { scratch, log, databasePath } = await withSuccessfulSibling(t);
        const before = await readFile(log);
        for (const overwrite of [false, true]) {
          await assert.rejects(recoverEvalLog(log, { dataDir: scratch.dataDir, overwrite }), (error: unknown) => {
            assert.ok(error instanceof RecoveryNotAvailable);
            assert.match(error.message, /successful log for task 'arith' already exists/);
            return true;
          });
        }
        assert.deepEqual(await readFile(log), before);
        assert.deepEqual((await readdir(scratch.logsDir)).sort(), ['earlier-success.eval', 'run.eval']);
        assert.deepEqual(await databaseFiles(databasePath), [`run.eval.${databasePath.split('.').at(-2)}.db`]);
      });

      it('--output elsewhere bypasses it', async (t) => {
        const { scratch, log } = await withSuccessfulSibling(t);
        const output = join(scratch.root, 'elsewhere', 'recovered.eval');
        const result = await recoverEvalLog(log, { dataDir: scratch.dataDir, output });
        assert.equal(result.output, output);
        assert.equal((await readLog(output)).samples.size, 8);
      });

      it('a success log of another task, or an error log of the same task, does not block', async (t) => {
        const other = await withSuccessfulSibling(t, 'SomeOtherTaskId0000000');
        assert.equal((await recoverEvalLog(other.log, { dataDir: other.scratch.dataDir })).samples, 8);
        const errored = await withSuccessfulSibling(t, 'TaskIdForTests00000000', 'error');
        assert.equal((await recoverEvalLog(errored.log, { dataDir: errored.scratch.dataDir })).samples, 8);
      });
    });
  });

  describe('output path and overwrite', () => {
    it('the default output is the -recovered sibling', async (t) => {
      assert.equal(defaultOutputPath('runs/mylog.eval'), 'runs/mylog-recovered.eval');
      assert.equal(defaultOutputPath('logs/test.eval'), 'logs/test-recovered.eval');
      assert.equal(defaultOutputPath('s3://bucket/logs/x.eval'), 's3://bucket/logs/x-recovered.eval');
      assert.equal(defaultOutputPath('logs/x.json'), 'logs/x.json-recovered');
      const { scratch, log } = await standardRun(t);
      const result = await recoverEvalLog(log, { dataDir: scratch.dataDir });
      assert.equal(result.output, scratch.log('run-recovered.eval'));
      assert.deepEqual((await readdir(scratch.logsDir)).sort(), ['run-recovered.eval', 'run.eval']);
    });

    it("an existing file at the output is replaced only when it is a recovered log of the same run; anything else is the user's and stays", async (t) => {
      const { scratch, log } = await standardRun(t);
      await writeFile(scratch.log('run-recovered.eval'), 'kept on purpose');
      await assert.rejects(recoverEvalLog(log, { dataDir: scratch.dataDir, cleanup: false }), (error: unknown) => {
        assert.ok(error instanceof RecoveryNotAvailable);
        assert.match(error.message, /run-recovered\.eval exists and is not a recovered log of this run: not replaced/);
        return true;
      });
      assert.equal(await readFile(scratch.log('run-recovered.eval'), 'utf8'), 'kept on purpose');
      const other = scratch.log('other-run.eval');
      await writeCrashedLog(other, { ...arithStart({ samples: 2, epochs: 1 }), eval: { ...arithStart({ samples: 2, epochs: 1 }).eval, eval_id: 'other', run_id: 'other' } });
      await recoverEvalLog(other, { dataDir: scratch.dataDir, output: scratch.log('theirs.eval') });
      await assert.rejects(recoverEvalLog(log, { dataDir: scratch.dataDir, cleanup: false, output: scratch.log('theirs.eval') }), /theirs\.eval exists and is not a recovered log of this run/);
      await rm(scratch.log('run-recovered.eval'));
      const first = await recoverEvalLog(log, { dataDir: scratch.dataDir, cleanup: false });
      const again = await recoverEvalLog(log, { dataDir: scratch.dataDir });
      assert.equal(again.output, first.output, 'an earlier recovery of this run is redone in place');
      assert.equal((await readLog(again.output)).samples.size, 8);
    });

    it('usage errors: --overwrite with --output, an output not named .eval, an unknown scheme', async (t) => {
      const { scratch, log } = await standardRun(t);
      await assert.rejects(recoverEvalLog(log, { dataDir: scratch.dataDir, overwrite: true, output: scratch.log('x.eval') }), (error: unknown) => error instanceof UsageError && /takes no --output/.test(error.message));
      await assert.rejects(recoverEvalLog(log, { dataDir: scratch.dataDir, output: scratch.log('out.json') }), (error: unknown) => error instanceof UsageError && /must end in \.eval/.test(error.message));
      await assert.rejects(recoverEvalLog(log, { dataDir: scratch.dataDir, output: 's3x://foo/out.eval' }), (error: unknown) => error instanceof UsageError && /unknown scheme "s3x:\/\/"/.test(error.message));
      assert.deepEqual((await readdir(scratch.logsDir)).sort(), ['run.eval'], 'nothing written, no directory made');
      assert.ok(!existsSync('s3x:'));
    });

    it('overwrite: the original path holds the recovered log, no -recovered file is left, and a valid log is there after every step', async (t) => {
      const { scratch, log, databasePath } = await standardRun(t);
      const local = new LocalStorage();
      const states: string[] = [];
      const check = async (step: string) => states.push(`${step}: ${(await readLog(log)).header.status}`);
      const watching = faultyStorage({
        copy: async (from, to) => {
          await check('before copy');
          await local.copy(from, to);
          await check('after copy');
        },
        delete: async (location) => {
          await local.delete(location);
          if (!location.endsWith('.recovery-lease')) await check('after delete');
        },
      });
      await writeFile(scratch.log('run-recovered.eval'), 'an earlier recovery, kept on purpose');
      const result = await recoverEvalLog(log, { dataDir: scratch.dataDir, overwrite: true, storage: watching });
      assert.equal(result.output, log);
      assert.deepEqual(states, ['before copy: started', 'after copy: error', 'after delete: error']);
      const recovered = await readLog(log);
      assert.equal(recovered.header.status, 'error');
      assert.equal(recovered.samples.size, 8);
      assert.deepEqual((await readdir(scratch.logsDir)).sort(), ['run-recovered.eval', 'run.eval'], 'no staging file left');
      assert.equal(await readFile(scratch.log('run-recovered.eval'), 'utf8'), 'an earlier recovery, kept on purpose', 'a file of that name is not staging');
      assert.equal(existsSync(databasePath), false, 'cleaned up after the move');
    });

    it('overwrite interrupted at the copy: the crashed log is intact, nothing staged is left, the buffer kept', async (t) => {
      const { scratch, log, databasePath } = await standardRun(t);
      const before = await readFile(log);
      const failing: Storage = faultyStorage({
        copy: async () => {
          throw new StorageError('injected: copy failed');
        },
      });
      await assert.rejects(recoverEvalLog(log, { dataDir: scratch.dataDir, overwrite: true, storage: failing }), /injected: copy failed/);
      assert.deepEqual(await readFile(log), before);
      assert.deepEqual(await readdir(scratch.logsDir), ['run.eval'], 'the staged copy is removed');
      assert.ok(existsSync(databasePath), 'no cleanup after a failure');
      // Running it again finishes the job.
      const result = await recoverEvalLog(log, { dataDir: scratch.dataDir, overwrite: true });
      assert.equal(result.output, log);
      assert.deepEqual(await readdir(scratch.logsDir), ['run.eval']);
    });

    it('overwrite removes the staging copies of this log that SIGKILLed recoveries left, and nothing else', async (t) => {
      const { scratch, log } = await standardRun(t);
      const dead = [scratch.log('.run.eval.recovering-0badc0de'), scratch.log('.run.eval.recovering-1badc0de')];
      for (const path of dead) await writeFile(path, 'half a staging copy');
      const others = [scratch.log('.other.eval.recovering-0badc0de'), scratch.log('.run.eval.recovering')];
      for (const path of others) await writeFile(path, 'not a staging copy of run.eval');
      await recoverEvalLog(log, { dataDir: scratch.dataDir, overwrite: true });
      assert.deepEqual((await readdir(scratch.logsDir)).sort(), ['.other.eval.recovering-0badc0de', '.run.eval.recovering', 'run.eval']);
    });
  });

  describe('cleanup', () => {
    it('cleanup: false keeps the DB files; a second recovery from them gives the same samples', async (t) => {
      const { scratch, log, databasePath } = await standardRun(t);
      const first = await recoverEvalLog(log, { dataDir: scratch.dataDir, cleanup: false });
      assert.equal(first.cleanedUp, false);
      assert.ok(existsSync(databasePath));
      const again = await recoverEvalLog(log, { dataDir: scratch.dataDir, output: scratch.log('again.eval') });
      assert.deepEqual([...(await readLog(again.output)).samples.keys()].sort(), [...(await readLog(first.output)).samples.keys()].sort());
      assert.equal(existsSync(databasePath), false);
    });

    it('a failure while writing leaves the buffer in place', async (t) => {
      const { scratch, log, databasePath } = await standardRun(t);
      const failing = faultyStorage({
        writeFromFile: async () => {
          throw new StorageError('injected: disk full');
        },
      });
      await assert.rejects(recoverEvalLog(log, { dataDir: scratch.dataDir, storage: failing }), /disk full/);
      assert.ok(existsSync(databasePath));
      assert.ok(!existsSync(scratch.log('run-recovered.eval')));
    });
  });

  describe('which database', () => {
    it('two dead-pid DBs for the log: the newer one is used (and only it is cleaned up)', async (t) => {
      const scratch = await makeScratch(t);
      const log = scratch.log();
      await writeCrashedLog(log, arithStart({ samples: 12, epochs: 1 }));
      const older = openBufferDatabase(log, scratch.dataDir);
      bufferSample(older, sample(1), 'completed');
      await older.close({ cleanup: false });
      const newer = openBufferDatabase(log, scratch.dataDir);
      bufferSample(newer, sample(10), 'completed');
      bufferSample(newer, sample(11), 'in-progress');
      await newer.close({ cleanup: false });
      const hourAgo = new Date(Date.now() - 3600_000);
      await utimes(older.path, new Date(Date.now() - 7200_000), new Date(Date.now() - 7200_000));
      await utimes(newer.path, hourAgo, hourAgo);

      const result = await recoverEvalLog(log, { dataDir: scratch.dataDir });
      assert.deepEqual([...(await readLog(result.output)).samples.keys()].sort(), ['11:1', 's-010:1']);
      assert.deepEqual([result.completed, result.inProgress], [1, 1]);
      assert.ok(existsSync(older.path));
      assert.ok(!existsSync(newer.path));
    });

    it('a DB whose pid is alive belongs to a running eval: refused as running, left alone', async (t) => {
      const scratch = await makeScratch(t);
      const log = scratch.log();
      await writeCrashedLog(log, arithStart({ samples: 2, epochs: 1 }));
      // Held open, as a running eval holds its DB.
      const live = openBufferDatabase(log, scratch.dataDir, process.pid);
      t.after(() => live.close({ cleanup: false }));
      bufferSample(live, sample(1), 'in-progress');
      await assert.rejects(recoverEvalLog(log, { dataDir: scratch.dataDir }), (error: unknown) => {
        assert.ok(error instanceof RecoveryNotAvailable);
        assert.match(error.message, new RegExp(`still running: .*process ${process.pid} holds a lock on it \\(/proc/locks\\)`));
        return true;
      });
      assert.ok(existsSync(live.path));
      assert.deepEqual(await readdir(scratch.logsDir), ['run.eval']);
    });

    it('force recovers from a buffer that looks live, and never deletes it', async (t) => {
      const scratch = await makeScratch(t);
      const log = scratch.log();
      await writeCrashedLog(log, arithStart({ samples: 2, epochs: 1 }));
      const live = openBufferDatabase(log, scratch.dataDir, process.pid);
      t.after(() => live.close({ cleanup: false }));
      bufferSample(live, sample(1), 'completed');
      bufferSample(live, sample(2), 'in-progress');
      const result = await recoverEvalLog(log, { dataDir: scratch.dataDir, force: true });
      assert.deepEqual([result.samples, result.completed, result.inProgress, result.source], [2, 1, 1, 'database']);
      assert.equal(result.cleanedUp, false, 'cleanup is ignored for a live-looking buffer');
      assert.ok(existsSync(live.path));
      assert.equal((await readLog(result.output)).samples.size, 2);
    });

    it('a newer dead DB beside an older live one is recovered', async (t) => {
      const scratch = await makeScratch(t);
      const log = scratch.log();
      await writeCrashedLog(log, arithStart({ samples: 2, epochs: 1 }));
      const live = openBufferDatabase(log, scratch.dataDir, process.pid);
      await live.close({ cleanup: false });
      const then = new Date(Date.now() - 3600_000);
      await utimes(live.path, then, then);
      const dead = openBufferDatabase(log, scratch.dataDir);
      bufferSample(dead, sample(2), 'completed');
      await dead.close({ cleanup: false });
      const result = await recoverEvalLog(log, { dataDir: scratch.dataDir });
      assert.equal(result.samples, 1);
      assert.ok(existsSync(live.path), "the live process's DB is not touched");
    });
  });
});
