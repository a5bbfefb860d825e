/**
 * Conformance: recovering the two crashed Inspect fixtures gives what Inspect's own
 * `inspect log recover` gave (recovered-by-inspect/): the same (id, epoch) set, scores, errors,
 * message and event counts, and results; plus the repairs where Inspect loses data.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, rm, stat } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { EvalLogReader } from '../../src/eval/eval-log-reader.js';
import type { EvalSample } from '../../src/eval/schemas.js';
import { recoverEvalLog, type RecoveryResult } from '../../src/recover/recover-eval-log.js';
import { listingJson, recoverableEvalLogs } from '../../src/recover/recoverable-logs.js';
import { databaseLogName, filestoreLogName, layOutCrashedFixtures, type CrashedLayout } from '../support/crashed-layout.js';
import { pythonReadsZip } from '../support/python.js';
import { conformanceSuiteOptions, inspectFixture } from '../support/shared-fixtures.js';

interface Digest {
  scores: unknown;
  error: string | null;
  messages: number;
  events: number;
}

async function readRecovered(path: string) {
  const reader = await EvalLogReader.open(path);
  try {
    const samples = new Map<string, EvalSample>();
    for await (const sample of reader.samples()) samples.set(`${sample.id}:${sample.epoch}`, sample);
    return { header: await reader.header(), summaries: await reader.summaries(), samples, reductions: await reader.reductions() };
  } finally {
    await reader.close();
  }
}

function digest(sample: EvalSample): Digest {
  return {
    scores: sample.scores ?? null,
    error: sample.error?.message ?? null,
    messages: sample.messages?.length ?? 0,
    events: sample.events?.length ?? 0,
  };
}

const sha256 = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

describe('recovery matches Inspect on its own crashed fixtures', conformanceSuiteOptions(), () => {
  let layout: CrashedLayout;
  before(async () => {
    layout = await layOutCrashedFixtures();
  });
  after(() => rm(layout.root, { recursive: true, force: true }));

  it('lists both crashed logs with the counts Inspect lists', async () => {
    const listed = await recoverableEvalLogs(layout.logsDir, { dataDir: layout.dataDir });
    const bySource = Object.fromEntries(listed.map((log) => [log.source, log]));
    const inspectList = JSON.parse(await readFile(inspectFixture('recovered-by-inspect', 'list.json'), 'utf8')) as Record<string, unknown>[];
    for (const expected of inspectList) {
      const ours = bySource[expected.source as string]!;
      assert.ok(ours.name.endsWith(String(expected.name).replace('file:///logs/', '/')), ours.name);
      const json = listingJson(ours);
      for (const key of ['task', 'total_samples', 'flushed_samples', 'completed_samples', 'in_progress_samples', 'source']) {
        assert.equal(json[key], expected[key], key);
      }
      assert.equal(ours.status, 'crashed');
    }
  });

  for (const [source, logName] of [
    ['database', databaseLogName],
    ['filestore', filestoreLogName],
  ] as const) {
    describe(`from the ${source}`, () => {
      let result: RecoveryResult;
      let originalHash: string;
      const inspectRecovered = () => inspectFixture('recovered-by-inspect', logName.replace('.eval', '-recovered.eval'));

      before(async () => {
        originalHash = await sha256(layout[source === 'database' ? 'databaseLog' : 'filestoreLog']);
        result = await recoverEvalLog(layout[source === 'database' ? 'databaseLog' : 'filestoreLog'], { dataDir: layout.dataDir, cleanup: false });
      });

      it('reports what it recovered', () => {
        assert.equal(result.source, source);
        assert.deepEqual(
          [result.samples, result.flushed, result.completed, result.inProgress, result.errors, result.duplicates],
          [10, 4, 2, 4, 4, 0],
        );
        assert.deepEqual(result.warnings, []);
      });

      it('writes the same samples, scores, errors, message and event counts as Inspect', async () => {
        const ours = await readRecovered(result.output);
        const theirs = await readRecovered(inspectRecovered());
        assert.deepEqual([...ours.samples.keys()].sort(), [...theirs.samples.keys()].sort());
        for (const [key, sample] of theirs.samples) assert.deepEqual(digest(ours.samples.get(key)!), digest(sample), key);
        assert.equal(ours.header.status, 'error');
        assert.deepEqual(ours.header.error, theirs.header.error);
        assert.deepEqual(ours.header.results, theirs.header.results);
        // Same eval spec (Inspect adds pydantic defaults such as solver_args_passed on rewrite).
        for (const key of ['task', 'task_id', 'run_id', 'created', 'model', 'dataset', 'config', 'scorers'] as const) {
          assert.deepEqual(ours.header.eval[key], theirs.header.eval[key], key);
        }
        assert.deepEqual(ours.reductions?.[0]?.samples.map((s) => [s.sample_id, s.value]).sort(), theirs.reductions?.[0]?.samples.map((s) => [s.sample_id, s.value]).sort());
      });

      it('keeps what Inspect truncates: full input from sample_init, errors in summaries', async () => {
        const ours = await readRecovered(result.output);
        const theirs = await readRecovered(inspectRecovered());
        const longText = (sample: EvalSample) => JSON.stringify(sample.input).length;
        assert.ok(longText(ours.samples.get('s-008:1')!) > longText(theirs.samples.get('s-008:1')!) + 3000, 's-008 input is whole');
        assert.ok(!JSON.stringify(ours.samples.get('s-008:1')!.input).includes('(content truncated)'));
        assert.ok(JSON.stringify(theirs.samples.get('s-008:1')!.input).includes('(content truncated)'));
        for (const summary of ours.summaries.filter((row) => ['7', '9', 's-006', 's-010'].includes(String(row.id)))) {
          assert.equal(summary.error, 'CancelledError()');
          assert.equal(summary.completed, true);
        }
      });

      it('leaves the crashed log untouched and writes a file Python zipfile opens', async () => {
        assert.equal(await sha256(layout[source === 'database' ? 'databaseLog' : 'filestoreLog']), originalHash);
        assert.equal(pythonReadsZip(result.output).entries, 10 + 5);
        assert.ok((await stat(result.output)).size > 10_000);
      });
    });
  }
});
