/**
 * evalLogStart: a start Inspect reads, from what a TypeScript harness knows, with the keys of
 * Inspect's own start (the crashed-database fixture's) in Inspect's order; and Inspect's log names.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LogStartError } from '../../src/errors.js';
import { EvalLogReader } from '../../src/eval/eval-log-reader.js';
import { evalLogStart, inspectLogFileName } from '../../src/eval/log-start.js';
import { LogStartSchema } from '../../src/eval/schemas.js';
import { databaseLogName } from '../support/crashed-layout.js';
import { conformanceSuiteOptions, inspectFixture } from '../support/shared-fixtures.js';

const input = {
  task: 'arith',
  model: 'openai/gpt-4o-mini',
  sampleIds: [1, 's-002', 3],
  epochs: 2,
  taskArgs: { difficulty: 'easy' },
  scorers: [{ name: 'match', metrics: ['accuracy', 'inspect_ai/stderr'] }],
  solvers: [{ solver: 'generate', params: { tool_calls: 'loop' } }],
};

describe('evalLogStart', () => {
  it('fills the ids, the time, the dataset size and the defaulted fields; the result passes the start schema', () => {
    const start = evalLogStart(input);
    LogStartSchema.parse(start);
    const spec = start.eval;
    for (const id of [spec.eval_id, spec.run_id, spec.task_id]) assert.match(id!, /^[A-Za-z0-9]{22}$/);
    assert.notEqual(spec.eval_id, evalLogStart(input).eval.eval_id, 'fresh ids each time');
    assert.match(spec.created, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$/);
    assert.ok(Math.abs(Date.parse(spec.created) - Date.now()) < 5000);
    assert.deepEqual(spec.dataset, { samples: 3, sample_ids: [1, 's-002', 3], shuffled: false });
    assert.deepEqual(spec.config, { epochs: 2 });
    assert.deepEqual(spec.task_args, { difficulty: 'easy' });
    assert.deepEqual(spec.scorers, [
      { name: 'match', options: {}, metrics: [{ name: 'inspect_ai/accuracy', options: {} }, { name: 'inspect_ai/stderr', options: {} }], metadata: {} },
    ]);
    assert.deepEqual(start.plan, { name: 'plan', steps: [{ solver: 'generate', params: { tool_calls: 'loop' }, params_passed: { tool_calls: 'loop' } }], config: {} });
  });

  it('writes the keys of Inspect\'s own start in the order Inspect writes them', conformanceSuiteOptions(), async () => {
    const reader = await EvalLogReader.open(inspectFixture('crashed-database', databaseLogName));
    const inspect = await reader.start();
    await reader.close();
    const ours = Object.keys(evalLogStart({ ...input, taskFile: 'arith.py' }).eval);
    const theirs = Object.keys(inspect.eval).filter((key) => ours.includes(key));
    assert.deepEqual(ours.filter((key) => theirs.includes(key)), theirs);
    assert.deepEqual(ours.filter((key) => !Object.keys(inspect.eval).includes(key)), [], 'no key Inspect does not write');
  });

  it('refuses what Inspect could not read, naming the field', () => {
    assert.throws(() => evalLogStart({ ...input, created: 'yesterday' }), (error: unknown) => error instanceof LogStartError && /eval\.created is not an ISO-8601 time/.test(error.message));
    assert.throws(() => evalLogStart({ ...input, model: 7 as unknown as string }), (error: unknown) => error instanceof LogStartError && /eval\.model/.test(error.message));
  });

  it('names a log as Inspect does: its creation time with : and + as -, the task, the task id', () => {
    const start = evalLogStart({ ...input, created: '2026-11-22T13:41:49+00:00', taskId: '2iJZ4N7bW5JUPwpxW3MyVc' });
    assert.equal(inspectLogFileName(start), databaseLogName);
  });
});
