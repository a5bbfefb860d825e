/**
 * `npm start`, the README's first command: the demo says what each step did and what its numbers
 * mean, leaves in its folder only what its commands need, and every command it prints runs
 * again there as printed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCliIn } from './support/recover-cli.js';
import { makeScratch } from './support/recovery-inputs.js';
import { repoRoot } from './support/shared-fixtures.js';

describe('the crash demo', () => {
  it('narrates each step, keeps only what its printed commands need, and each runs again as printed', { timeout: 120_000 }, async (t) => {
    const scratch = await makeScratch(t);
    const folder = join(scratch.root, 'demo');
    const demo = spawnSync(process.execPath, [join(repoRoot, 'dist/examples/crash-demo.js'), folder], { encoding: 'utf8' });
    assert.equal(demo.status, 0, demo.stderr);
    assert.equal(demo.stderr, '');
    assert.match(demo.stdout, /13 of the 20 samples had finished: 10 flushed into the log,\n3 completed since its last flush .*; 2 more were half done \(in progress\); 5 never started/);
    assert.match(demo.stdout, /^# Recovery writes all 15: /m);
    assert.match(demo.stdout, /^Recovered 15 samples .*\(10 flushed, 3 completed, 2 in progress; source: database\)$/m);
    assert.match(demo.stdout, /^Recovered 15 samples .*source: filestore\)$/m);
    assert.deepEqual((await readdir(folder)).sort(), ['data', 'logs', 'survived'], 'nothing but what the commands need');

    const commands = [...demo.stdout.matchAll(/^\$ inspect-recover (.*)$/gm)].map((match) => match[1]!.split(' '));
    assert.equal(commands.length, 5);
    for (const args of commands) {
      const again = await runCliIn(folder, args);
      assert.equal(again.status, 0, `inspect-recover ${args.join(' ')}: ${again.stderr}`);
    }
  });
});
