/**
 * Conformance: every `.eval` that real Inspect wrote opens, and reads as the fixtures'
 * READMEs record. Runs on CI without skipping.
 */
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EvalLogReader } from '../../src/eval/eval-log-reader.js';
import { EntryName, sampleEntryName } from '../../src/eval/entry-names.js';
import { runCli } from '../support/cli.js';
import { conformanceSuiteOptions, inspectFixture, inspectFixtures } from '../support/shared-fixtures.js';

function evalFilesUnder(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) return evalFilesUnder(path);
    return name.endsWith('.eval') ? [path] : [];
  });
}

const expected: Record<string, { status: string; samples: number; total: number; summaries: number }> = {
  completed: { status: 'success', samples: 20, total: 20, summaries: 20 },
  'crashed-filestore': { status: 'started', samples: 4, total: 20, summaries: 4 },
  'crashed-database': { status: 'started', samples: 4, total: 20, summaries: 4 },
  large: { status: 'started', samples: 1563, total: 2000, summaries: 1563 },
  'recovered-by-inspect': { status: 'error', samples: 10, total: 20, summaries: 10 },
};

describe('Inspect fixtures', conformanceSuiteOptions(), () => {
  const files = () => evalFilesUnder(inspectFixtures);

  it('finds every fixture log', () => {
    assert.equal(files().length, 6);
  });

  it('opens every log and reads its header, summaries and samples as the READMEs record', async () => {
    for (const file of files()) {
      const folder = file.slice(inspectFixtures.length + 1).split('/')[0]!;
      const want = expected[folder];
      assert.ok(want, `no expectation for ${folder}`);
      const reader = await EvalLogReader.open(file);
      try {
        const header = await reader.header();
        assert.equal(header.status, want.status, file);
        assert.equal(reader.finished, want.status !== 'started', file);
        assert.equal(header.eval.task_file, 'tasks/crash_tasks.py');
        const summaries = await reader.summaries();
        assert.equal(summaries.length, want.summaries, file);
        const entries = [...reader.sampleEntries()];
        assert.equal(entries.length, want.samples, file);
        // Every summary names a sample that is present, and every sample decodes.
        const names = new Set(entries.map((entry) => entry.name));
        for (const summary of summaries) assert.ok(names.has(sampleEntryName(summary.id, summary.epoch)), `${file}: ${summary.id}`);
        if (want.samples <= 20) {
          for await (const sample of reader.samples()) {
            assert.ok(names.has(sampleEntryName(sample.id, sample.epoch)));
            assert.ok(Array.isArray(sample.events) && sample.events.length > 0);
          }
        }
      } finally {
        await reader.close();
      }
    }
  });

  it('reads the crashed logs journal: start.json and no header, with the flushed samples in order', async () => {
    const reader = await EvalLogReader.open(inspectFixture('crashed-filestore', '2026-11-22T13-41-38-00-00_arith_Uot4jnS8UzLQ6p656KMACS.eval'));
    try {
      assert.equal(reader.zip.has(EntryName.header), false);
      const start = await reader.start();
      assert.equal(start.version, 2);
      assert.deepEqual(
        [...reader.sampleEntries()].map((entry) => entry.name),
        ['samples/s-004_epoch_1.json', 'samples/1_epoch_1.json', 'samples/s-002_epoch_1.json', 'samples/3_epoch_1.json'],
      );
      assert.deepEqual(
        (await reader.summaries()).map((summary) => summary.id),
        ['s-004', 1, 's-002', 3],
      );
    } finally {
      await reader.close();
    }
  });

  it('show --json reports status and sample counts for every fixture log', () => {
    for (const file of files()) {
      const want = expected[file.slice(inspectFixtures.length + 1).split('/')[0]!]!;
      const result = runCli(['show', file, '--json']);
      assert.equal(result.status, 0, result.stderr);
      const status = JSON.parse(result.stdout) as Record<string, unknown>;
      assert.equal(status.status, want.status);
      assert.equal(status.samples, want.samples);
      assert.equal(status.total_samples, want.total);
      assert.equal(status.remaining, want.total - want.samples + (status.errors as number));
      assert.equal(status.task, file.includes('arith-fast') ? 'arith_fast' : 'arith');
    }
  });

  it('show prints a status card with progress', () => {
    const result = runCli(['show', inspectFixture('crashed-database', '2026-11-22T13-41-49-00-00_arith_2iJZ4N7bW5JUPwpxW3MyVc.eval')]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^Status\s+started \(still running, or crashed\)$/m);
    assert.match(result.stdout, /^Samples\s+4\/20 \(20\.0%\)$/m);
    assert.match(result.stdout, /^Errors\s+0$/m);
    assert.match(result.stdout, /^Remaining\s+16 \(0 errored, 16 not in the log\)$/m);
    assert.match(result.stdout, /^Model\s+mockllm\/model$/m);
  });
});
