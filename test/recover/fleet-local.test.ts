/**
 * `--all` and `--clean` on a local log dir, through the real CLI: Inspect's own crashed logs
 * (database and filestore) beside a damaged one, with an output dir, `--min-idle`, usage
 * mistakes, and the buffers left behind cleaned.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { defaultOutputPath } from '../../src/recover/output-path.js';
import { recoverEvalLog } from '../../src/recover/recover-eval-log.js';
import { recoverFleet } from '../../src/recover/recover-fleet.js';
import { storageFor } from '../../src/storage/storage-for.js';
import type { Storage } from '../../src/storage/storage.js';
import { layOutCrashedFixtures, databaseLogName, filestoreLogName } from '../support/crashed-layout.js';
import { isOneLineError } from '../support/cli.js';
import { runCliIn } from '../support/recover-cli.js';
import { conformanceSuiteOptions, inspectFixture } from '../support/shared-fixtures.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';

async function fixtures(t: { after: (fn: () => void) => void }) {
  const layout = await layOutCrashedFixtures(makeTempDir('fleet-local-'));
  t.after(() => removeTempDir(layout.root));
  const run = (args: string[]) => runCliIn(layout.root, [...args, '--data-dir', layout.dataDir]);
  return { layout, run };
}

describe('--all and --clean on a local log dir', conformanceSuiteOptions(), () => {
  it('--all --output-dir: every crashed log recovered at its path below the output dir; a damaged log is one failed line and exit 1', async (t) => {
    const { layout, run } = await fixtures(t);
    await mkdir(join(layout.logsDir, 'nested'), { recursive: true });
    await writeFile(join(layout.logsDir, 'nested', '2026-11-22T13-00-00-00-00_junk_x.eval'), 'not a zip at all');
    const result = await run(['--all', 'logs', '--output-dir', 'recovered', '--jobs', '2']);
    assert.equal(result.status, 1, result.stderr);
    const failed = result.stderr.split('\n').filter((line) => line.startsWith('failed '));
    assert.deepEqual(failed, ['failed logs/nested/2026-11-22T13-00-00-00-00_junk_x.eval: logs/nested/2026-11-22T13-00-00-00-00_junk_x.eval: not a zip archive']);
    for (const name of [databaseLogName, filestoreLogName]) {
      const output = join('recovered', name.replace(/\.eval$/, '-recovered.eval'));
      assert.match(result.stdout, new RegExp(`^recovered logs/${name} → ${output} \\(10 samples: 4 flushed, 2 completed, 4 in progress; source: (database|filestore)\\)$`, 'm'));
      assert.ok(existsSync(join(layout.root, output)));
    }
    assert.match(result.stdout, /^2 recovered \(20 samples\), 0 skipped, 1 failed of 3 unfinished logs \(3 logs under logs\) in [\d.]+ s$/m);
  });

  it('a log another sweeper recovered after this sweep listed the dir is skipped as already recovered, its output left as written', async (t) => {
    const { layout } = await fixtures(t);
    const real = storageFor(layout.logsDir);
    const otherOutput = defaultOutputPath(layout.filestoreLog);
    let written: Awaited<ReturnType<typeof stat>> | undefined;
    // The other sweeper recovers one log just after this sweep's listing.
    const storage: Storage = Object.assign(Object.create(real) as Storage, {
      walk: async (directory: string) => {
        const files = await real.walk(directory);
        await recoverEvalLog(layout.filestoreLog, { dataDir: layout.dataDir });
        written = await stat(otherOutput);
        return files;
      },
    });
    const { outcomes, summary } = await recoverFleet(layout.logsDir, { storage, dataDir: layout.dataDir, jobs: 1 });
    const byLog = new Map(outcomes.map((outcome) => [outcome.log, outcome]));
    assert.equal(byLog.get(layout.databaseLog)?.status, 'recovered');
    const skipped = byLog.get(layout.filestoreLog);
    assert.equal(skipped?.status, 'skipped');
    assert.equal(skipped?.reason, `already recovered to ${otherOutput} during this sweep (by another sweeper)`);
    assert.equal(summary.recovered, 1);
    assert.equal(summary.skipped, 1);
    const after = await stat(otherOutput);
    assert.deepEqual([after.mtimeMs, after.ino, after.size], [written?.mtimeMs, written?.ino, written?.size], 'the other sweeper\'s output untouched');
  });

  it('--min-idle: runs active more recently are left for a later sweep, with their age; older ones are recovered', async (t) => {
    const { run } = await fixtures(t);
    const recent = await run(['--all', 'logs', '--min-idle', '3650d']);
    assert.equal(recent.status, 0, recent.stderr);
    assert.equal(recent.stdout.match(/^skipped .*last recorded activity \d+ days ago, under --min-idle \(3650 days\): left for a later sweep$/gm)?.length, 2);
    const idle = await run(['--all', 'logs', '--min-idle', '1h', '--json']);
    assert.equal(idle.status, 0, idle.stderr);
    const summary = (JSON.parse(idle.stdout.trimEnd().split('\n').pop()!) as { summary: { recovered: number } }).summary;
    assert.equal(summary.recovered, 2);
  });

  it('usage mistakes are one line and exit 2', async (t) => {
    const { run } = await fixtures(t);
    for (const args of [
      ['--all', 'logs', '--output', 'x.eval'],
      ['--all', 'logs', '--jobs', '0'],
      ['--all', 'logs', '--overwrite', '--output-dir', 'out'],
      ['--list', '--all', 'logs'],
      ['--all', 'logs', '--buffer', 'x.db'],
      ['--all', 'no-such-dir'],
      ['logs/x.eval', '--jobs', '2'],
    ]) {
      const result = await run(args);
      assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.ok(isOneLineError(result.stderr), `${args.join(' ')}: ${result.stderr}`);
    }
  });

  it('--clean: buffers of recovered, finished and vanished logs go (bytes said), a crashed log\'s stays; --dry-run removes nothing', async (t) => {
    const { layout, run } = await fixtures(t);
    // Recovered, keeping their buffers.
    assert.equal((await run(['--all', 'logs', '--no-cleanup'])).status, 0);
    // The buffer of a log that is gone, and of one still to be recovered.
    const bufferDir = join(layout.logsDir, '.buffer');
    const [filestoreBuffer] = await readdir(bufferDir);
    await cp(join(bufferDir, filestoreBuffer!), join(bufferDir, '2026-11-22T13-00-00-00-00_gone_x'), { recursive: true });
    await cp(inspectFixture('crashed-filestore', filestoreLogName), join(layout.logsDir, 'pending', filestoreLogName), { recursive: true });
    await cp(join(bufferDir, filestoreBuffer!), join(layout.logsDir, 'pending', '.buffer', filestoreBuffer!), { recursive: true });

    const dryRun = await run(['--clean', 'logs', '--dry-run']);
    assert.equal(dryRun.status, 0, dryRun.stderr);
    assert.match(dryRun.stdout, /^Dry run, nothing changed: would remove 3 of 4 buffers, [\d.]+ MiB \(1 kept\)$/m);
    assert.ok(existsSync(join(bufferDir, filestoreBuffer!)) && existsSync(join(bufferDir, '2026-11-22T13-00-00-00-00_gone_x')));
    const dryJson = (await run(['--clean', 'logs', '--dry-run', '--json'])).stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as { status?: string });
    assert.deepEqual(dryJson.slice(0, -1).map((line) => line.status).sort(), ['kept', 'would-remove', 'would-remove', 'would-remove'], 'a dry run removed nothing, and says so');

    const cleaned = await run(['--clean', 'logs']);
    assert.equal(cleaned.status, 0, cleaned.stderr);
    const lines = cleaned.stdout.trimEnd().split('\n');
    assert.equal(lines.filter((line) => line.startsWith('removed ')).length, 3);
    assert.ok(lines.some((line) => /^removed .*\.db \(database, [\d.]+ MiB\): its log was recovered to /.test(line)));
    assert.ok(lines.some((line) => /^removed logs\/\.buffer\/2026-11-22T13-00-00-00-00_gone_x \(filestore, [\d.]+ KiB\): its log no longer exists$/.test(line)));
    assert.ok(lines.some((line) => /^kept logs\/pending\/\.buffer\/.* its log is still to be recovered$/.test(line)));
    assert.match(lines.at(-1)!, /^Removed 3 of 4 buffers, [\d.]+ MiB \(1 kept\)$/);
    assert.deepEqual(await readdir(bufferDir), []);
    assert.deepEqual(await readdir(layout.databaseDir).catch(() => []), []);
    assert.ok(existsSync(join(layout.logsDir, 'pending', '.buffer', filestoreBuffer!, 'manifest.json')), 'the crashed log\'s buffer kept');
  });
});
