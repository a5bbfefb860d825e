import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { EvalLogReader } from '../../src/eval/eval-log-reader.js';
import { EvalLogWriter } from '../../src/eval/eval-log-writer.js';
import { EntryName, journalSummaryName } from '../../src/eval/entry-names.js';
import { summarizeSample } from '../../src/eval/sample-summary.js';
import { arithHeader, arithSample, arithStart } from '../support/arith-log.js';
import { pythonJsonField, pythonReadsZip } from '../support/python.js';
import { repoRoot } from '../support/shared-fixtures.js';

async function scratch(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'eval-writer-'));
  t.after(() => rm(directory, { recursive: true, force: true }));
  return directory;
}

async function sampleCount(path: string): Promise<number> {
  const reader = await EvalLogReader.open(path);
  try {
    return reader.sampleCount();
  } finally {
    await reader.close();
  }
}

describe('EvalLogWriter', () => {
  it('journals a flush of thousands of summaries that reads back row by row, in order, streamed', async (t) => {
    const log = join(await scratch(t), 'big-flush.eval');
    const writer = await EvalLogWriter.create(log, arithStart({ samples: 3000, epochs: 1 }));
    t.after(() => writer.close());
    const rows = 3000;
    for (let index = 1; index <= rows; index++) {
      await writer.addSummary({ ...summarizeSample(arithSample(index, 1)), input: `question ${index} ${'x'.repeat(600)}` });
    }
    await writer.flush();
    const reader = await EvalLogReader.open(log);
    t.after(() => reader.close());
    const [entry] = reader.journalSummaryEntries();
    assert.ok(entry!.uncompressedSize > 1024 * 1024, `the entry is ${entry!.uncompressedSize} bytes: past the streaming threshold`);
    const ids: unknown[] = [];
    for await (const row of reader.summaryRows()) ids.push(row.id);
    assert.deepEqual(ids, Array.from({ length: rows }, (_, index) => arithSample(index + 1, 1).id));
  });

  it('publishes the start journal at once: a readable, started log with no samples', async (t) => {
    const log = join(await scratch(t), 'run.eval');
    const writer = await EvalLogWriter.create(log, arithStart({ samples: 4, epochs: 1 }));
    t.after(() => writer.close());
    const reader = await EvalLogReader.open(log);
    t.after(() => reader.close());
    const header = await reader.header();
    assert.equal(header.status, 'started');
    assert.equal(header.eval.task, 'arith');
    assert.deepEqual(header.eval.a_field_from_a_future_inspect, { kept: true });
    assert.equal(reader.sampleCount(), 0);
  });

  it('makes samples visible only at a flush, each flush adding one journal summaries entry', async (t) => {
    const log = join(await scratch(t), 'run.eval');
    const writer = await EvalLogWriter.create(log, arithStart({ samples: 4, epochs: 1 }));
    t.after(() => writer.close());
    await writer.addSample(arithSample(1, 1));
    await writer.addSample(arithSample(2, 1));
    assert.equal(await sampleCount(log), 0, 'not flushed yet');
    await writer.flush();
    assert.equal(await sampleCount(log), 2);
    await writer.addSample(arithSample(3, 1, { correct: false }));
    await writer.flush();
    await writer.flush(); // nothing pending: no empty journal entry

    const reader = await EvalLogReader.open(log);
    t.after(() => reader.close());
    assert.deepEqual(
      reader.journalSummaryEntries().map((entry) => entry.name),
      [journalSummaryName(1), journalSummaryName(2)],
    );
    const summaries = await reader.summaries();
    assert.deepEqual(
      summaries.map((row) => [row.id, row.epoch, row.completed, row.message_count]),
      [
        [1, 1, true, 2],
        ['s-002', 1, true, 2],
        [3, 1, true, 2],
      ],
    );
    assert.equal((await reader.header()).status, 'started');
    assert.equal(reader.zip.has(EntryName.summaries), false);
  });

  it('finishes with summaries.json, reductions.json and header.json last, readable by Python', async (t) => {
    const directory = await scratch(t);
    const log = join(directory, 'run.eval');
    const start = arithStart({ samples: 2, epochs: 1 });
    const writer = await EvalLogWriter.create(log, start);
    await writer.addSample(arithSample(1, 1));
    await writer.flush();
    await writer.addSample(arithSample(2, 1, { score: Number.NaN }));
    await writer.finish({
      header: arithHeader(start, 'success', Number.NaN),
      reductions: [{ scorer: 'match', samples: [{ value: 1, sample_id: 1 }, { value: Number.NaN, sample_id: 's-002' }] }],
    });

    const reader = await EvalLogReader.open(log);
    t.after(() => reader.close());
    const names = reader.zip.entries.map((entry) => entry.name);
    assert.deepEqual(names.slice(-3), [EntryName.summaries, EntryName.reductions, EntryName.header]);
    assert.ok(names.includes(journalSummaryName(2)), 'the last batch is journaled too');
    const header = await reader.header();
    assert.equal(header.status, 'success');
    assert.ok(Number.isNaN((header.results!.scores![0]!.metrics as { accuracy: { value: number } }).accuracy.value));
    const summaries = await reader.summaries();
    assert.equal(summaries.length, 2);
    assert.ok(Number.isNaN(summaries[1]!.scores!.match!.value as number));
    // Inspect reads the bare NaN token, and Python's zipfile accepts the archive.
    assert.equal(pythonReadsZip(log).entries, names.length);
    assert.equal(pythonJsonField(log, EntryName.header, "value['results']['scores'][0]['metrics']['accuracy']['value']"), 'nan');
    assert.equal(pythonJsonField(log, EntryName.reductions, "value[0]['samples'][1]['value']"), 'nan');
    // Atomic replacement leaves no temporary files beside the log.
    assert.deepEqual(await readdir(directory), ['run.eval']);
  });

  it('refuses to write after close', async (t) => {
    const log = join(await scratch(t), 'run.eval');
    const writer = await EvalLogWriter.create(log, arithStart({ samples: 1, epochs: 1 }));
    await writer.close();
    await assert.rejects(writer.addSample(arithSample(1, 1)), { code: 'WRITER_CLOSED' });
  });

  it('leaves a whole log with every flushed sample when the writing process is SIGKILLed', async (t) => {
    const directory = await scratch(t);
    const log = join(directory, 'killed.eval');
    const script = join(directory, 'writer.mjs');
    const writerModule = pathToFileURL(join(repoRoot, 'dist/src/eval/eval-log-writer.js')).href;
    const fixturesModule = pathToFileURL(join(repoRoot, 'dist/test/support/arith-log.js')).href;
    await import('node:fs/promises').then(({ writeFile }) =>
      writeFile(
        script,
        `import { EvalLogWriter } from ${JSON.stringify(writerModule)};
import { arithSample, arithStart } from ${JSON.stringify(fixturesModule)};
const writer = await EvalLogWriter.create(process.argv[2], arithStart({ samples: 100000, epochs: 1 }));
for (let i = 1; ; i++) {
  await writer.addSample(arithSample(i, 1));
  await writer.flush();
  process.stdout.write(i + '\\n');
}
`,
      ),
    );
    // TMPDIR keeps the killed writer's working copy inside the scratch directory.
    const child = spawn(process.execPath, [script, log], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TMPDIR: directory } });
    let flushed = 0;
    for await (const line of createInterface({ input: child.stdout! })) {
      flushed = Number(line);
      if (flushed >= 40) break;
    }
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    const before = await readFile(log);
    const samples = await sampleCount(log);
    assert.ok(samples >= flushed, `${samples} samples on disk, ${flushed} reported flushed`);
    assert.equal(pythonReadsZip(log).entries > samples, true);
    assert.deepEqual(await readFile(log), before, 'reading never changes the log');
  });
});
