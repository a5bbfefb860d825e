/** The score spool: scores kept on disk, read back grouped by sample id, exactly. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, it } from 'node:test';
import { ScoreSpool, type SampleScore, type SampleScores, type ScoreSpoolOptions } from '../../src/recover/score-spool.js';
import type { SampleId } from '../../src/sample-ref.js';

async function withSpool<T>(samples: [SampleId, Record<string, SampleScore | null>][], use: (spool: ScoreSpool) => Promise<T>, options?: ScoreSpoolOptions): Promise<T> {
  const spool = await ScoreSpool.create(options);
  try {
    for (const [id, scores] of samples) spool.append(id, scores);
    return await use(spool);
  } finally {
    await spool.close();
  }
}

async function grouped(spool: ScoreSpool, name: string): Promise<SampleScores[]> {
  const groups: SampleScores[] = [];
  for await (const batch of spool.bySample(name)) {
    assert.ok(batch.length > 0, 'no empty batches');
    groups.push(...batch);
  }
  return groups;
}

const values = (groups: SampleScores[]) => groups.map(({ id, scores }) => [id, scores.map((score) => score.value)]);

/** Samples 1..n, `epochs` times over: the ids repeat across epochs. */
const epochs = (n: number, count: number) =>
  Array.from({ length: count }, (_, epoch) => Array.from({ length: n }, (_, i): [SampleId, Record<string, SampleScore>] => [i + 1, { match: { value: epoch * 10 + i + 1 } }])).flat();

describe('ScoreSpool', () => {
  it('round-trips NaN and ±Infinity values, answer, explanation and metadata; drops the rest of a score', async () => {
    const score = { value: Number.NaN, answer: 'A', explanation: 'why', metadata: { big: 2n ** 64n, inf: Number.POSITIVE_INFINITY }, history: [{ value: 1 }] };
    await withSpool(
      [
        [1, { match: score }],
        [2, { match: { value: Number.POSITIVE_INFINITY } }],
        [3, { match: { value: Number.NEGATIVE_INFINITY } }],
      ],
      async (spool) => {
        const groups = await grouped(spool, 'match');
        assert.deepEqual(groups[0], { id: 1, scores: [{ value: Number.NaN, answer: 'A', explanation: 'why', metadata: { big: 2n ** 64n, inf: Number.POSITIVE_INFINITY } }] });
        assert.deepEqual(values(groups.slice(1)), [[2, [Number.POSITIVE_INFINITY]], [3, [Number.NEGATIVE_INFINITY]]]);
      },
    );
  });

  it('groups ids repeated across epochs, in order of first appearance, epochs in order', async () => {
    await withSpool(epochs(3, 3), async (spool) => {
      assert.equal(spool.size, 9);
      assert.deepEqual(values(await grouped(spool, 'match')), [[1, [1, 11, 21]], [2, [2, 12, 22]], [3, [3, 13, 23]]]);
    });
  });

  it('the string id "1" and the number 1 are different samples; the number 1 and the bigint 1n are one', async () => {
    const samples: [SampleId, Record<string, SampleScore>][] = [[1, { match: { value: 1 } }], ['1', { match: { value: 2 } }], [1n, { match: { value: 3 } }], ['1', { match: { value: 4 } }]];
    await withSpool(samples, async (spool) => {
      assert.deepEqual(values(await grouped(spool, 'match')), [[1, [1, 3]], ['1', [2, 4]]]);
    });
  });

  it('hash collisions are settled exactly by reading the keys back', async () => {
    const samples: [SampleId, Record<string, SampleScore>][] = [[1, { match: { value: 1 } }], ['1', { match: { value: 2 } }], ['a', { match: { value: 3 } }], [1, { match: { value: 4 } }], ['b', { match: { value: 5 } }]];
    for (const hash of [() => 0, (key: string) => key.length]) {
      await withSpool(samples, async (spool) => {
        assert.deepEqual(values(await grouped(spool, 'match')), [[1, [1, 4]], ['1', [2]], ['a', [3]], ['b', [5]]]);
      }, { hash });
    }
    // Every id distinct, every hash equal: one group each.
    await withSpool(epochs(50, 1), async (spool) => {
      assert.deepEqual(values(await grouped(spool, 'match')), epochs(50, 1).map(([id, scores]) => [id, [scores.match!.value]]));
    }, { hash: () => 7 });
  });

  it('a score name: only samples with that score, each id first given where it first has one', async () => {
    const samples: [SampleId, Record<string, SampleScore | null>][] = [
      [1, { match: { value: 1 } }],
      [2, { judge: { value: 'C' }, match: null }],
      [3, { match: { value: 3 }, judge: { value: 'I' } }],
      [2, { judge: { value: 'P' }, match: { value: 2 } }],
    ];
    await withSpool(samples, async (spool) => {
      assert.deepEqual(spool.scoreNames, ['match', 'judge']);
      assert.deepEqual(values(await grouped(spool, 'match')), [[1, [1]], [3, [3]], [2, [2]]]);
      assert.deepEqual(values(await grouped(spool, 'judge')), [[2, ['C', 'P']], [3, ['I']]]);
    });
  });

  it('notes score names with list or dict values', async () => {
    await withSpool([[1, { match: { value: [1, 0] }, judge: { value: 1 } }], [2, { judge: { value: null } }]], async (spool) => {
      assert.equal(spool.hasListOrDictValue('match'), true);
      assert.equal(spool.hasListOrDictValue('judge'), false);
    });
  });

  it('many samples and lines longer than a read: flushed and read back whole, across chunks', async () => {
    const long = 'x'.repeat(1500 * 1024) + '\u00e9\ud83d\ude00';
    const samples = epochs(2000, 2).map(([id, scores], i): [SampleId, Record<string, SampleScore>] => [id, { match: { ...scores.match, explanation: i % 700 === 0 ? long : `e${i}` } }]);
    await withSpool(samples, async (spool) => {
      const groups = await grouped(spool, 'match');
      assert.equal(groups.length, 2000);
      assert.deepEqual(groups[0]!.scores.map((score) => score.explanation), [long, 'e2000']);
      assert.deepEqual(groups[1999]!.scores.map((score) => score.value), [2000, 2010]);
      assert.equal(groups[700]!.scores[0]!.explanation, long);
    });
  });

  it('appending after a read is seen by the next read', async () => {
    await withSpool(epochs(2, 1), async (spool) => {
      assert.equal((await grouped(spool, 'match')).length, 2);
      spool.append(1, { match: { value: 9 } });
      assert.deepEqual(values(await grouped(spool, 'match')), [[1, [1, 9]], [2, [2]]]);
    });
  });

  it('close removes the spool file and its temp directory', async () => {
    const spool = await ScoreSpool.create();
    spool.append(1, { match: { value: 1 } });
    assert.equal((await grouped(spool, 'match')).length, 1);
    assert.ok(existsSync(spool.path));
    await spool.close();
    assert.equal(existsSync(spool.path), false);
    assert.equal(existsSync(dirname(spool.path)), false);
  });
});
