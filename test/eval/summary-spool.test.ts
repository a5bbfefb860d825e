import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LastOccurrence } from '../../src/eval/last-occurrence.js';
import type { EvalSampleSummary } from '../../src/eval/schemas.js';
import { SummarySpool } from '../../src/eval/summary-spool.js';
import { parsePythonJson } from '../../src/json/python-json.js';

function summary(id: string | number, epoch: number, extra: Record<string, unknown> = {}): EvalSampleSummary {
  return { id, epoch, input: `input ${id}`, target: 't', scores: {}, ...extra } as EvalSampleSummary;
}

async function arrayOf(spool: SummarySpool): Promise<unknown> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of spool.json()) chunks.push(chunk);
  return parsePythonJson(Buffer.concat(chunks).toString('utf8'), 'summaries.json');
}

describe('LastOccurrence', () => {
  it('settles repeated keys exactly, and keys that only share a hash', () => {
    for (const hash of [undefined, () => 7]) {
      const keys = ['a', 'b', 'a', 'c', 'b', 'd'];
      const ledger = new LastOccurrence(hash);
      for (const key of keys) ledger.add(key);
      const unsettled = ledger.unsettled();
      // With the real hash only the repeats need their keys; with a constant one, everything.
      assert.deepEqual([...unsettled], hash ? [0, 1, 2, 3, 4, 5] : [0, 1, 2, 4]);
      for (const position of unsettled) ledger.settle(position, keys[position]!);
      assert.deepEqual(
        keys.map((key, position) => ledger.isLast(position, () => key)),
        [false, false, true, true, true, true],
      );
    }
  });

  it('needs no key read back for 200,000 distinct keys', () => {
    const ledger = new LastOccurrence();
    for (let index = 0; index < 200_000; index++) ledger.add(`samples/${index}_epoch_1.json`);
    assert.equal(ledger.unsettled().size, 0);
    assert.equal(ledger.isLast(123, () => assert.fail('no key should be asked for')), true);
  });
});

describe('SummarySpool', () => {
  it('keeps the latest summary of each (id, epoch), in the order the latest ones came', async () => {
    const spool = await SummarySpool.create();
    try {
      spool.append(summary('s1', 1, { attempt: 1 }));
      spool.append(summary('s2', 1));
      spool.append(summary(1, 1));
      spool.append(summary('s1', 1, { attempt: 2, score: Number.NaN }));
      spool.append(summary('1', 1));
      spool.append(summary('s1', 2));
      const rows = (await arrayOf(spool)) as (EvalSampleSummary & { attempt?: number; score?: number })[];
      assert.deepEqual(
        rows.map((row) => [row.id, row.epoch, row.attempt]),
        [
          ['s2', 1, undefined],
          [1, 1, undefined],
          ['s1', 1, 2],
          ['1', 1, undefined],
          ['s1', 2, undefined],
        ],
      );
      assert.ok(Number.isNaN(rows[2]!.score), 'NaN survives the spool');
    } finally {
      await spool.close();
    }
  });

  it('streams an empty array when nothing was added', async () => {
    const spool = await SummarySpool.create();
    try {
      assert.deepEqual(await arrayOf(spool), []);
    } finally {
      await spool.close();
    }
  });
});
