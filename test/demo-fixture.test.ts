/**
 * `fixtures/demo-crashed.eval` (the README's embedded default) must be what the writer makes
 * today. Regenerate it with `UPDATE_FIXTURES=1 npm test`.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EvalLogReader } from '../src/eval/eval-log-reader.js';
import { writeDemoLog } from './support/demo-log.js';
import { repoRoot } from './support/shared-fixtures.js';

const committed = join(repoRoot, 'fixtures', 'demo-crashed.eval');

async function contents(path: string): Promise<Record<string, unknown>> {
  const reader = await EvalLogReader.open(path);
  try {
    const values: Record<string, unknown> = {};
    for (const entry of reader.zip.entries) values[entry.name] = await reader.zip.json(entry);
    return values;
  } finally {
    await reader.close();
  }
}

describe('embedded demo log', () => {
  it('matches what the writer produces now', async (t) => {
    const directory = await mkdtemp(join(tmpdir(), 'demo-'));
    t.after(() => rm(directory, { recursive: true, force: true }));
    const fresh = join(directory, 'demo-crashed.eval');
    await writeDemoLog(fresh);
    if (process.env.UPDATE_FIXTURES) await copyFile(fresh, committed);
    const values = await contents(committed);
    assert.deepEqual(values, await contents(fresh));
    assert.deepEqual(Object.keys(values), [
      '_journal/start.json',
      'samples/1_epoch_1.json',
      'samples/s-002_epoch_1.json',
      '_journal/summaries/1.json',
      'samples/3_epoch_1.json',
      '_journal/summaries/2.json',
    ]);
  });
});
